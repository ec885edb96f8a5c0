import assert from 'node:assert/strict';
import { test } from 'node:test';
import { acceptanceOf, fillHolesArgs, insertTextOf, partialAcceptParams, toggleResult } from '../wire';

test('fillHolesArgs: empty selection means the whole file', () => {
  const p = { line: 3, character: 4 };
  assert.deepEqual(fillHolesArgs('file:///a.go'), [{ uri: 'file:///a.go' }]);
  assert.deepEqual(fillHolesArgs('file:///a.go', { start: p, end: p }), [{ uri: 'file:///a.go' }]);
  const r = { start: { line: 1, character: 0 }, end: { line: 9, character: 2 } };
  assert.deepEqual(fillHolesArgs('file:///a.go', r), [{ uri: 'file:///a.go', range: r }]);
});

test('partialAcceptParams counts UTF-16 units and clamps', () => {
  const item = { insertText: 'héllo 😀 world' };
  assert.equal(partialAcceptParams(item, 8).acceptedLength, 8);
  assert.equal(partialAcceptParams(item, 1000).acceptedLength, 'héllo 😀 world'.length);
  assert.equal(partialAcceptParams(item, -2).acceptedLength, 0);
  assert.equal(insertTextOf({ insertText: { kind: 'snippet', value: 'f(${1:x})' } }), 'f(${1:x})');
});

test('toggleResult reads {"enabled": bool} only', () => {
  assert.equal(toggleResult({ enabled: false }), false);
  assert.equal(toggleResult({ enabled: true }), true);
  assert.equal(toggleResult({ enabled: 'no' }), undefined);
  assert.equal(toggleResult(null), undefined);
  assert.equal(toggleResult({ state: 'disabled' }), undefined);
});

test('acceptanceOf reads the counters of dream.status', () => {
  assert.deepEqual(acceptanceOf({ state: 'ready', acceptance: { shown: 3, accepted: 1, partiallyAccepted: 2, acceptedChars: 40 } }),
    { shown: 3, accepted: 1, partiallyAccepted: 2, acceptedChars: 40 });
  assert.deepEqual(acceptanceOf({ acceptance: { shown: 'x' } }), { shown: 0, accepted: 0, partiallyAccepted: 0, acceptedChars: 0 });
  assert.equal(acceptanceOf({ state: 'ready' }), undefined);
  assert.equal(acceptanceOf(7), undefined);
});
