import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { restrictedSettings, trustedValue } from '../trust';

test('trustedValue: an untrusted workspace cannot choose the executable or the model', () => {
  const inspected = { defaultValue: '', globalValue: '/usr/local/bin/dream-lsp', workspaceValue: './evil', workspaceFolderValue: './evil2' };
  // Trusted: the effective value VS Code computed (workspace settings may set it).
  assert.equal(trustedValue(inspected, './evil2', true), './evil2');
  // Untrusted: the user's value, whatever the workspace says.
  assert.equal(trustedValue(inspected, './evil2', false), '/usr/local/bin/dream-lsp');
  // Untrusted with nothing in the user settings: the default, not the workspace's value.
  assert.equal(trustedValue({ defaultValue: '', workspaceValue: '/tmp/x' }, '/tmp/x', false), '');
  assert.deepEqual(trustedValue({ defaultValue: [], workspaceValue: ['--model', '/tmp/m'] }, ['--model', '/tmp/m'], false), []);
  assert.equal(trustedValue(undefined, '/tmp/x', false), undefined);
});

test('package.json: restricted settings are machine-scoped and declared for untrusted workspaces', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const ut = pkg.capabilities?.untrustedWorkspaces;
  assert.equal(ut?.supported, 'limited');
  assert.deepEqual([...ut.restrictedConfigurations].sort(), restrictedSettings.map((k) => `dream.${k}`).sort());
  const props = pkg.contributes.configuration.properties as Record<string, { scope?: string }>;
  for (const k of restrictedSettings) {
    assert.equal(props[`dream.${k}`].scope, 'machine', `dream.${k} must not be settable from a workspace`);
  }
});
