import assert from 'node:assert/strict';
import { test } from 'node:test';
import { binaryName, expandHome, resolveServerPath } from '../serverPath';

const exists = (set: string[]) => (p: string) => set.includes(p);

test('the setting wins over PATH', () => {
  const r = resolveServerPath({
    setting: '/opt/dream/dream-lsp', pathEnv: '/usr/bin', platform: 'linux', home: '/home/u',
    isExecutable: exists(['/opt/dream/dream-lsp', '/usr/bin/dream-lsp']),
  });
  assert.deepEqual(r, { command: '/opt/dream/dream-lsp', source: 'setting' });
});

test('a setting that does not exist is an error, not a silent PATH fallback', () => {
  const r = resolveServerPath({
    setting: '/nope/dream-lsp', pathEnv: '/usr/bin', platform: 'linux', home: '/home/u',
    isExecutable: exists(['/usr/bin/dream-lsp']),
  });
  assert.equal(r, undefined);
});

test('~ and workspace-relative settings', () => {
  assert.equal(expandHome('~/bin/dream-lsp', '/home/u'), '/home/u/bin/dream-lsp');
  assert.equal(expandHome('/a/~/b', '/home/u'), '/a/~/b');
  const r = resolveServerPath({
    setting: 'bin/dream-lsp', pathEnv: '', platform: 'linux', home: '/home/u', workspaceFolder: '/w',
    isExecutable: exists(['/w/bin/dream-lsp']),
  });
  assert.deepEqual(r, { command: '/w/bin/dream-lsp', source: 'setting' });
});

test('PATH search takes the first hit and skips empty entries', () => {
  const r = resolveServerPath({
    setting: '', pathEnv: ':/a:/b:/c', platform: 'linux', home: '/h',
    isExecutable: exists(['/b/dream-lsp', '/c/dream-lsp']),
  });
  assert.deepEqual(r, { command: '/b/dream-lsp', source: 'PATH' });
  assert.equal(resolveServerPath({ setting: '', pathEnv: undefined, platform: 'linux', home: '/h', isExecutable: () => true }), undefined);
});

test('Windows uses ; and .exe', () => {
  assert.equal(binaryName('win32'), 'dream-lsp.exe');
  const r = resolveServerPath({
    setting: '', pathEnv: 'C:\\x;C:\\y', platform: 'win32', home: 'C:\\h',
    isExecutable: (p) => p.endsWith('dream-lsp.exe') && p.includes('y'),
  });
  assert.equal(r?.source, 'PATH');
});
