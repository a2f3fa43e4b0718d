/** A new element with a class and, optionally, text (always as text, never as HTML). */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * A form control inside the widget. The notebook's keyboard shortcuts (Enter, digits, arrows)
 * would otherwise act on the notebook while the user types or picks here.
 */
export function control<K extends 'select' | 'input'>(
  tag: K,
  className: string
): HTMLElementTagNameMap[K] {
  const node = element(tag, `${className} intershap-control`);
  node.dataset.lmSuppressShortcuts = 'true';
  node.addEventListener('keydown', event => event.stopPropagation());
  return node;
}
