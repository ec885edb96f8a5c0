// Workspace Trust (pure: no `vscode` import, so it is unit-tested under plain Node).

/**
 * The settings that choose what runs, what is read and where code goes: the server executable,
 * its arguments, the model directory and the remote model server (documents are sent to it). package.json declares them `machine`-scoped and restricted in untrusted
 * workspaces; the extension also reads them from user or machine settings only there, so a
 * repository's .vscode/settings.json cannot pick them.
 */
export const restrictedSettings = ['serverPath', 'serverArgs', 'model', 'remote'] as const;

/** The part of vscode.WorkspaceConfiguration.inspect()'s result used here. */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/**
 * trustedValue is the value of a restricted setting: in a trusted workspace the effective one
 * (workspace settings may set it); otherwise the user's or machine's (inspect's globalValue), or
 * the default, whatever the workspace and folder settings say.
 */
export function trustedValue<T>(inspected: Inspected<T> | undefined, effective: T | undefined, trusted: boolean): T | undefined {
  if (trusted) {
    return effective;
  }
  if (inspected === undefined) {
    return undefined;
  }
  return inspected.globalValue !== undefined ? inspected.globalValue : inspected.defaultValue;
}
