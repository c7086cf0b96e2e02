/**
 * Notebook renderer entry for `application/vnd.anygpt.tokens+json` (a Generation record).
 * VS Code calls renderOutputItem again on every streamed update of the same output, so each call
 * rebuilds the shadow root and aborts the listeners of the previous render.
 */
import type { ActivationFunction, OutputItem } from 'vscode-notebook-renderer';
import type { Generation } from '../../common/generation';
import { checkGeneration } from '../../common/output-check';
import { el, shadowOf } from '../shared/dom';
import { scopeOf } from '../shared/link';
import { TokenInspector } from './inspector';
import { TOKENS_CSS } from './styles';

const live = new Map<string, AbortController>();

export function renderGeneration(host: HTMLElement, saved: unknown, id = 'standalone'): void {
  live.get(id)?.abort();
  const ctl = new AbortController();
  live.set(id, ctl);
  const root = shadowOf(host, TOKENS_CSS);
  // A saved notebook can hold anything under this MIME type: check it before the inspector indexes into it.
  let gen: Generation;
  try {
    gen = checkGeneration(saved);
  } catch (e) {
    root.appendChild(
      el('div', { class: 'error', text: `This output is not an AnyGPT Generation record: ${(e as Error).message}` }),
    );
    return;
  }
  new TokenInspector(root, gen, { scope: scopeOf(host), signal: ctl.signal }).mount();
}

export const activate: ActivationFunction = () => ({
  renderOutputItem(item: OutputItem, element: HTMLElement) {
    let gen: unknown;
    try {
      gen = item.json();
    } catch (e) {
      const root = shadowOf(element, TOKENS_CSS);
      root.appendChild(el('div', { class: 'error', text: `Could not read the token record: ${String(e)}` }));
      return;
    }
    renderGeneration(element, gen, item.id);
  },
  disposeOutputItem(id?: string) {
    if (id === undefined) {
      for (const c of live.values()) c.abort();
      live.clear();
    } else {
      live.get(id)?.abort();
      live.delete(id);
    }
  },
});
