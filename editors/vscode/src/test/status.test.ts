import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLatency, parseStatus, present } from '../status';

test('parseStatus accepts the design.md shape', () => {
  const s = parseStatus({ state: 'ready', message: '', backend: 'cpu', model: 'built-in', lastLatencyMs: 84.7 });
  assert.deepEqual(s, { state: 'ready', message: '', backend: 'cpu', model: 'built-in', lastLatencyMs: 84.7 });
});

test('parseStatus survives garbage', () => {
  assert.equal(parseStatus(null), undefined);
  assert.equal(parseStatus('ready'), undefined);
  const s = parseStatus({ state: 'exploded', message: 7, lastLatencyMs: 'x' });
  assert.equal(s?.state, 'error');
  assert.match(s?.message ?? '', /unknown state "exploded"/);
  assert.equal(s?.lastLatencyMs, 0);
  assert.equal(parseStatus({ state: 'busy', lastLatencyMs: -3 })?.lastLatencyMs, 0);
});

test('formatLatency', () => {
  assert.equal(formatLatency(0), '');
  assert.equal(formatLatency(84.6), '85 ms');
  assert.equal(formatLatency(0.3), '<1 ms');
  assert.equal(formatLatency(1234), '1.2 s');
});

test('present: each state has its own icon; errors and slowness are coloured', () => {
  const base = { message: '', backend: 'cuda', model: 'Dream-Coder', lastLatencyMs: 0 };
  const texts = new Set<string>();
  for (const state of ['loading', 'ready', 'busy', 'slow', 'error', 'disabled'] as const) {
    texts.add(present({ ...base, state }).text);
  }
  assert.equal(texts.size, 6);
  assert.equal(present({ ...base, state: 'error' }).background, 'statusBarItem.errorBackground');
  assert.equal(present({ ...base, state: 'slow' }).background, 'statusBarItem.warningBackground');
  assert.equal(present({ ...base, state: 'ready' }).background, undefined);
  const p = present({ ...base, state: 'ready', lastLatencyMs: 120, message: 'warm' }, { triggerMode: 'manual' });
  assert.match(p.text, /120 ms/);
  assert.match(p.tooltip, /Model: Dream-Coder/);
  assert.match(p.tooltip, /Backend: cuda/);
  assert.match(p.tooltip, /Trigger: manual/);
  assert.match(p.tooltip, /ready \(warm\)/);
});

test('present: a missing server says how to fix it', () => {
  const p = present(undefined, { serverMissing: true });
  assert.match(p.tooltip, /dream\.serverPath/);
  assert.equal(p.background, 'statusBarItem.errorBackground');
  assert.match(present(undefined).tooltip, /starting/);
});
