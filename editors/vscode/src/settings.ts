// Pure settings logic (no `vscode` import, so it is unit-tested under plain Node).

/** Where the model runs. */
export type Device = 'auto' | 'cpu' | 'cuda';

/** When completions are requested. */
export type TriggerMode = 'automatic' | 'manual';

/**
 * The settings the server understands, under one camelCase name everywhere
 * (docs/design.md, "LSP wire extensions"): sent as `initializationOptions` and
 * answered for `workspace/configuration` section `dream`.
 */
export interface ServerSettings {
  model: string;
  device: Device;
  steps: number;
  maxTokens: number;
  debounceMs: number;
  enabledLanguages: string[];
  triggerMode: TriggerMode;
  algorithm: string;
  deadlineMs: number;
  minConfidence: number;
  remote: RemoteSettings;
}

/** A model server used instead of the in-process model (docs/DEPLOY.md); url "" = none. */
export interface RemoteSettings {
  url: string;
  api: 'openai' | 'mistral' | 'llamacpp' | 'ollama';
  model: string;
  apiKeyEnv: string;
}

/** Everything the extension reads from `dream.*`. */
export interface ExtensionSettings extends ServerSettings {
  serverPath: string;
  serverArgs: string[];
}

/**
 * The languages completed by default (the server's settings.DefaultLanguages): programming
 * languages, not settings, prose or data (JSON, Markdown, plain text). `["*"]` means every language.
 */
export const defaultLanguages: readonly string[] = Object.freeze([
  'go', 'python', 'c', 'cpp', 'cuda-cpp', 'cuda', 'java', 'javascript', 'javascriptreact',
  'typescript', 'typescriptreact', 'rust', 'csharp', 'cs', 'kotlin', 'scala', 'swift',
  'objective-c', 'objective-cpp', 'objc', 'objcpp', 'ruby', 'php', 'lua', 'perl', 'r', 'julia',
  'dart', 'haskell', 'ocaml', 'elixir', 'erlang', 'clojure', 'fsharp', 'groovy', 'zig', 'nim',
  'shellscript', 'sh', 'bash', 'zsh', 'powershell', 'ps1', 'sql', 'vue', 'svelte',
]);

/** Defaults; they match the `contributes.configuration` block of package.json. */
export const defaults: Readonly<ExtensionSettings> = Object.freeze({
  serverPath: '',
  serverArgs: [],
  model: '',
  device: 'auto',
  steps: 0,
  maxTokens: 0,
  debounceMs: 150,
  enabledLanguages: [...defaultLanguages],
  triggerMode: 'automatic',
  algorithm: '',
  deadlineMs: 2000,
  minConfidence: 0.12,
  remote: Object.freeze({ url: '', api: 'openai', model: '', apiKeyEnv: '' }) as RemoteSettings,
});

const remoteAPIs = new Set(['openai', 'mistral', 'llamacpp', 'ollama']);

function num(v: unknown, d: number, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    return d;
  }
  return Math.min(max, Math.max(min, v));
}

/** remote keeps the four known keys of a remote object; anything else is the default (none). */
function remote(v: unknown): RemoteSettings {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { ...defaults.remote };
  }
  const r = v as Record<string, unknown>;
  const api = str(r.api, defaults.remote.api);
  return {
    url: str(r.url, ''),
    api: (remoteAPIs.has(api) ? api : defaults.remote.api) as RemoteSettings['api'],
    model: str(r.model, ''),
    apiKeyEnv: str(r.apiKeyEnv, ''),
  };
}

const algorithms = new Set(['', 'origin', 'maskgit_plus', 'topk_margin', 'entropy', 'confidence_threshold']);

function str(v: unknown, d: string): string {
  return typeof v === 'string' ? v.trim() : d;
}

function int(v: unknown, d: number, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    return d;
  }
  return Math.min(max, Math.max(min, Math.round(v)));
}

function strList(v: unknown, d: readonly string[]): string[] {
  if (!Array.isArray(v)) {
    return [...d];
  }
  const out: string[] = [];
  for (const x of v) {
    if (typeof x === 'string' && x.trim() !== '' && !out.includes(x.trim())) {
      out.push(x.trim());
    }
  }
  return out;
}

/**
 * normalize turns whatever the user wrote (any JSON) into valid settings:
 * wrong types fall back to the default, numbers are clamped to their range,
 * unknown enum values fall back to the default.
 */
export function normalize(raw: Record<string, unknown> | undefined | null): ExtensionSettings {
  const r = raw ?? {};
  const device = str(r.device, defaults.device);
  const trigger = str(r.triggerMode, defaults.triggerMode);
  const alg = str(r.algorithm, defaults.algorithm);
  return {
    serverPath: str(r.serverPath, defaults.serverPath),
    serverArgs: Array.isArray(r.serverArgs) ? r.serverArgs.filter((a): a is string => typeof a === 'string') : [],
    model: str(r.model, defaults.model),
    device: device === 'cpu' || device === 'cuda' || device === 'auto' ? device : defaults.device,
    steps: int(r.steps, defaults.steps, 0, 512),
    maxTokens: int(r.maxTokens, defaults.maxTokens, 0, 1024),
    debounceMs: int(r.debounceMs, defaults.debounceMs, 0, 5000),
    enabledLanguages: strList(r.enabledLanguages, defaults.enabledLanguages),
    triggerMode: trigger === 'manual' ? 'manual' : 'automatic',
    algorithm: algorithms.has(alg) ? alg : defaults.algorithm,
    deadlineMs: int(r.deadlineMs, defaults.deadlineMs, 50, 60000),
    minConfidence: num(r.minConfidence, defaults.minConfidence, 0, 1),
    remote: remote(r.remote),
  };
}

/** serverSettings keeps only the keys the server reads (the wire contract). */
export function serverSettings(s: ExtensionSettings): ServerSettings {
  return {
    model: s.model,
    device: s.device,
    steps: s.steps,
    maxTokens: s.maxTokens,
    debounceMs: s.debounceMs,
    enabledLanguages: [...s.enabledLanguages],
    triggerMode: s.triggerMode,
    algorithm: s.algorithm,
    deadlineMs: s.deadlineMs,
    minConfidence: s.minConfidence,
    remote: { ...s.remote },
  };
}

/** serverArgs is the server's command line after the binary. */
export function serverArgs(s: ExtensionSettings): string[] {
  return ['serve', ...s.serverArgs];
}

/** effectiveLanguages is the list in force: an empty list means the default one (as the server reads it). */
export function effectiveLanguages(s: Pick<ServerSettings, 'enabledLanguages'>): readonly string[] {
  return s.enabledLanguages.length === 0 ? defaultLanguages : s.enabledLanguages;
}

/** languageEnabled says whether completions are wanted in a document of this language id; `*` enables all. */
export function languageEnabled(s: Pick<ServerSettings, 'enabledLanguages'>, languageId: string): boolean {
  const langs = effectiveLanguages(s);
  return langs.includes('*') || langs.includes(languageId);
}

/** A document filter of vscode-languageclient's shape. */
export interface DocumentFilter {
  scheme: string;
  language?: string;
}

/**
 * documentSelector is the documents the client syncs with the server and asks completions for:
 * files and untitled buffers of the enabled languages (all of them with `*`). Documents outside it
 * never reach the server, so a settings.json gets no ghost text.
 */
export function documentSelector(s: Pick<ServerSettings, 'enabledLanguages'>): DocumentFilter[] {
  const langs = effectiveLanguages(s);
  if (langs.includes('*')) {
    return [{ scheme: 'file' }, { scheme: 'untitled' }];
  }
  return langs.flatMap((language) => [{ scheme: 'file', language }, { scheme: 'untitled', language }]);
}

/** Why a completion is asked for (VS Code's InlineCompletionTriggerKind, LSP's triggerKind). */
export enum Trigger {
  /** The user asked (Alt+\ or the Trigger command). */
  Invoked = 'invoked',
  /** Typing. */
  Automatic = 'automatic',
}

/**
 * shouldRequest decides whether a request goes to the server: never when the
 * user turned completions off or the language is not enabled; automatic
 * triggers only in automatic mode.
 */
export function shouldRequest(
  s: Pick<ServerSettings, 'enabledLanguages' | 'triggerMode'>,
  enabled: boolean,
  languageId: string,
  trigger: Trigger,
): boolean {
  if (!enabled || !languageEnabled(s, languageId)) {
    return false;
  }
  return trigger === Trigger.Invoked || s.triggerMode === 'automatic';
}
