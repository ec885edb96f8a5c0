import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CompletionRequest, InlineCompletionRequest } from 'vscode-languageserver-protocol';
import { featureMethod, keepFeature } from '../surface';

test('the completion feature is left out; inline completion and the rest are kept', () => {
  const feature = (method: string) => ({ registrationType: { method } });
  // The registration types vscode-languageclient's features carry.
  assert.ok(!keepFeature({ registrationType: CompletionRequest.type }), 'a dropdown beside the ghost text');
  assert.ok(keepFeature({ registrationType: InlineCompletionRequest.type }));
  assert.ok(keepFeature(feature('textDocument/codeAction')));
  assert.ok(keepFeature(feature('workspace/executeCommand')));
  assert.ok(keepFeature({}), 'static features without a method are kept');
  assert.equal(featureMethod({ registrationType: { method: 7 } }), undefined);
  assert.equal(featureMethod(undefined), undefined);
});
