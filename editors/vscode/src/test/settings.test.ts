import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  defaultLanguages, defaults, documentSelector, languageEnabled, normalize, serverArgs, serverSettings, shouldRequest, Trigger,
} from '../settings';

test('normalize fills defaults for missing or mistyped values', () => {
  const s = normalize({ steps: 'many', device: 'tpu', triggerMode: 42, enabledLanguages: 'go', algorithm: 'magic' });
  assert.equal(s.steps, defaults.steps);
  assert.equal(s.device, 'auto');
  assert.equal(s.triggerMode, 'automatic');
  assert.deepEqual(s.enabledLanguages, [...defaultLanguages], 'a mistyped list falls back to the default');
  assert.equal(s.algorithm, '');
  assert.deepEqual(normalize(undefined), { ...defaults, serverArgs: [], enabledLanguages: [...defaultLanguages] });
});

test('normalize clamps numbers and cleans lists', () => {
  const s = normalize({ steps: 100000, debounceMs: -5, maxTokens: 12.6, enabledLanguages: [' go ', 'go', '', 3, 'python'] });
  assert.equal(s.steps, 512);
  assert.equal(s.debounceMs, 0);
  assert.equal(s.maxTokens, 13);
  assert.deepEqual(s.enabledLanguages, ['go', 'python']);
});

test('serverSettings carries exactly the wire keys of docs/design.md', () => {
  const keys = Object.keys(serverSettings(normalize({ serverPath: '/x', model: '/m' }))).sort();
  assert.deepEqual(keys, [
    'algorithm', 'deadlineMs', 'debounceMs', 'device', 'enabledLanguages', 'maxTokens', 'minConfidence', 'model', 'remote', 'steps', 'triggerMode',
  ]);
  assert.equal(serverSettings(normalize({ model: ' /m ' })).model, '/m');
});

test('serverArgs starts with serve and appends the extra arguments', () => {
  assert.deepEqual(serverArgs(normalize({})), ['serve']);
  assert.deepEqual(serverArgs(normalize({ serverArgs: ['--log-level', 'debug', 7] })), ['serve', '--log-level', 'debug']);
});

test('languages: programming languages by default, * for all', () => {
  const def = normalize({});
  for (const lang of ['go', 'python', 'typescriptreact', 'rust', 'cpp', 'java']) {
    assert.ok(languageEnabled(def, lang), lang);
  }
  for (const lang of ['json', 'jsonc', 'markdown', 'plaintext', 'yaml']) {
    assert.ok(!languageEnabled(def, lang), `${lang} is on by default`);
  }
  assert.ok(languageEnabled({ enabledLanguages: [] }, 'rust'), 'empty: the default list');
  assert.ok(!languageEnabled({ enabledLanguages: [] }, 'markdown'), 'empty: the default list');
  assert.ok(languageEnabled({ enabledLanguages: ['go'] }, 'go'));
  assert.ok(!languageEnabled({ enabledLanguages: ['go'] }, 'python'));
  assert.ok(languageEnabled({ enabledLanguages: ['*'] }, 'jsonc'));
});

test('documentSelector: the enabled languages only, every document with *', () => {
  assert.deepEqual(documentSelector({ enabledLanguages: ['go', 'rust'] }), [
    { scheme: 'file', language: 'go' },
    { scheme: 'untitled', language: 'go' },
    { scheme: 'file', language: 'rust' },
    { scheme: 'untitled', language: 'rust' },
  ]);
  assert.deepEqual(documentSelector({ enabledLanguages: ['*'] }), [{ scheme: 'file' }, { scheme: 'untitled' }]);
  const def = documentSelector(normalize({}));
  assert.equal(def.length, 2 * defaultLanguages.length);
  assert.ok(!def.some((f) => f.language === undefined || f.language === 'jsonc' || f.language === 'json'), 'no settings.json');
});

test('shouldRequest honours toggle, languages and trigger mode', () => {
  const auto = { enabledLanguages: [], triggerMode: 'automatic' as const };
  const manual = { enabledLanguages: [], triggerMode: 'manual' as const };
  assert.ok(!shouldRequest(auto, true, 'jsonc', Trigger.Invoked), 'settings.json is not a default language');
  assert.ok(shouldRequest(auto, true, 'go', Trigger.Automatic));
  assert.ok(shouldRequest(auto, true, 'go', Trigger.Invoked));
  assert.ok(!shouldRequest(auto, false, 'go', Trigger.Invoked), 'disabled');
  assert.ok(!shouldRequest(manual, true, 'go', Trigger.Automatic), 'manual mode ignores typing');
  assert.ok(shouldRequest(manual, true, 'go', Trigger.Invoked));
  assert.ok(!shouldRequest({ enabledLanguages: ['python'], triggerMode: 'automatic' }, true, 'go', Trigger.Invoked));
});

test('package.json declares every setting with the same default as the code', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const props = pkg.contributes.configuration.properties as Record<string, { default: unknown }>;
  for (const [k, v] of Object.entries(defaults)) {
    assert.ok(props[`dream.${k}`], `dream.${k} missing from package.json`);
    assert.deepEqual(props[`dream.${k}`].default, v, `default of dream.${k}`);
  }
});

test('package.json commands do not collide with the server commands the client registers', () => {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  const ids = (pkg.contributes.commands as { command: string }[]).map((c) => c.command);
  for (const server of ['dream.accept', 'dream.fillHoles', 'dream.toggle', 'dream.status']) {
    assert.ok(!ids.includes(server), `${server} is registered by vscode-languageclient for the server`);
  }
  for (const kb of pkg.contributes.keybindings as { command: string }[]) {
    assert.ok(ids.includes(kb.command), `keybinding for unknown command ${kb.command}`);
  }
});

test('minConfidence is clamped to 0..1; remote keeps its four keys and a known api', () => {
  assert.equal(normalize({}).minConfidence, 0.12);
  assert.equal(normalize({ minConfidence: 1.5 }).minConfidence, 1);
  assert.equal(normalize({ minConfidence: 'x' }).minConfidence, 0.12);
  assert.deepEqual(normalize({}).remote, { url: '', api: 'openai', model: '', apiKeyEnv: '' });
  assert.deepEqual(normalize({ remote: { url: ' http://gpu:8080 ', api: 'llamacpp', apiKeyEnv: 'K', extra: 1 } }).remote,
    { url: 'http://gpu:8080', api: 'llamacpp', model: '', apiKeyEnv: 'K' });
  assert.equal(normalize({ remote: { api: 'nope' } }).remote.api, 'openai');
  assert.deepEqual(normalize({ remote: 'http://x' }).remote, { url: '', api: 'openai', model: '', apiKeyEnv: '' });
});
