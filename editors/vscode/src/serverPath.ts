// Finding the dream-lsp binary (pure: the file system is passed in).
import * as path from 'node:path';

/** FileProbe reports whether a path is an executable regular file. */
export type FileProbe = (p: string) => boolean;

/** Where the server binary came from, for messages. */
export interface Resolved {
  command: string;
  source: 'setting' | 'PATH';
}

/** The binary's base name on this platform. */
export function binaryName(platform: string): string {
  return platform === 'win32' ? 'dream-lsp.exe' : 'dream-lsp';
}

/** expandHome turns a leading `~` into the home folder. */
export function expandHome(p: string, home: string): string {
  if (p === '~') {
    return home;
  }
  if (p.startsWith('~/') || p.startsWith('~\\')) {
    return path.join(home, p.slice(2));
  }
  return p;
}

/**
 * resolveServerPath returns the server binary: the `dream.serverPath` setting
 * when set (relative paths are taken from the first workspace folder), else
 * the first `dream-lsp` on PATH. It returns undefined when neither exists.
 */
export function resolveServerPath(opts: {
  setting: string;
  pathEnv: string | undefined;
  platform: string;
  home: string;
  workspaceFolder?: string;
  isExecutable: FileProbe;
}): Resolved | undefined {
  const setting = opts.setting.trim();
  if (setting !== '') {
    let p = expandHome(setting, opts.home);
    if (!path.isAbsolute(p) && opts.workspaceFolder) {
      p = path.join(opts.workspaceFolder, p);
    }
    return opts.isExecutable(p) ? { command: p, source: 'setting' } : undefined;
  }
  const sep = opts.platform === 'win32' ? ';' : ':';
  const name = binaryName(opts.platform);
  for (const dir of (opts.pathEnv ?? '').split(sep)) {
    if (dir === '') {
      continue;
    }
    const p = path.join(dir, name);
    if (opts.isExecutable(p)) {
      return { command: p, source: 'PATH' };
    }
  }
  return undefined;
}
