/**
 * Worker operations that run kernel/codecs: openMedia, encodeMedia, decodeSpan, decodeTokens.
 *
 * Why in a worker: the codec loops (PNDM, SoundStorm) are JS between ORT runs and ORT's run() blocks its thread,
 * so the kernel's main thread must never host them. Why in their own worker (the engine starts a second one for
 * media, opened with `openMedia`): one long ORT run (an EnCodec decode, a vocoder pass) cannot be stopped, so an
 * interrupt abandons the thread it runs on; with the codecs apart, that costs reopening the codecs, not reloading
 * the LLM (minutes and a second copy in memory for a 7B model). The codecs module (sharp, wavefile, its sessions)
 * is loaded on the first media request, and its sessions are released with the package.
 */
import './ort-env';
import type { MediaModality } from '../../common/manifest';
import type { Codecs, DecodedMedia, DecodeOptions } from '../codecs';
import type { DecodedMediaFile } from './media-protocol';
import './media-protocol';
import { loadPackage, type ModelPackage } from './package';
import { onPackageRelease } from './worker-ops';
import { registerOp, type OpContext } from './worker-host';

/** The package this (media) worker serves, set by openMedia. */
let media: { pkg: ModelPackage; executionProvider: 'cpu' | 'cuda'; threads?: number } | null = null;
let codecs: { hash: string; codecs: Codecs } | null = null;

/**
 * Loaded on first use (sharp, wavefile and the codec modules cost start-up time the LLM does not need).
 * require, not import(): under tsx's CommonJS hook a dynamic import() goes to Node's ESM loader, which
 * cannot load the TypeScript sources; esbuild bundles a literal require the same way.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codecsModule = (): typeof import('../codecs') => require('../codecs');

async function openCodecs(): Promise<Codecs> {
  const st = media;
  if (!st) throw new Error('media worker: no model open');
  if (codecs?.hash === st.pkg.hash) return codecs.codecs;
  const { Codecs } = codecsModule();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort: typeof import('onnxruntime-node') = require('onnxruntime-node');
  const c = await Codecs.open({
    dir: st.pkg.dir,
    manifest: st.pkg.manifest,
    ort,
    sessionOptions: {
      // Same device as the LLM; CUDA sessions fall back to CPU for ops CUDA lacks.
      executionProviders: st.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      ...(st.threads ? { intraOpNumThreads: st.threads, interOpNumThreads: 1 } : {}),
    },
  });
  codecs = { hash: st.pkg.hash, codecs: c };
  return c;
}

/**
 * An AbortSignal that follows the request's shared cancel flag. The codec loops test `signal.aborted` before
 * each step and report progress after it, so polling the flag on every progress report gives per-step
 * cancellation; a timer also polls while the worker awaits an ORT run.
 */
function flagSignal(ctx: OpContext): { signal: AbortSignal; poll(): void; dispose(): void } {
  const ac = new AbortController();
  const poll = () => {
    if (!ac.signal.aborted && ctx.cancelled()) ac.abort();
  };
  const timer = setInterval(poll, 5);
  timer.unref?.();
  poll();
  return { signal: ac.signal, poll, dispose: () => clearInterval(timer) };
}

function stageOf(modality: MediaModality): string {
  const m = media?.pkg.manifest.modalities;
  if (modality === 'image') return m?.image?.decoder.kind === 'seed-unclip' ? 'diffusion' : 'image decode';
  if (modality === 'speech') return m?.speech?.acoustic ? 'soundstorm' : 'speech decode';
  return 'music decode';
}

/** Runs a decode with the flag-backed signal and progress events named for the modality's stage. */
async function withDecodeOptions(
  ctx: OpContext,
  modality: MediaModality | undefined,
  base: Pick<DecodeOptions, 'seed' | 'voicePrompt'>,
  run: (opts: DecodeOptions) => Promise<DecodedMedia>,
): Promise<DecodedMediaFile> {
  const abort = flagSignal(ctx);
  try {
    const r = await run({
      ...base,
      signal: abort.signal,
      onProgress: (done, total) => {
        abort.poll();
        ctx.emit({ type: 'progress', stage: modality ? stageOf(modality) : 'decode', done, total });
      },
    });
    return toFile(r);
  } finally {
    abort.dispose();
  }
}

function toFile(r: DecodedMedia): DecodedMediaFile {
  if (r.modality === 'image')
    return {
      modality: 'image',
      mime: 'image/png',
      data: r.png,
      width: r.width,
      height: r.height,
      warnings: r.warnings,
    };
  // The float waveform stays here: the WAV carries the audio, and postMessage copies every byte.
  return {
    modality: r.modality,
    mime: 'audio/wav',
    data: r.wav,
    sampleRate: r.sampleRate,
    durationSec: r.samples.length / r.sampleRate,
    warnings: r.warnings,
  };
}

export function registerCodecOps(): void {
  onPackageRelease(async () => {
    const c = codecs;
    codecs = null;
    media = null;
    await c?.codecs.dispose();
  });

  registerOp('openMedia', async ({ dir, hash, executionProvider, threads }) => {
    const pkg = await loadPackage(dir, { hashFiles: false, knownHash: hash });
    if (codecs && codecs.hash !== hash) {
      const c = codecs;
      codecs = null;
      await c.codecs.dispose();
    }
    media = { pkg, executionProvider, threads };
    return null;
  });

  registerOp('encodeMedia', async ({ modality, input, purpose, maxSeconds }) => {
    const c = await openCodecs();
    const src =
      'path' in input ? { path: input.path } : { bytes: input.bytes, name: input.name ?? `the ${modality} input` };
    if (modality === 'image') return c.encodeImage(src);
    if (modality === 'music') return c.encodeMusic(src, maxSeconds);
    const r = await c.encodeSpeech(src, purpose);
    return purpose === 'input' ? { codes: r.codes[0], warnings: r.warnings } : r;
  });

  registerOp('decodeSpan', async ({ span, seed, voicePrompt }, ctx) => {
    const c = await openCodecs();
    return withDecodeOptions(ctx, span.modality, { seed, voicePrompt }, (opts) => c.decodeSpan(span, opts));
  });

  registerOp('decodeTokens', async ({ raw, modality, ids, numbers, seed, voicePrompt }, ctx) => {
    const c = await openCodecs();
    // The modality may only be known after parsing; name the stage after the first parse.
    const m = modality ?? codecsModule().parseTokens(raw, c.modalities, { modality, ids, numbers }).modality;
    return withDecodeOptions(ctx, m, { seed, voicePrompt }, (opts) =>
      c.decodeTokens(raw, { ...opts, modality, ids, numbers }),
    );
  });
}
