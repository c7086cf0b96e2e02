/**
 * Notebook renderer entry for `application/vnd.anygpt.audio+json` (common/outputs.ts AudioOutput).
 * Saving goes through the extension when renderer messaging is available (a webview cannot open a
 * save dialog); elsewhere the button is a plain download link.
 */
import type { ActivationFunction, OutputItem, RendererContext } from 'vscode-notebook-renderer';
import { checkAudioOutput } from '../../common/output-check';
import type { AudioOutput } from '../../common/output-payloads';
import { el, shadowOf } from '../shared/dom';
import { scopeOf } from '../shared/link';
import { AudioPlayer } from './player';
import { AUDIO_CSS } from './styles';

const live = new Map<string, AbortController>();

export interface RenderAudioOptions {
  id?: string;
  limitSec?: number;
  save?: (fileName: string, base64: string) => void;
}

export function renderAudio(
  host: HTMLElement,
  saved: unknown,
  options: RenderAudioOptions = {},
): AudioPlayer | undefined {
  const id = options.id ?? 'standalone';
  live.get(id)?.abort();
  const ctl = new AbortController();
  live.set(id, ctl);
  const root = shadowOf(host, AUDIO_CSS);
  // A saved notebook can hold anything under this MIME type: check it before the player decodes it.
  let out: AudioOutput;
  try {
    out = checkAudioOutput(saved);
  } catch (e) {
    root.appendChild(
      el('div', { class: 'error', text: `This output is not an AnyGPT audio record: ${(e as Error).message}` }),
    );
    return undefined;
  }
  let player: AudioPlayer;
  try {
    player = new AudioPlayer(root, out, { scope: scopeOf(host), signal: ctl.signal, save: options.save });
    player.mount(options.limitSec);
  } catch (e) {
    // Well-formed JSON around a WAV that cannot be decoded (truncated, not RIFF).
    root.appendChild(el('div', { class: 'error', text: `Could not play this audio: ${(e as Error).message}` }));
    return undefined;
  }
  return player;
}

export const activate: ActivationFunction = (ctx: RendererContext<unknown>) => {
  const save = ctx.postMessage
    ? (fileName: string, base64: string) =>
        ctx.postMessage!({ type: 'anygpt.saveMedia', fileName, mime: 'audio/wav', base64 })
    : undefined;
  return {
    renderOutputItem(item: OutputItem, element: HTMLElement) {
      let out: unknown;
      try {
        out = item.json();
      } catch (e) {
        shadowOf(element, AUDIO_CSS).appendChild(
          el('div', { class: 'error', text: `Could not read the audio record: ${String(e)}` }),
        );
        return;
      }
      renderAudio(element, out, { id: item.id, save });
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
  };
};
