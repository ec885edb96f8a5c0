// LSP-side shapes of our wire extensions (pure; see docs/design.md "LSP wire extensions").

/** An LSP position (UTF-16 columns). */
export interface Position {
  line: number;
  character: number;
}

/** An LSP range. */
export interface Range {
  start: Position;
  end: Position;
}

/** An LSP command. */
export interface Command {
  title: string;
  command: string;
  arguments?: unknown[];
}

/** The LSP InlineCompletionItem as echoed back in Copilot-style notifications. */
export interface InlineItem {
  insertText: string | { kind: 'snippet'; value: string };
  filterText?: string;
  range?: Range;
  command?: Command;
}

/** Method names of the client-to-server notifications (Copilot's shapes). */
export const didShowCompletion = 'textDocument/didShowCompletion';
/** See didShowCompletion. */
export const didPartiallyAcceptCompletion = 'textDocument/didPartiallyAcceptCompletion';
/** The server-to-client status notification. */
export const statusNotification = 'dream/status';

/** Server commands run through workspace/executeCommand. */
export const commands = {
  accept: 'dream.accept',
  fillHoles: 'dream.fillHoles',
  toggle: 'dream.toggle',
  status: 'dream.status',
} as const;

/** fillHolesArgs builds `dream.fillHoles`'s arguments: the whole file when the selection is empty. */
export function fillHolesArgs(uri: string, selection?: Range): [{ uri: string; range?: Range }] {
  if (!selection || (selection.start.line === selection.end.line && selection.start.character === selection.end.character)) {
    return [{ uri }];
  }
  return [{ uri, range: selection }];
}

/** utf16Length is the length of s in UTF-16 code units (JavaScript's own string length). */
export function utf16Length(s: string): number {
  return s.length;
}

/** insertTextOf returns the plain text of an item's insertText. */
export function insertTextOf(item: InlineItem): string {
  return typeof item.insertText === 'string' ? item.insertText : item.insertText.value;
}

/**
 * partialAcceptParams builds didPartiallyAcceptCompletion's params; acceptedLength counts UTF-16
 * units from the start of insertText and is clamped to it.
 */
export function partialAcceptParams(item: InlineItem, acceptedLength: number): { item: InlineItem; acceptedLength: number } {
  const n = Math.max(0, Math.min(utf16Length(insertTextOf(item)), Math.floor(acceptedLength)));
  return { item, acceptedLength: n };
}

/** toggleResult reads `dream.toggle`'s result `{"enabled": bool}`; undefined when it is not that shape. */
export function toggleResult(v: unknown): boolean | undefined {
  if (v !== null && typeof v === 'object' && typeof (v as { enabled?: unknown }).enabled === 'boolean') {
    return (v as { enabled: boolean }).enabled;
  }
  return undefined;
}

/** Acceptance counters in `dream.status`'s result (local only). */
export interface Acceptance {
  shown: number;
  accepted: number;
  partiallyAccepted: number;
  acceptedChars: number;
}

/** acceptanceOf reads the acceptance counters from `dream.status`'s result, if present. */
export function acceptanceOf(v: unknown): Acceptance | undefined {
  if (v === null || typeof v !== 'object') {
    return undefined;
  }
  const a = (v as { acceptance?: unknown }).acceptance;
  if (a === null || typeof a !== 'object') {
    return undefined;
  }
  const o = a as Record<string, unknown>;
  const n = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
  return { shown: n(o.shown), accepted: n(o.accepted), partiallyAccepted: n(o.partiallyAccepted), acceptedChars: n(o.acceptedChars) };
}
