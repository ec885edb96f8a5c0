// The dream/status notification and how the status bar shows it (pure).

/** Server states (docs/design.md, "LSP wire extensions"). */
export type State = 'loading' | 'ready' | 'busy' | 'slow' | 'error' | 'disabled';

/** The `dream/status` notification's params and `dream.status`'s result. */
export interface Status {
  state: State;
  message: string;
  backend: string;
  model: string;
  lastLatencyMs: number;
}

const states = new Set<State>(['loading', 'ready', 'busy', 'slow', 'error', 'disabled']);

/** parseStatus validates an untrusted status object; unknown states become "error" with the raw text kept. */
export function parseStatus(v: unknown): Status | undefined {
  if (v === null || typeof v !== 'object') {
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const rawState = typeof o.state === 'string' ? o.state : '';
  const state: State = states.has(rawState as State) ? (rawState as State) : 'error';
  let message = typeof o.message === 'string' ? o.message : '';
  if (!states.has(rawState as State)) {
    message = `unknown state ${JSON.stringify(rawState)}${message ? ': ' + message : ''}`;
  }
  const lat = typeof o.lastLatencyMs === 'number' && Number.isFinite(o.lastLatencyMs) ? o.lastLatencyMs : 0;
  return {
    state,
    message,
    backend: typeof o.backend === 'string' ? o.backend : '',
    model: typeof o.model === 'string' ? o.model : '',
    lastLatencyMs: Math.max(0, lat),
  };
}

/** What the status bar item shows. */
export interface Presentation {
  text: string;
  tooltip: string;
  /** A ThemeColor id for the background, or undefined. */
  background?: string;
}

const icons: Record<State, string> = {
  loading: '$(sync~spin)',
  ready: '$(sparkle)',
  busy: '$(loading~spin)',
  slow: '$(watch)',
  error: '$(error)',
  disabled: '$(circle-slash)',
};

/** formatLatency prints milliseconds for humans: "85 ms", "1.2 s". */
export function formatLatency(ms: number): string {
  if (ms <= 0) {
    return '';
  }
  if (ms < 1) {
    return '<1 ms';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * present maps a status (undefined: no server yet) to the status bar item.
 * `serverMissing` wins over everything: the user must set dream.serverPath.
 */
export function present(s: Status | undefined, opts: { serverMissing?: boolean; triggerMode?: string } = {}): Presentation {
  if (opts.serverMissing) {
    return {
      text: '$(error) Dream',
      tooltip: 'dream-lsp not found: set dream.serverPath or put dream-lsp on PATH',
      background: 'statusBarItem.errorBackground',
    };
  }
  if (!s) {
    return { text: '$(sync~spin) Dream', tooltip: 'Dream: starting the server' };
  }
  const lat = formatLatency(s.lastLatencyMs);
  let text = `${icons[s.state]} Dream`;
  if (s.state === 'ready' && lat) {
    text += ` ${lat}`;
  }
  const lines = [`Dream: ${s.state}${s.message ? ' (' + s.message + ')' : ''}`];
  if (s.model) {
    lines.push(`Model: ${s.model}`);
  }
  if (s.backend) {
    lines.push(`Backend: ${s.backend}`);
  }
  if (lat) {
    lines.push(`Last completion: ${lat}`);
  }
  if (opts.triggerMode) {
    lines.push(`Trigger: ${opts.triggerMode}`);
  }
  lines.push('Click for status and actions');
  const p: Presentation = { text, tooltip: lines.join('\n') };
  if (s.state === 'error') {
    p.background = 'statusBarItem.errorBackground';
  } else if (s.state === 'slow') {
    p.background = 'statusBarItem.warningBackground';
  }
  return p;
}
