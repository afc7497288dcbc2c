/** Webview entry point: wires AgentsView to the host's messages. */
import type { FromWebview, ToWebview } from './messages';
import { AgentsView } from './render';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app');
if (root) {
  const view = new AgentsView(root, (message) => vscode.postMessage(message));
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
    if (event.data && typeof event.data === 'object' && 'type' in event.data) view.handle(event.data);
  });
  // Keep "Working for 12m" current without any push from the server.
  setInterval(() => view.tick(), 10_000);
  vscode.postMessage({ type: 'ready' });
}
