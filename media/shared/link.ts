/**
 * Linking between our renderers of one cell: the token inspector and the audio player live in the
 * same output webview document, but each in its own shadow root and without shared state. They talk
 * through window events scoped to the cell (VS Code wraps a cell's outputs in one `.cell_container`).
 */
export interface SpanLink {
  scope: string;
  /** Index into Generation.spans. */
  span: number;
}

export interface PlayheadLink {
  scope: string;
  /** Index into Generation.tokens of the token being heard, or -1 when playback stopped. */
  token: number;
  span: number;
}

export const SPAN_EVENT = 'anygpt:span';
export const PLAYHEAD_EVENT = 'anygpt:playhead';

export function scopeOf(element: Element): string {
  const cell = element.closest('.cell_container');
  return cell?.id || 'document';
}

export function emit<T>(name: string, detail: T): void {
  window.dispatchEvent(new CustomEvent<T>(name, { detail }));
}

export function listen<T>(name: string, fn: (detail: T) => void, signal?: AbortSignal): void {
  window.addEventListener(name, (e) => fn((e as CustomEvent<T>).detail), { signal });
}
