/**
 * The thin wrapper over the `vscode` API (as in microsoft/vscode-python-tools-extension-template):
 * every call the extension makes goes through here, so the rest is plain, testable TypeScript.
 */
import * as vscode from 'vscode';

export type Disposable = vscode.Disposable;

export function getConfiguration(section: string, scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(section, scope);
}

export function onDidChangeConfiguration(
  listener: (e: vscode.ConfigurationChangeEvent) => unknown,
): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration(listener);
}

export function workspaceFolder(): vscode.WorkspaceFolder | undefined {
  return vscode.workspace.workspaceFolders?.[0];
}

export function registerCommand(command: string, callback: (...args: never[]) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(command, callback as (...args: unknown[]) => unknown);
}

export function executeCommand<T = unknown>(command: string, ...rest: unknown[]): Thenable<T> {
  return vscode.commands.executeCommand<T>(command, ...rest);
}

export function createOutputChannel(name: string): vscode.LogOutputChannel {
  return vscode.window.createOutputChannel(name, { log: true });
}

export function createStatusBarItem(id: string, name: string): vscode.StatusBarItem {
  const item = vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, 50);
  item.name = name;
  return item;
}

export function themeColor(id: string): vscode.ThemeColor {
  return new vscode.ThemeColor(id);
}

export function markdown(text: string): vscode.MarkdownString {
  const md = new vscode.MarkdownString(text, true);
  md.isTrusted = false;
  md.supportHtml = false;
  return md;
}

export function showMessage(
  severity: 'info' | 'warning' | 'error',
  message: string,
  ...items: string[]
): Thenable<string | undefined> {
  if (severity === 'error') return vscode.window.showErrorMessage(message, ...items);
  if (severity === 'warning') return vscode.window.showWarningMessage(message, ...items);
  return vscode.window.showInformationMessage(message, ...items);
}

export function showModalWarning(message: string, detail: string, ...items: string[]): Thenable<string | undefined> {
  return vscode.window.showWarningMessage(message, { modal: true, detail }, ...items);
}

export function showInputBox(options: vscode.InputBoxOptions): Thenable<string | undefined> {
  return vscode.window.showInputBox(options);
}

export function showQuickPick<T extends vscode.QuickPickItem>(
  items: readonly T[] | Thenable<readonly T[]>,
  options: vscode.QuickPickOptions,
): Thenable<T | undefined> {
  return vscode.window.showQuickPick(items, options);
}

export function showSaveDialog(options: vscode.SaveDialogOptions): Thenable<vscode.Uri | undefined> {
  return vscode.window.showSaveDialog(options);
}

export function withProgress<R>(title: string, task: () => Thenable<R>): Thenable<R> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: false },
    task,
  );
}

export function createTerminal(name: string, cwd: string): vscode.Terminal {
  return vscode.window.createTerminal({ name, cwd, iconPath: new vscode.ThemeIcon('hubot') });
}

export function registerWebviewViewProvider(
  viewId: string,
  provider: vscode.WebviewViewProvider,
): vscode.Disposable {
  return vscode.window.registerWebviewViewProvider(viewId, provider, {
    webviewOptions: { retainContextWhenHidden: true },
  });
}

export function fileUri(path: string): vscode.Uri {
  return vscode.Uri.file(path);
}

export function joinUri(base: vscode.Uri, ...parts: string[]): vscode.Uri {
  return vscode.Uri.joinPath(base, ...parts);
}

export function openTextDocument(options: { content: string; language: string }): Thenable<vscode.TextDocument> {
  return vscode.workspace.openTextDocument(options);
}

export function showTextDocument(doc: vscode.TextDocument): Thenable<vscode.TextEditor> {
  return vscode.window.showTextDocument(doc);
}

export function getExtension<T>(id: string): vscode.Extension<T> | undefined {
  return vscode.extensions.getExtension<T>(id);
}

export function openExternalFile(uri: vscode.Uri): Thenable<unknown> {
  return vscode.commands.executeCommand('vscode.open', uri);
}

export function revealInOS(uri: vscode.Uri): Thenable<unknown> {
  return vscode.commands.executeCommand('revealFileInOS', uri);
}

export async function ensureDirectory(uri: vscode.Uri): Promise<void> {
  await vscode.workspace.fs.createDirectory(uri);
}

/** A notification that shows `title: message` (message updated by `report`) until `task` settles. */
export function withProgressMessage(
  title: string,
  message: string,
  task: (report: (message: string) => void) => Thenable<void>,
): Thenable<void> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: false },
    (progress) => {
      progress.report({ message });
      return task((message) => progress.report({ message }));
    },
  );
}

export function setStatusBarMessage(text: string, hideAfterMs: number): vscode.Disposable {
  return vscode.window.setStatusBarMessage(text, hideAfterMs);
}

/** A webview editor panel in the active editor group, its scripts allowed from `roots` only. */
export function createWebviewPanel(viewType: string, title: string, roots: vscode.Uri[]): vscode.WebviewPanel {
  return vscode.window.createWebviewPanel(
    viewType,
    title,
    { viewColumn: vscode.ViewColumn.Active, preserveFocus: false },
    { enableScripts: true, retainContextWhenHidden: true, localResourceRoots: roots },
  );
}
