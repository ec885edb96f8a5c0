// Reading the server's stderr (log/slog text or JSON lines) into the output channel's levels (pure).

/** A log level of VS Code's LogOutputChannel. */
export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

const levels: Record<string, Level> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  WARNING: 'warn',
  ERROR: 'error',
};

/**
 * parseServerLine maps one stderr line to a level and the text to show. slog's text handler writes
 * `time=... level=INFO msg=...`; the channel adds its own time and level, so that prefix is dropped.
 * JSON lines (`{"level":"WARN",...}`) keep their text. Anything else is shown as it is, at info.
 */
export function parseServerLine(line: string): { level: Level; text: string } {
  const text = line.replace(/\r$/, '');
  const m = /^time=\S+ level=([A-Z]+)(?:[+-]\d+)? (.*)$/.exec(text);
  if (m) {
    return { level: levels[m[1]] ?? 'info', text: m[2] };
  }
  if (text.startsWith('{')) {
    try {
      const o = JSON.parse(text) as { level?: unknown };
      if (typeof o.level === 'string') {
        return { level: levels[o.level.toUpperCase().replace(/[+-]\d+$/, '')] ?? 'info', text };
      }
    } catch {
      // not JSON after all
    }
  }
  return { level: 'info', text };
}
