// The VS Code side of dream-lsp: starts the server, forwards inline completion
// through vscode-languageclient's stable feature (the one suggestion surface: the
// completion feature is left out), and shows the server's status.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  type DynamicFeature,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  State as ClientState,
  type StaticFeature,
  TransportKind,
} from 'vscode-languageclient/node';
import * as readline from 'node:readline';
import { parseServerLine } from './serverLog';
import { resolveServerPath, type Resolved } from './serverPath';
import { documentSelector, normalize, serverArgs, serverSettings, shouldRequest, Trigger, type ExtensionSettings } from './settings';
import { keepFeature } from './surface';
import { restrictedSettings, trustedValue } from './trust';
import { parseStatus, present, type Status } from './status';
import * as wire from './wire';

let client: LanguageClient | undefined;
let output: vscode.LogOutputChannel;
let statusItem: vscode.StatusBarItem;
let lastStatus: Status | undefined;
let serverMissing = false;
/** Client-side on/off switch; mirrors the server's "disabled" state. */
let enabled = true;
/** The item last handed to VS Code, for the partial-accept notification. */
let shown: { uri: string; item: wire.InlineItem; accepted: number } | undefined;
/** The last error message shown to the user, so each is shown once. */
let toldError: string | undefined;

/** The client without vscode-languageclient's completion feature (see surface.ts). */
class DreamClient extends LanguageClient {
  // Called from the base constructor for every built-in feature: no own fields may be used here.
  public override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    if (keepFeature(feature)) {
      super.registerFeature(feature);
    }
  }
}

function readSettings(): ExtensionSettings {
  const c = vscode.workspace.getConfiguration('dream');
  const raw: Record<string, unknown> = {};
  for (const k of ['device', 'steps', 'maxTokens', 'debounceMs', 'enabledLanguages', 'triggerMode', 'algorithm', 'deadlineMs', 'minConfidence']) {
    raw[k] = c.get(k);
  }
  // The executable, its arguments, the model and the remote model server come from user or machine
  // settings only, unless the workspace is trusted (a repository's .vscode/settings.json must not
  // choose what runs, what is read, or where the code is sent).
  const trusted = vscode.workspace.isTrusted;
  for (const k of restrictedSettings) {
    raw[k] = trustedValue(c.inspect(k), c.get(k), trusted);
  }
  return normalize(raw);
}

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) {
      return false;
    }
    if (process.platform !== 'win32') {
      fs.accessSync(p, fs.constants.X_OK);
    }
    return true;
  } catch {
    return false;
  }
}

function findServer(s: ExtensionSettings): Resolved | undefined {
  return resolveServerPath({
    setting: s.serverPath,
    pathEnv: process.env.PATH,
    platform: process.platform,
    home: os.homedir(),
    // A relative serverPath is taken from the workspace only where the workspace is trusted.
    workspaceFolder: vscode.workspace.isTrusted ? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath : undefined,
    isExecutable,
  });
}

function updateStatusItem(): void {
  const p = present(lastStatus, { serverMissing, triggerMode: readSettings().triggerMode });
  statusItem.text = p.text;
  statusItem.tooltip = p.tooltip;
  statusItem.backgroundColor = p.background ? new vscode.ThemeColor(p.background) : undefined;
  statusItem.show();
}

/** toWireItem converts VS Code's item back to the LSP shape echoed in notifications. */
function toWireItem(it: vscode.InlineCompletionItem): wire.InlineItem {
  const text = typeof it.insertText === 'string' ? it.insertText : { kind: 'snippet' as const, value: it.insertText.value };
  const out: wire.InlineItem = { insertText: text };
  if (it.filterText !== undefined) {
    out.filterText = it.filterText;
  }
  if (it.range) {
    out.range = {
      start: { line: it.range.start.line, character: it.range.start.character },
      end: { line: it.range.end.line, character: it.range.end.character },
    };
  }
  if (it.command) {
    out.command = { title: it.command.title, command: it.command.command, arguments: it.command.arguments };
  }
  return out;
}

async function startClient(context: vscode.ExtensionContext): Promise<void> {
  const s = readSettings();
  const server = findServer(s);
  if (!server) {
    serverMissing = true;
    updateStatusItem();
    const what = s.serverPath ? `dream.serverPath (${s.serverPath}) is not an executable file` : 'dream-lsp was not found on PATH';
    output.error(what);
    const pick = await vscode.window.showErrorMessage(`Dream: ${what}.`, 'Open Settings');
    if (pick === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'dream.serverPath');
    }
    return;
  }
  serverMissing = false;
  output.info(`starting ${server.command} ${serverArgs(s).join(' ')} (from ${server.source})`);

  const serverOptions: ServerOptions = {
    command: server.command,
    args: serverArgs(s),
    transport: TransportKind.stdio,
  };
  const clientOptions: LanguageClientOptions = {
    // Only the enabled languages reach the server (no ghost text in settings.json).
    documentSelector: documentSelector(s),
    outputChannel: output,
    // The server logs with log/slog on stderr: show each line at its own level, not all as errors.
    stdioOptions: {
      stdout: (input, channel) => {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (l) => channel.info(l));
      },
      stderr: (input, channel) => {
        readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', (l) => {
          const { level, text } = parseServerLine(l);
          channel[level](text);
        });
      },
    },
    initializationOptions: serverSettings(s),
    middleware: {
      // Answer workspace/configuration for "dream" with the server's keys only (not serverPath & co.).
      workspace: {
        configuration: async (params, token, next) => {
          const dreamOnly = params.items.every((it) => it.section === 'dream');
          const res = dreamOnly ? params.items.map(() => null) : await next(params, token);
          if (!Array.isArray(res)) {
            return res;
          }
          return params.items.map((it, i) => (it.section === 'dream' ? serverSettings(readSettings()) : res[i]));
        },
      },
      provideInlineCompletionItems: async (document, position, ctx, token, next) => {
        const cur = readSettings();
        const trigger = ctx.triggerKind === vscode.InlineCompletionTriggerKind.Invoke ? Trigger.Invoked : Trigger.Automatic;
        if (!shouldRequest(cur, enabled, document.languageId, trigger)) {
          return null;
        }
        // With several cursors VS Code would show the primary cursor's text at every cursor.
        const ed = vscode.window.activeTextEditor;
        if (ed && ed.document === document && ed.selections.length > 1) {
          return null;
        }
        const res = await next(document, position, ctx, token);
        const items = Array.isArray(res) ? res : res?.items;
        if (items && items.length > 0 && !token.isCancellationRequested && client) {
          const item = toWireItem(items[0]);
          shown = { uri: document.uri.toString(), item, accepted: 0 };
          // VS Code's stable API has no "shown" callback; the first item handed over is reported.
          client.sendNotification(wire.didShowCompletion, { item }).catch(() => undefined);
        }
        return res;
      },
    },
  };
  client = new DreamClient('dream', 'Dream', serverOptions, clientOptions);
  client.onDidChangeState((e) => {
    if (e.newState === ClientState.Stopped) {
      lastStatus = { state: 'error', message: 'server stopped', backend: '', model: '', lastLatencyMs: 0 };
      updateStatusItem();
    }
  });
  context.subscriptions.push(
    client.onNotification(wire.statusNotification, (params: unknown) => {
      const st = parseStatus(params);
      if (st) {
        // Errors are told once per distinct message; the status bar stays red meanwhile.
        if (st.state === 'error' && st.message !== toldError) {
          toldError = st.message;
          void vscode.window.showWarningMessage(`Dream: ${st.message || 'error'}`, 'Show Logs').then((pick) => {
            if (pick === 'Show Logs') {
              output.show(true);
            }
          });
        } else if (st.state === 'ready') {
          toldError = undefined;
        }
        lastStatus = st;
        enabled = st.state !== 'disabled';
        updateStatusItem();
      }
    }),
  );
  try {
    await client.start();
  } catch (err) {
    output.error(`server failed to start: ${String(err)}`);
    lastStatus = { state: 'error', message: 'failed to start', backend: '', model: '', lastLatencyMs: 0 };
    updateStatusItem();
  }
}

async function executeServerCommand(command: string, args: unknown[] = []): Promise<unknown> {
  if (!client || !client.isRunning()) {
    void vscode.window.showWarningMessage('Dream: the server is not running (see Dream: Show Logs).');
    return undefined;
  }
  return client.sendRequest('workspace/executeCommand', { command, arguments: args });
}

/** partialAccept runs one of VS Code's partial-accept commands and reports how much was taken. */
async function partialAccept(builtin: string): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const before = shown;
  let inserted = 0;
  const sub = vscode.workspace.onDidChangeTextDocument((e) => {
    if (editor && e.document === editor.document) {
      for (const c of e.contentChanges) {
        inserted += c.text.length;
      }
    }
  });
  try {
    await vscode.commands.executeCommand(builtin);
  } finally {
    sub.dispose();
  }
  if (before && inserted > 0 && client && editor && before.uri === editor.document.uri.toString()) {
    before.accepted += inserted;
    client
      .sendNotification(wire.didPartiallyAcceptCompletion, wire.partialAcceptParams(before.item, before.accepted))
      .catch(() => undefined);
  }
}

async function showStatus(): Promise<void> {
  let st = lastStatus;
  let acceptance: wire.Acceptance | undefined;
  try {
    const raw = await executeServerCommand(wire.commands.status);
    const got = parseStatus(raw);
    acceptance = wire.acceptanceOf(raw);
    if (got) {
      st = got;
      lastStatus = got;
      updateStatusItem();
    }
  } catch (err) {
    output.warn(`dream.status failed: ${String(err)}`);
  }
  const p = present(st, { serverMissing, triggerMode: readSettings().triggerMode });
  let text = p.tooltip.split('\n').slice(0, -1).join(' · ');
  if (acceptance) {
    text += ` · shown ${acceptance.shown}, accepted ${acceptance.accepted}, partly ${acceptance.partiallyAccepted}`;
  }
  const pick = await vscode.window.showInformationMessage(text, enabled ? 'Disable' : 'Enable', 'Show Logs');
  if (pick === 'Show Logs') {
    output.show(true);
  } else if (pick === 'Disable' || pick === 'Enable') {
    await vscode.commands.executeCommand('dream.toggleCompletions');
  }
}

/** activate is VS Code's entry point. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('Dream', { log: true });
  statusItem = vscode.window.createStatusBarItem('dream.status', vscode.StatusBarAlignment.Right, 100);
  statusItem.name = 'Dream';
  statusItem.command = 'dream.showStatus';
  context.subscriptions.push(output, statusItem);

  context.subscriptions.push(
    vscode.commands.registerCommand('dream.trigger', async () => {
      if (!enabled) {
        void vscode.window.setStatusBarMessage('Dream is disabled (Dream: Toggle Completions)', 3000);
        return;
      }
      await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    }),
    vscode.commands.registerCommand('dream.toggleCompletions', async () => {
      enabled = !enabled;
      try {
        const res = wire.toggleResult(await executeServerCommand(wire.commands.toggle));
        if (res !== undefined) {
          enabled = res;
        }
      } catch (err) {
        output.warn(`dream.toggle failed: ${String(err)}`);
      }
      if (!enabled) {
        await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
        lastStatus = { ...(lastStatus ?? { message: '', backend: '', model: '', lastLatencyMs: 0 }), state: 'disabled' };
      } else if (lastStatus?.state === 'disabled') {
        lastStatus = { ...lastStatus, state: 'ready', message: '' };
      }
      updateStatusItem();
      void vscode.window.setStatusBarMessage(`Dream completions ${enabled ? 'enabled' : 'disabled'}`, 3000);
    }),
    vscode.commands.registerCommand('dream.fillHolesInEditor', async () => {
      const editor = vscode.window.activeTextEditor;
      if (!editor) {
        return;
      }
      const sel = editor.selection;
      const args = wire.fillHolesArgs(editor.document.uri.toString(), {
        start: { line: sel.start.line, character: sel.start.character },
        end: { line: sel.end.line, character: sel.end.character },
      });
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Dream: filling holes', cancellable: false },
        async () => {
          try {
            await executeServerCommand(wire.commands.fillHoles, args);
          } catch (err) {
            void vscode.window.showErrorMessage(`Dream: fill holes failed: ${String(err)}`);
          }
        },
      );
    }),
    vscode.commands.registerCommand('dream.acceptWord', () => partialAccept('editor.action.inlineSuggest.acceptNextWord')),
    vscode.commands.registerCommand('dream.acceptLine', () => partialAccept('editor.action.inlineSuggest.acceptNextLine')),
    vscode.commands.registerCommand('dream.showLogs', () => output.show(true)),
    vscode.commands.registerCommand('dream.showStatus', showStatus),
    vscode.commands.registerCommand('dream.restartServer', async () => {
      if (client) {
        try {
          await client.stop();
        } catch (err) {
          output.warn(`stopping the server: ${String(err)}`);
        }
        client = undefined;
      }
      lastStatus = undefined;
      updateStatusItem();
      await startClient(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (
        e.affectsConfiguration('dream.serverPath') ||
        e.affectsConfiguration('dream.serverArgs') ||
        e.affectsConfiguration('dream.enabledLanguages') // the document selector
      ) {
        await vscode.commands.executeCommand('dream.restartServer');
      } else if (e.affectsConfiguration('dream')) {
        updateStatusItem();
        if (client?.isRunning()) {
          await client
            .sendNotification('workspace/didChangeConfiguration', { settings: { dream: serverSettings(readSettings()) } })
            .catch((err: unknown) => output.warn(`didChangeConfiguration: ${String(err)}`));
        }
      }
    }),
  );

  // Trusting the workspace may change the executable, its arguments and the model.
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => vscode.commands.executeCommand('dream.restartServer')),
  );

  updateStatusItem();
  await startClient(context);
}

/** deactivate stops the server. */
export async function deactivate(): Promise<void> {
  if (client) {
    await client.stop();
    client = undefined;
  }
}
