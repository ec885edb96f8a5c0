// Drives code-server in headless Chromium: open main.go, type in greet(), wait for Dream's ghost
// text, press Tab, save, and check the file on disk. Usage: node e2e.js URL FILE ARTIFACT_DIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const [url, file, artifacts] = process.argv.slice(2);
const timeout = Number(process.env.DREAM_E2E_TIMEOUT_MS || 90000);
const typed = 'msg = msg + ';

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

    // Go to the end of `msg := "hello, " + name` (line 6) and open a line in the function body.
    await page.keyboard.press('Control+G');
    await page.keyboard.type('6');
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type(typed, { delay: 30 });

    // Automatic trigger first; if nothing shows, ask explicitly (Alt+\ = Dream: Trigger Completion).
    let ghost = '';
    const deadline = Date.now() + timeout;
    let asked = false;
    while (Date.now() < deadline) {
      ghost = await ghostText(page);
      if (ghost.trim() !== '') break;
      if (!asked && Date.now() > deadline - timeout + 8000) {
        await page.keyboard.press('Alt+Backslash');
        asked = true;
      }
      await page.waitForTimeout(250);
    }
    await page.screenshot({ path: path.join(artifacts, 'ghost-text.png') });
    if (ghost.trim() === '') fail('no ghost text appeared');
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
    let saved = '';
    for (let i = 0; i < 40; i++) {
      saved = fs.readFileSync(file, 'utf8');
      if (saved !== original) break;
      await page.waitForTimeout(250);
    }
    await page.screenshot({ path: path.join(artifacts, 'accepted.png') });
    if (!saved.startsWith(prefix)) fail(`saved file does not start with the typed text:\n${saved}`);
    const rest = saved.slice(prefix.length);
    // The suggestion was inserted at the cursor; what followed the cursor is still there at the end
    // (an item may replace up to the end of the line: allow the newline to have been consumed).
    const end = rest.endsWith(suffix) ? rest.length - suffix.length : rest.endsWith(suffix.slice(1)) ? rest.length - suffix.length + 1 : -1;
    if (end < 0) fail(`saved file lost its tail:\n${saved}`);
    const inserted = rest.slice(0, end);
    const squash = (s) => s.replace(/\s+/g, '');
    if (squash(inserted) === '') fail('nothing was inserted');
    if (squash(inserted) !== squash(ghost)) {
      fail(`inserted ${JSON.stringify(inserted)} but the ghost text was ${JSON.stringify(ghost)}`);
    }
    console.log(`accepted and saved: ${JSON.stringify(inserted)}`);
    ok = true;
  } catch (err) {
    console.error(String(err && err.stack ? err.stack : err));
    try {
      await page.screenshot({ path: path.join(artifacts, 'failure.png') });
    } catch {}
    if (consoleErrors.length) console.error('browser console errors:\n' + consoleErrors.slice(-10).join('\n'));
  } finally {
    await browser.close();
  }
  process.exit(ok ? 0 : 1);
})();
