/** "Show diff" through VS Code's built-in git extension (optional: returns false without it). */
import * as vscode from 'vscode';
import type { AgentCard } from './protocol';

interface Change {
  uri: vscode.Uri;
  originalUri: vscode.Uri;
  status: number;
}
interface Repository {
  rootUri: vscode.Uri;
  state: { HEAD?: { commit?: string }; workingTreeChanges: Change[]; untrackedChanges?: Change[] };
  getMergeBase(a: string, b: string): Promise<string | undefined>;
  diffWith(ref: string): Promise<Change[]>;
  status(): Promise<void>;
}
interface GitApi {
  openRepository?(root: vscode.Uri): Promise<Repository | null>;
  readonly repositories: Repository[];
  getRepository(uri: vscode.Uri): Repository | null;
  toGitUri(uri: vscode.Uri, ref: string): vscode.Uri;
}

const UNTRACKED = 7;
const DELETED = 6;
const INDEX_DELETED = 2;

async function gitApi(): Promise<GitApi | undefined> {
  const ext = vscode.extensions.getExtension<{ getAPI(v: 1): GitApi }>('vscode.git');
  if (!ext) return undefined;
  const exports = ext.isActive ? ext.exports : await ext.activate();
  return exports.getAPI(1);
}

export async function showWorktreeChanges(card: AgentCard, workspace?: vscode.Uri): Promise<boolean> {
  const git = await gitApi();
  if (!git) return false;
  const root = vscode.Uri.file(card.worktree);
  // The worktree usually lies inside the workspace's repository (under .podium/), so
  // getRepository(root) would answer with that outer repository: match the root exactly.
  const sameRoot = (r: Repository | null | undefined): r is Repository =>
    Boolean(r && r.rootUri.fsPath.replace(/\/+$/, '') === root.fsPath.replace(/\/+$/, ''));
  let repo: Repository | null | undefined = git.repositories.find(sameRoot);
  if (!repo) repo = await git.openRepository?.(root);
  if (!sameRoot(repo)) return false;
  await repo.status();
  const mainHead = workspace ? git.getRepository(workspace)?.state.HEAD?.commit : undefined;
  const head = repo.state.HEAD?.commit;
  const base = (mainHead && head && (await repo.getMergeBase(head, mainHead))) || 'HEAD';
  const changes = await repo.diffWith(base);
  const seen = new Set(changes.map((c) => c.uri.toString()));
  const untracked = [...(repo.state.untrackedChanges ?? []), ...repo.state.workingTreeChanges].filter(
    (c) => c.status === UNTRACKED && !seen.has(c.uri.toString()),
  );
  const resources: [vscode.Uri, vscode.Uri | undefined, vscode.Uri | undefined][] = [
    ...changes.map((c): [vscode.Uri, vscode.Uri | undefined, vscode.Uri | undefined] => {
      const deleted = c.status === DELETED || c.status === INDEX_DELETED;
      return [c.uri, git.toGitUri(c.originalUri ?? c.uri, base), deleted ? undefined : c.uri];
    }),
    ...untracked.map((c): [vscode.Uri, undefined, vscode.Uri] => [c.uri, undefined, c.uri]),
  ];
  if (resources.length === 0) {
    void vscode.window.showInformationMessage(`Podium: ${card.name} has no changes yet.`);
    return true;
  }
  await vscode.commands.executeCommand('vscode.changes', `${card.name}: changes on ${card.branch}`, resources);
  return true;
}
