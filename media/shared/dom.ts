/**
 * Tiny DOM builder for the renderers. Text always goes through `textContent`, never `innerHTML`,
 * so model output such as `<img onerror=…>` can only ever appear as text.
 */
export interface ElProps {
  class?: string;
  text?: string;
  title?: string;
  attrs?: Record<string, string>;
  style?: Partial<Record<string, string>>;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: ElProps = {},
  ...children: (Node | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) node.setAttribute(k, v);
  if (props.style) for (const [k, v] of Object.entries(props.style)) if (v !== undefined) node.style.setProperty(k, v);
  for (const c of children) if (c) node.appendChild(c);
  return node;
}

/** A shadow root on `host`, reused across re-renders of the same output (VS Code calls render again on update). */
export function shadowOf(host: HTMLElement, css: string): ShadowRoot {
  const root = host.shadowRoot ?? host.attachShadow({ mode: 'open' });
  root.replaceChildren();
  const style = document.createElement('style');
  style.textContent = css;
  root.appendChild(style);
  return root;
}

/** Copy text; the async clipboard API can be refused inside webviews, so fall back to execCommand. */
export async function copyText(text: string, anchor: Node): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    (anchor.getRootNode() as ShadowRoot | Document).appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

/** Resolve a CSS custom property to a concrete colour for canvas drawing. */
export function cssColor(host: Element, name: string, fallback: string): string {
  const v = getComputedStyle(host).getPropertyValue(name).trim();
  return v || fallback;
}
