// Drives the dream-lsp binary over stdio with vscode-jsonrpc, the JSON-RPC
// library VS Code itself uses, so the server is checked against a client
// implementation that shares no code with it.
//
// usage: DREAM_LSP_BIN=path/to/dream-lsp node client.js SCENARIO
//
// Scenarios: lifecycle, middle, cancel, rapid, unicode (checks), and bench
// (prints round-trip latencies; not run by the Go tests). Each starts its own
// server with a fake engine (DREAM_LSP_TEST_ENGINE, a test fixture of the
// binary), prints one line per check and exits non-zero on the first failure.
'use strict';

const { spawn } = require('node:child_process');
const rpc = require('vscode-jsonrpc/node');

const BIN = process.env.DREAM_LSP_BIN;
if (!BIN) {
  console.error('DREAM_LSP_BIN is not set');
  process.exit(2);
}

const RequestCancelled = -32800;

function check(cond, what, detail) {
  if (!cond) {
    throw new Error(`FAIL ${what}${detail === undefined ? '' : ': ' + JSON.stringify(detail)}`);
  }
  console.log(`ok   ${what}`);
}

// echoText mirrors lsptest.EchoText: the fake engine's k-th candidate.
function echoText(word, k, closers) {
  return `echo${k}(${word})${closers}`;
}

// start spawns the server with a test engine and returns a connection.
function start(engine, extraEnv = {}) {
  const child = spawn(BIN, ['serve', '--log-level', 'debug'], {
    env: { ...process.env, DREAM_LSP_TEST_ENGINE: engine, ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d.toString(); });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const conn = rpc.createMessageConnection(
    new rpc.StreamMessageReader(child.stdout),
    new rpc.StreamMessageWriter(child.stdin));
  const notes = [];
  conn.onNotification((method, params) => { notes.push({ method, params }); });
  // vscode-jsonrpc routes $/progress to per-token handlers, not to the
  // catch-all notification handler.
  conn.onRequest('window/workDoneProgress/create', ({ token }) => {
    conn.onProgress(new rpc.ProgressType(), token, (value) => notes.push({ method: '$/progress', params: { token, value } }));
    return null;
  });
  conn.onRequest('workspace/configuration', (params) => params.items.map(() => ({ debounceMs: 150 })));
  conn.listen();
  return { child, conn, notes, exited, stderr: () => stderr };
}

async function initialize(s, capabilities = {}, initializationOptions = undefined) {
  const res = await s.conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities, initializationOptions });
  await s.conn.sendNotification('initialized', {});
  await waitFor(() => s.notes.some((n) => n.method === 'dream/status' && n.params.state === 'ready'), 'dream/status ready');
  return res;
}

async function waitFor(pred, what, ms = 10000) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`FAIL timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function stop(s) {
  await s.conn.sendRequest('shutdown');
  await s.conn.sendNotification('exit');
  const { code } = await s.exited;
  s.conn.dispose();
  return code;
}

function open(s, uri, text, languageId = 'go') {
  return s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
}

function inline(s, uri, line, character, triggerKind = 2, token) {
  const params = { textDocument: { uri }, position: { line, character }, context: { triggerKind } };
  // An undefined trailing argument would turn params into an array.
  return token ? s.conn.sendRequest('textDocument/inlineCompletion', params, token)
    : s.conn.sendRequest('textDocument/inlineCompletion', params);
}

function range(l1, c1, l2, c2) {
  return { start: { line: l1, character: c1 }, end: { line: l2, character: c2 } };
}

const scenarios = {
  async lifecycle() {
    const s = start('echo');
    const res = await initialize(s, { general: { positionEncodings: ['utf-16'] }, window: { workDoneProgress: true } });
    const caps = res.capabilities;
    check(caps.positionEncoding === 'utf-16', 'position encoding utf-16', caps.positionEncoding);
    check(caps.textDocumentSync.change === 2 && caps.textDocumentSync.openClose === true, 'incremental sync', caps.textDocumentSync);
    check(caps.inlineCompletionProvider === true, 'inlineCompletionProvider', caps);
    check(!!caps.completionProvider, 'completionProvider fallback');
    check(caps.executeCommandProvider.commands.includes('dream.accept'), 'dream.accept command', caps.executeCommandProvider);
    check(res.serverInfo.name === 'dream-lsp', 'serverInfo', res.serverInfo);
    check(s.notes.some((n) => n.method === '$/progress' && n.params.value.kind === 'begin'), '$/progress begin while loading');
    check(s.notes.some((n) => n.method === '$/progress' && n.params.value.kind === 'end'), '$/progress end');
    const st = await s.conn.sendRequest('workspace/executeCommand', { command: 'dream.status' });
    check(st.state === 'ready' && st.model === 'test-echo' && st.enabled === true, 'dream.status', st);
    let err;
    try { await s.conn.sendRequest('textDocument/hover', { textDocument: { uri: 'file:///x.go' }, position: { line: 0, character: 0 } }); } catch (e) { err = e; }
    check(err && err.code === -32601, 'unadvertised method answers MethodNotFound', err && err.code);
    const code = await stop(s);
    check(code === 0, 'exit code 0 after shutdown + exit', code);
  },

  async middle() {
    const s = start('echo');
    await initialize(s);
    const uri = 'file:///work/main.go';
    const text = [
      'package main',
      '',
      'import "fmt"',
      '',
      'func main() {',
      '\tnames := []string{"a", "b"}',
      '\tfor _, n := range names {',
      '\t\tfmt.Println()',
      '\t}',
      '}',
      '',
    ].join('\n');
    await open(s, uri, text);
    // Cursor inside the auto-closed parentheses of fmt.Println(), line 7.
    const col = '\t\tfmt.Println('.length;
    const res = await inline(s, uri, 7, col, 2);
    check(res.items.length === 1, 'automatic trigger: one item', res.items.length);
    const it = res.items[0];
    check(it.insertText === echoText('', 0, ')'), 'insert text swallows the auto-closed paren', it.insertText);
    check(JSON.stringify(it.range) === JSON.stringify(range(7, col, 7, col + 1)), 'single-line replace range', it.range);
    check(it.command && it.command.command === 'dream.accept' && typeof it.command.arguments[0].id === 'string', 'accept command', it.command);
    // The user types "n": an incremental change, then an invoked request.
    await s.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 }, contentChanges: [{ range: range(7, col, 7, col), text: 'n' }],
    });
    const res2 = await inline(s, uri, 7, col + 1, 1);
    check(res2.items.length === 3, 'invoked trigger: several items', res2.items.length);
    check(res2.items[1].insertText === echoText('n', 1, ')'), 'sees the edit', res2.items[1].insertText);
    await s.conn.sendRequest('workspace/executeCommand', it.command);
    await s.conn.sendNotification('textDocument/didShowCompletion', { item: res2.items[0] });
    const st = await s.conn.sendRequest('workspace/executeCommand', { command: 'dream.status' });
    check(st.acceptance.accepted === 1 && st.acceptance.shown === 1, 'acceptance counters', st.acceptance);
    // Completion fallback at the same place.
    const comp = await s.conn.sendRequest('textDocument/completion', { textDocument: { uri }, position: { line: 7, character: col + 1 } });
    check(comp.isIncomplete === true && comp.items.length === 1 && comp.items[0].textEdit.newText === 'n' + echoText('n', 0, '') &&
      JSON.stringify(comp.items[0].textEdit.range) === JSON.stringify(range(7, col, 7, col + 1)), 'completion fallback: insert-only, the re-typed paren stays', comp);
    check((await stop(s)) === 0, 'clean exit');
  },

  async cancel() {
    const s = start('slow', { DREAM_LSP_TEST_DELAY_MS: '5000' });
    await initialize(s);
    const uri = 'file:///work/c.go';
    await open(s, uri, 'package c\n\nvar x = y\n');
    // Numeric ids: vscode-jsonrpc numbers its requests and sends
    // $/cancelRequest {id: <number>} when the token is cancelled.
    const cts = new rpc.CancellationTokenSource();
    const p = inline(s, uri, 2, 9, 1, cts.token);
    await new Promise((r) => setTimeout(r, 100));
    cts.cancel();
    let err;
    try { await p; } catch (e) { err = e; }
    check(err instanceof rpc.ResponseError && err.code === RequestCancelled, 'numeric id cancelled with -32800', err && err.code);
    check((await stop(s)) === 0, 'clean exit');

    // String ids, spoken at the framing level with vscode-jsonrpc's reader and writer.
    const child = spawn(BIN, ['serve'], { env: { ...process.env, DREAM_LSP_TEST_ENGINE: 'slow', DREAM_LSP_TEST_DELAY_MS: '5000' }, stdio: ['pipe', 'pipe', 'inherit'] });
    const reader = new rpc.StreamMessageReader(child.stdout);
    const writer = new rpc.StreamMessageWriter(child.stdin);
    const responses = new Map();
    reader.listen((msg) => { if (msg.id !== undefined && msg.method === undefined) responses.set(msg.id, msg); });
    await writer.write({ jsonrpc: '2.0', id: 'init-1', method: 'initialize', params: { processId: null, rootUri: null, capabilities: {} } });
    await waitFor(() => responses.has('init-1'), 'initialize response');
    await writer.write({ jsonrpc: '2.0', method: 'initialized', params: {} });
    await writer.write({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'go', version: 1, text: 'package c\n\nvar x = y\n' } } });
    // Wait until the model is ready, so the request reaches the engine.
    for (let i = 0; ; i++) {
      await writer.write({ jsonrpc: '2.0', id: `status-${i}`, method: 'workspace/executeCommand', params: { command: 'dream.status' } });
      await waitFor(() => responses.has(`status-${i}`), 'status');
      if (responses.get(`status-${i}`).result.state === 'ready') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await writer.write({ jsonrpc: '2.0', id: 'inline-α', method: 'textDocument/inlineCompletion', params: { textDocument: { uri }, position: { line: 2, character: 9 }, context: { triggerKind: 1 } } });
    await new Promise((r) => setTimeout(r, 100));
    await writer.write({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 'inline-α' } });
    await waitFor(() => responses.has('inline-α'), 'cancelled response', 4000);
    const r = responses.get('inline-α');
    check(r.error && r.error.code === RequestCancelled, 'string id cancelled with -32800', r);
    await writer.write({ jsonrpc: '2.0', id: 'bye', method: 'shutdown' });
    await waitFor(() => responses.has('bye'), 'shutdown response');
    await writer.write({ jsonrpc: '2.0', method: 'exit' });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    check(code === 0, 'clean exit (string ids)', code);
  },

  async rapid() {
    // A 1 s debounce plus 50 ms per engine call: the 200 pairs below all
    // arrive while older requests still wait, even on a loaded machine.
    const s = start('slow', { DREAM_LSP_TEST_DELAY_MS: '50' });
    await initialize(s, {}, { debounceMs: 1000 });
    const docs = ['file:///work/r1.go', 'file:///work/r2.go'];
    for (const uri of docs) await open(s, uri, '');
    const pending = [];
    const text = { [docs[0]]: '', [docs[1]]: '' };
    for (let i = 0; i < 200; i++) {
      const uri = docs[i % 2];
      const ch = String.fromCharCode(97 + (i % 26));
      const col = text[uri].length;
      text[uri] += ch;
      s.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: i + 2 }, contentChanges: [{ range: range(0, col, 0, col), text: ch }],
      });
      pending.push(inline(s, uri, 0, col + 1, 2).then((r) => ({ uri, i, ok: true, r }), (e) => ({ uri, i, ok: false, e })));
    }
    const all = await Promise.race([
      Promise.all(pending),
      new Promise((_, rej) => setTimeout(() => rej(new Error('FAIL 200 pairs did not all answer within 30s')), 30000)),
    ]);
    check(all.length === 200, 'all 200 requests answered');
    for (const uri of docs) {
      const mine = all.filter((x) => x.uri === uri);
      const ok = mine.filter((x) => x.ok);
      const cancelled = mine.filter((x) => !x.ok && x.e.code === RequestCancelled);
      check(ok.length === 1 && ok[0].i === mine[mine.length - 1].i, `${uri}: only the newest request has a result`, ok.map((x) => x.i));
      check(cancelled.length === mine.length - 1, `${uri}: the others are cancelled with -32800`, mine.filter((x) => !x.ok && x.e.code !== RequestCancelled).map((x) => x.e.message));
      check(ok[0].r.items.length === 1 && ok[0].r.items[0].insertText === echoText(text[uri], 0, ''), `${uri}: the result reflects every edit`, ok[0].r.items);
    }
    check((await stop(s)) === 0, 'clean exit');
  },

  async unicode() {
    const s = start('echo');
    await initialize(s);
    const uri = 'file:///work/u.go';
    const lines = [
      'package u',
      '// 😀 emoji 🎉 and CJK 漢字',
      'var greeting = "こんにちは🌍" + 名前)',
      '',
    ];
    await open(s, uri, lines.join('\n'));
    // JavaScript string indices are UTF-16 code units, as LSP's default.
    const l2 = lines[2];
    const col = l2.indexOf(')');
    const res = await inline(s, uri, 2, col, 2);
    check(res.items.length === 1 && res.items[0].insertText === echoText('名前', 0, ')'), 'completion after CJK and an astral emoji', res.items);
    check(JSON.stringify(res.items[0].range) === JSON.stringify(range(2, col, 2, col + 1)), 'UTF-16 range', res.items[0].range);
    // Replace "🌍" (2 UTF-16 units) with "🌏x" by an incremental change.
    const e = l2.indexOf('🌍');
    await s.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version: 2 }, contentChanges: [{ range: range(2, e, 2, e + 2), text: '🌏x' }],
    });
    const res2 = await inline(s, uri, 2, e + 3, 2);
    // The fake engine re-types the closing quote right of the cursor; more than closers follow it on
    // the line, so the item inserts at the cursor and leaves the quote in place.
    check(res2.items.length === 1 && res2.items[0].insertText === echoText('x', 0, ''), 'edit after an emoji at UTF-16 columns', res2.items);
    check(JSON.stringify(res2.items[0].range) === JSON.stringify(range(2, e + 3, 2, e + 3)), 'range columns after the edit', res2.items[0].range);
    let err;
    try { await inline(s, uri, 1, 4, 2); } catch (x) { err = x; }
    check(err && err.code === -32602, 'a column inside a surrogate pair is InvalidParams', err && err.code);
    const res3 = await inline(s, uri, 1, lines[1].length, 2);
    check(res3.items.length === 1 && res3.items[0].insertText === echoText('漢字', 0, ''), 'server still serves after InvalidParams', res3.items);
    check((await stop(s)) === 0, 'clean exit');
  },

  // Not a check: prints the latency of didChange + inlineCompletion round
  // trips through the real process boundary (echo engine, no debounce).
  async bench() {
    const s = start('echo');
    await initialize(s, {}, { debounceMs: 0 });
    const uri = 'file:///work/bench.go';
    const body = 'func f(x int) int {\n\ty := x * 2\n\treturn y\n}\n'.repeat(100);
    await open(s, uri, body + 'var z = ');
    const line = 400;
    let col = 'var z = '.length;
    const lat = [];
    const n = Number(process.env.BENCH_N || 1000);
    for (let i = 0; i < n + 50; i++) {
      const t0 = process.hrtime.bigint();
      s.conn.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: i + 2 }, contentChanges: [{ range: range(line, col, line, col), text: 'a' }],
      });
      col++;
      const r = await inline(s, uri, line, col, 2);
      if (r.items.length !== 1) throw new Error('FAIL no item');
      if (i >= 50) lat.push(Number(process.hrtime.bigint() - t0) / 1e6); // skip warm-up
    }
    lat.sort((a, b) => a - b);
    const q = (p) => lat[Math.floor(p * (lat.length - 1))].toFixed(3);
    console.log(`round trips: ${lat.length}, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms`);
    check((await stop(s)) === 0, 'clean exit');
  },
};

async function main() {
  const name = process.argv[2];
  const run = scenarios[name];
  if (!run) {
    console.error(`usage: node client.js ${Object.keys(scenarios).join('|')}`);
    process.exit(2);
  }
  await run();
  console.log(`PASS ${name}`);
}

main().then(() => process.exit(0), (e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
