/** The usage history webview's entry point: wires HistoryView to the host and to Chart.js. */
import type { HistoryControls } from '../../views/history';
import { ChartJsPainter } from './charts';
import type { FromHistory, ToHistory } from './messages';
import { HistoryView } from './view';

interface VsCodeApi {
  postMessage(message: FromHistory): void;
  getState(): { controls?: Partial<HistoryControls> } | undefined;
  setState(state: { controls: HistoryControls }): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const root = document.getElementById('app');
if (root) {
  // Tests read how many CSP violations the page saw (none expected: Chart.js needs no eval).
  let violations = 0;
  document.addEventListener('securitypolicyviolation', () => root.setAttribute('data-csp-violations', String(++violations)));
  root.setAttribute('data-csp-violations', '0');
  const view = new HistoryView(root, {
    post: (message) => vscode.postMessage(message),
    painter: new ChartJsPainter(),
    tz: Intl.DateTimeFormat().resolvedOptions().timeZone,
    saved: vscode.getState()?.controls,
    save: (controls) => vscode.setState({ controls }),
  });
  window.addEventListener('message', (event: MessageEvent<ToHistory>) => {
    if (event.data && typeof event.data === 'object' && 'type' in event.data) view.handle(event.data);
  });
  // VS Code marks a theme change on the body's class: redraw in the new colours.
  new MutationObserver(() => view.redraw()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
  vscode.postMessage({ type: 'ready' });
  view.start();
}
