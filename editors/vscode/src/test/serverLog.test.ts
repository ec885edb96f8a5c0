import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseServerLine } from '../serverLog';

test('slog text lines keep their level and lose the time/level prefix', () => {
  assert.deepEqual(parseServerLine('time=2026-11-27T11:52:39.880Z level=INFO msg=initialize client=code-server'),
    { level: 'info', text: 'msg=initialize client=code-server' });
  assert.equal(parseServerLine('time=x level=WARN msg="ignoring setting"').level, 'warn');
  assert.equal(parseServerLine('time=x level=ERROR msg=boom').level, 'error');
  assert.equal(parseServerLine('time=x level=DEBUG msg=settings').level, 'debug');
  assert.equal(parseServerLine('time=x level=DEBUG-4 msg=deep').level, 'debug');
});

test('JSON lines and plain text', () => {
  assert.equal(parseServerLine('{"time":"x","level":"WARN","msg":"slow"}').level, 'warn');
  assert.deepEqual(parseServerLine('panic: runtime error'), { level: 'info', text: 'panic: runtime error' });
  assert.deepEqual(parseServerLine('{not json'), { level: 'info', text: '{not json' });
  assert.equal(parseServerLine('line\r').text, 'line');
});
