// Drives code-server in headless Chromium: open main.go, type in greet(), wait for Dream's ghost
// text, press Tab, save, and check the file on disk. Usage: node e2e.js URL FILE ARTIFACT_DIR
// DREAM_E2E_MODE=scripted (the server's scripted engine, testdata/script.json): the saved file after
// accepting a single-line and a multi-line suggestion is compared byte for byte with the hand-written
// testdata/scripted-want*.go.txt. Every time ghost text shows, the suggest dropdown must not show too
// (VS Code's defaults: quick suggestions on). No comparison ignores whitespace.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [url, file, artifacts] = process.argv.slice(2);
const timeout = Number(process.env.DREAM_E2E_TIMEOUT_MS || 90000);
const typed = 'msg = msg + ';
// The server's echo test engine (DREAM_LSP_TEST_ENGINE=echo) marks holes with /*?*/, the real one with /* fill */.
const echo = process.env.DREAM_LSP_TEST_ENGINE === 'echo';
const hole = echo ? '/*?*/' : '/* fill */';

const mode = process.env.DREAM_E2E_MODE || (echo ? 'echo' : 'model');
const testdata = path.join(__dirname, 'testdata');

function fail(msg) {
  throw new Error(msg);
}

async function ghostText(page) {
  // VS Code draws the first line of the suggestion as decorations in the line (class
  // ghost-text-decoration, one span per token) and the further lines in a view zone (spans with class
  // ghost-text, one parent element per line).
  return page.evaluate(() => {
    const text = (els) => els.map((e) => e.textContent || '').join('').replace(/\u00a0/g, ' ');
    const first = text([...document.querySelectorAll('.monaco-editor .view-lines .ghost-text-decoration')]);
    const byLine = new Map();
    for (const el of document.querySelectorAll('.monaco-editor span.ghost-text')) {
      const parent = el.parentElement;
      if (!byLine.has(parent)) byLine.set(parent, []);
      byLine.get(parent).push(el);
    }
    const rest = [...byLine.values()].map(text);
    return [first, ...rest].join('\n');
  });
}

// suggestWidgetVisible reports whether VS Code's completion dropdown is showing.
async function suggestWidgetVisible(page) {
  return page.evaluate(() => [...document.querySelectorAll('.suggest-widget')].some((e) => e.classList.contains('visible')));
}

// oneSurface fails when the completion dropdown shows while ghost text is shown, watching for ms
// (the dropdown's quick suggestions come after a short delay).
async function oneSurface(page, what, ms = 1500) {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (await suggestWidgetVisible(page)) {
      await page.screenshot({ path: path.join(artifacts, 'two-surfaces.png') });
      fail(`${what}: the suggest dropdown and the ghost text are shown together`);
    }
    await page.waitForTimeout(100);
  }
  if ((await ghostText(page)).trim() === '') fail(`${what}: the ghost text went away`);
}

// waitGhost waits for ghost text at the cursor; after 8 s it asks explicitly (Alt+\ = Dream: Trigger).
async function waitGhost(page) {
  const start = Date.now();
  let asked = false;
  while (Date.now() - start < timeout) {
    const g = await ghostText(page);
    if (g.trim() !== '') {
      await oneSurface(page, 'ghost text ' + JSON.stringify(g));
      return g;
    }
    if (!asked && Date.now() - start > 8000) {
      await page.keyboard.press('Alt+Backslash');
      asked = true;
    }
    await page.waitForTimeout(250);
  }
  await page.screenshot({ path: path.join(artifacts, 'no-ghost.png') });
  return fail('no ghost text appeared');
}

// save presses Ctrl+S and returns the file once it differs from `previous` (or after waitMs).
async function save(page, previous, waitMs = 10000) {
  await page.keyboard.press('Control+S');
  return changedFile(page, previous, waitMs);
}

// changedFile waits up to waitMs for the file to differ from previous and returns it. VS Code
// truncates the file and then writes it, so a read can catch it empty or half written: the text
// is taken once two reads 100 ms apart agree.
async function changedFile(page, previous, waitMs) {
  let text = previous;
  for (const end = Date.now() + waitMs; Date.now() < end; ) {
    text = fs.readFileSync(file, 'utf8');
    if (text !== previous) {
      await page.waitForTimeout(100);
      if (fs.readFileSync(file, 'utf8') === text) break;
      continue;
    }
    await page.waitForTimeout(200);
  }
  return text;
}

// runCommand runs a command from the Command Palette by its title.
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { timeout: 15000 });
  await page.keyboard.type(title);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: 15000 });
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
}

// gotoLineEnd puts the cursor at the end of (1-based) line n.
async function gotoLineEnd(page, n) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+G');
  await page.keyboard.type(String(n));
  await page.keyboard.press('Enter');
  await page.keyboard.press('End');
}

// expectSaved saves and compares the file on disk with a hand-written testdata file, exactly.
async function expectSaved(page, previous, wantFile, what) {
  const want = fs.readFileSync(path.join(testdata, wantFile), 'utf8');
  await page.keyboard.press('Escape');
  let got = await save(page, previous);
  for (let i = 0; i < 20 && got !== want; i++) {
    await page.waitForTimeout(250);
    got = await save(page, previous, 500);
  }
  await page.screenshot({ path: path.join(artifacts, wantFile.replace(/\.go\.txt$/, '.png')) });
  if (got !== want) fail(`${what}: saved file\n${JSON.stringify(got)}\nwant (${wantFile})\n${JSON.stringify(want)}`);
  console.log(`${what}: saved file equals ${wantFile}`);
  return got;
}

// scripted runs the exact-text checks against the scripted engine (testdata/script.json).
async function scripted(page) {
  const start = fs.readFileSync(file, 'utf8');
  if (start !== fs.readFileSync(path.join(testdata, 'scripted.go.txt'), 'utf8')) fail('the workspace file is not testdata/scripted.go.txt');
  // Single line: type `if` on the blank line of check(); the model writes " err != nil {...".
  await gotoLineEnd(page, 6);
  await page.keyboard.type('if', { delay: 30 });
  const g1 = await waitGhost(page);
  await page.screenshot({ path: path.join(artifacts, 'scripted-ghost-1.png') });
  console.log(`ghost text after "if": ${JSON.stringify(g1)}`);
  await page.keyboard.press('Tab');
  await page.waitForTimeout(300);
  const after1 = await expectSaved(page, start, 'scripted-want1.go.txt', 'single-line accept after "if"');
  // Several lines: on the blank line of wrap(), ask (Alt+\\); the model writes a whole if block.
  await gotoLineEnd(page, 13);
  await page.keyboard.press('Alt+Backslash');
  const g2 = await waitGhost(page);
  await page.screenshot({ path: path.join(artifacts, 'scripted-ghost-2.png') });
  console.log(`ghost text on the blank line: ${JSON.stringify(g2)}`);
  await page.keyboard.press('Tab');
  await page.waitForTimeout(300);
  await expectSaved(page, after1, 'scripted-want2.go.txt', 'multi-line accept on a blank line');
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const consoleErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  let ok = false;
  try {
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });

    // Open main.go with Quick Open.
    await page.waitForTimeout(1500);
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { timeout: 15000 });
    await page.keyboard.type('main.go');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'main.go' }).first();
    await row.waitFor({ timeout: 15000 });
    await row.click();
    await page.waitForSelector('.monaco-editor .view-lines', { timeout: 20000 });
    await page.click('.monaco-editor .view-lines');

    // The status bar item appears once the extension runs; wait until the server reports.
    const item = page.locator('.statusbar-item', { hasText: 'Dream' }).first();
    await item.waitFor({ timeout: 30000 });

    if (mode === 'scripted') {
      await scripted(page);
      ok = true;
      return;
    }

    // Go to the end of `msg := "hello, " + name` (line 6) and open a line in the function body.
    await page.keyboard.press('Control+G');
    await page.keyboard.type('6');
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type(typed, { delay: 30 });

    // Automatic trigger first; if nothing shows, ask explicitly (Alt+\\ = Dream: Trigger Completion).
    const ghost = await waitGhost(page);
    await page.screenshot({ path: path.join(artifacts, 'ghost-text.png') });
    if (process.env.DREAM_E2E_DUMP) {
      fs.writeFileSync(path.join(artifacts, 'ghost-dom.html'), await page.evaluate(() =>
        [...document.querySelectorAll('.monaco-editor [class*="ghost-text"]')].map((e) => e.outerHTML).join('\n\n')));
    }
    const statusText = await item.innerText();
    console.log(`ghost text: ${JSON.stringify(ghost)}; status bar: ${JSON.stringify(statusText)}`);

    await page.keyboard.press('Tab');
    // The next suggestion may appear right away (automatic trigger after the accept): dismiss it.
    await page.waitForTimeout(300);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+S');
    const original = fs.readFileSync(path.join(__dirname, 'testdata', 'main.go'), 'utf8');
    const anchor = '\tmsg := "hello, " + name\n';
    const cut = original.indexOf(anchor) + anchor.length;
    const prefix = original.slice(0, cut) + '\t' + typed;
    const suffix = '\n' + original.slice(cut); // Enter opened the line we typed on
    const saved = await changedFile(page, original, 10000);
    await page.screenshot({ path: path.join(artifacts, 'accepted.png') });
    if (!saved.startsWith(prefix)) fail(`saved file does not start with the typed text:\n${saved}`);
    const rest = saved.slice(prefix.length);
    // The suggestion was inserted at the cursor; what followed the cursor is still there at the end
    // (an item may replace up to the end of the line: allow the newline to have been consumed).
    const end = rest.endsWith(suffix) ? rest.length - suffix.length : rest.endsWith(suffix.slice(1)) ? rest.length - suffix.length + 1 : -1;
    if (end < 0) fail(`saved file lost its tail:\n${saved}`);
    const inserted = rest.slice(0, end);
    if (inserted.trim() === '') fail(`nothing but blanks was inserted: ${JSON.stringify(inserted)}`);
    if (echo && inserted !== 'echo0()') fail(`inserted ${JSON.stringify(inserted)}, want "echo0()" (ghost text ${JSON.stringify(ghost)})`);
    console.log(`accepted and saved: ${JSON.stringify(inserted)} (ghost text ${JSON.stringify(ghost)})`);

    // Accept one word (Ctrl+Right = Dream: Accept Next Word) at the end of the file.
    await page.keyboard.press('Control+End');
    await page.keyboard.type('var x = ', { delay: 30 });
    const ghost2 = await waitGhost(page);
    await page.keyboard.press('Control+ArrowRight');
    await page.waitForTimeout(300);
    await page.keyboard.press('Escape');
    const afterWord = await save(page, saved);
    if (!afterWord.startsWith(saved + 'var x = ')) fail(`unexpected file after accept word:\n${afterWord}`);
    const word = afterWord.slice(saved.length + 'var x = '.length);
    if (word.trim() === '') fail(`accept word inserted nothing but blanks: ${JSON.stringify(word)}`);
    if (echo && word !== 'echo0') fail(`accept word inserted ${JSON.stringify(word)}, want "echo0" of ${JSON.stringify(ghost2)}`);
    if (!ghost2.startsWith(word)) fail(`accept word inserted ${JSON.stringify(word)}, not a prefix of the ghost text ${JSON.stringify(ghost2)}`);
    console.log(`accept word: ${JSON.stringify(word)} of ${JSON.stringify(ghost2)}`);

    // Dream: Show Status asks the server (dream.status): the full accept ran dream.accept and the
    // word accept sent didPartiallyAcceptCompletion, so both counters moved.
    await runCommand(page, 'Dream: Show Status');
    const toast = page.locator('.notification-toast', { hasText: 'shown' }).first();
    await toast.waitFor({ timeout: 15000 });
    const toastText = await toast.innerText();
    console.log(`status: ${JSON.stringify(toastText.replace(/\s+/g, ' ').trim())}`);
    // An accepted "word" that is the whole suggestion counts as a full accept.
    const m = /accepted (\d+), partly (\d+)/.exec(toastText);
    const partial = word.length < ghost2.length;
    if (!m || Number(m[1]) < (partial ? 1 : 2) || partial && Number(m[2]) < 1) fail(`acceptance counters did not move: ${toastText}`);
    await page.screenshot({ path: path.join(artifacts, 'status.png') });
    await page.keyboard.press('Escape');
    await page.click('.monaco-editor .view-lines');
    await page.keyboard.press('Control+End');

    // Dream: Toggle Completions turns the status bar item off and on.
    await runCommand(page, 'Dream: Toggle Completions');
    await item.locator('.codicon-circle-slash').waitFor({ timeout: 10000 });
    await page.screenshot({ path: path.join(artifacts, 'disabled.png') });
    await runCommand(page, 'Dream: Toggle Completions');
    await item.locator('.codicon-circle-slash').waitFor({ state: 'detached', timeout: 10000 });
    console.log('toggle: off and on');

    // Dream: Fill Holes fills a marked hole through workspace/applyEdit.
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('var y = ' + hole, { delay: 20 });
    await page.keyboard.press('Escape');
    const withHole = await save(page, afterWord);
    if (!withHole.includes(hole)) fail('the hole marker was not typed');
    await runCommand(page, 'Dream: Fill Holes');
    let filled = withHole;
    for (const end = Date.now() + timeout; Date.now() < end && filled.includes(hole); ) {
      await page.waitForTimeout(500);
      filled = await save(page, withHole, 2000);
    }
    if (filled.includes(hole)) fail('Dream: Fill Holes left the marker');
    if (!filled.startsWith(afterWord + '\nvar y = ')) fail(`fill holes changed other text:\n${filled}`);
    console.log(`fill holes: ${JSON.stringify(filled.slice(afterWord.length))}`);
    await page.screenshot({ path: path.join(artifacts, 'filled.png') });

    if (echo) {
      // The server's deterministic test engine: an item whose range swallows the ")" right of the cursor.
      await page.keyboard.press('Control+End');
      await page.keyboard.press('Enter');
      await page.keyboard.type('var q = greet(name)', { delay: 20 });
      await page.keyboard.press('Escape');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('Alt+Backslash');
      const g = await waitGhost(page);
      await page.screenshot({ path: path.join(artifacts, 'echo-range.png') });
      await page.keyboard.press('Tab');
      await page.waitForTimeout(300);
      await page.keyboard.press('Escape');
      const text = await save(page, filled);
      const lastLine = text.trimEnd().split('\n').pop();
      if (lastLine !== 'var q = greet(nameecho0(name))') fail(`echo accept gave ${JSON.stringify(lastLine)} (ghost ${JSON.stringify(g)})`);
      console.log(`echo range: ${JSON.stringify(lastLine)}`);
    }
    ok = true;
  } catch (err) {
    console.error(String(err && err.stack ? err.stack : err));
    try {
      await page.screenshot({ path: path.join(artifacts, 'failure.png') });
    } catch {}
    if (consoleErrors.length) console.error('browser console errors:\n' + consoleErrors.slice(-10).join('\n'));
  } finally {
    await browser.close();
    process.exit(ok ? 0 : 1);
  }
})();
