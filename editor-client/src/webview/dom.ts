/** Small DOM helpers for keyed, in-place updates: each touches the node only on a change. */

export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node: Element, name: string, value: string): void {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

export function setHidden(node: HTMLElement, hidden: boolean): void {
  if (node.hidden !== hidden) node.hidden = hidden;
}

export function icon(doc: Document, name: string): HTMLElement {
  const span = el(doc, 'span', `codicon codicon-${name}`);
  span.setAttribute('aria-hidden', 'true');
  return span;
}

export function setIcon(node: Element, name: string): void {
  setAttr(node, 'class', `codicon codicon-${name}`);
}

/** A `type="button"` button with an icon and a label. */
export function button(doc: Document, className: string, codicon: string, label: string): HTMLButtonElement {
  const node = el(doc, 'button', className);
  node.type = 'button';
  node.append(icon(doc, codicon), el(doc, 'span', undefined, label));
  return node;
}
