// Which suggestion surface VS Code shows (pure: no `vscode` import).

/**
 * Client features the extension leaves out. With vscode-languageclient's completion feature VS Code
 * shows the server's suggestion twice, in the completion dropdown and as ghost text, Tab takes the
 * dropdown item, and every keystroke costs a second model pass; ghost text (inline completion) is
 * the one surface. Without the feature the client neither declares the capability nor sends
 * textDocument/completion.
 */
export const droppedFeatures: ReadonlySet<string> = new Set(['textDocument/completion']);

/** featureMethod is the LSP method of a vscode-languageclient feature, when it has one. */
export function featureMethod(feature: unknown): string | undefined {
  const rt = (feature as { registrationType?: { method?: unknown } } | undefined)?.registrationType;
  return typeof rt?.method === 'string' ? rt.method : undefined;
}

/** keepFeature says whether the client registers a feature. */
export function keepFeature(feature: unknown): boolean {
  const m = featureMethod(feature);
  return m === undefined || !droppedFeatures.has(m);
}
