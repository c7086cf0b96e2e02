/**
 * Worker operations that run kernel/codecs: openMedia, encodeMedia, decodeSpan, decodeTokens.
 *
 * Why in a worker: the codec loops (PNDM, SoundStorm) are JS between ORT runs and ORT's run() blocks its thread,
 * so the kernel's main thread must never host them. Why in their own worker (the engine starts a second one for
 * media, opened with `openMedia`): one long ORT run (an EnCodec decode, a vocoder pass) cannot be stopped, so an
 * interrupt abandons the thread it runs on; with the codecs apart, that costs reopening the codecs, not reloading
 * the LLM (minutes and a second copy in memory for a 7B model). The codecs module (sharp, wavefile, its sessions)
 * is loaded on the first media request, or, when openMedia asks for it (the kernel does), in the background once
 * this worker is idle after the open (in parallel with the LLM worker); its sessions are released with the package.
 */
import './ort-env';
import type { MediaModality } from '../../common/manifest';
import type { Codecs, DecodedMedia, DecodeOptions } from '../codecs';
import type { CodecPreloadStatus, DecodedMediaFile } from './media-protocol';
import './media-protocol';
import { loadPackage, type ModelPackage } from './package';
import { onPackageRelease } from './worker-ops';
import { registerOp, requestsWaiting, whenQuiet, type OpContext } from './worker-host';

/** The package this (media) worker serves, set by openMedia. */
let media: { pkg: ModelPackage; executionProvider: 'cpu' | 'cuda'; threads?: number } | null = null;
let codecs: { hash: string; codecs: Promise<Codecs> } | null = null;

/**
 * Loaded on first use (sharp, wavefile and the codec modules cost start-up time the LLM does not need).
 * require, not import(): under tsx's CommonJS hook a dynamic import() goes to Node's ESM loader, which
 * cannot load the TypeScript sources; esbuild bundles a literal require the same way.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const codecsModule = (): typeof import('../codecs') => require('../codecs');

/** The open package's codecs, made once per package (a request and the preload may ask at the same time). */
function openCodecs(): Promise<Codecs> {
  const st = media;
  if (!st) return Promise.reject(new Error('media worker: no model open'));
  if (codecs?.hash === st.pkg.hash) return codecs.codecs;
  const made = (async () => {
    const { Codecs } = codecsModule();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort: typeof import('onnxruntime-node') = require('onnxruntime-node');
    return Codecs.open({
      dir: st.pkg.dir,
      manifest: st.pkg.manifest,
      ort,
      sessionOptions: {
        // Same device as the LLM; CUDA sessions fall back to CPU for ops CUDA lacks.
        executionProviders: st.executionProvider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
        ...(st.threads ? { intraOpNumThreads: st.threads, interOpNumThreads: 1 } : {}),
      },
    });
  })();
  codecs = { hash: st.pkg.hash, codecs: made };
  made.catch(() => {
    if (codecs?.codecs === made) codecs = null; // a later request tries again
  });
  return made;
}

/**
 * How long the worker must have been idle before each preload step (ms). Steps are synchronous inside
 * onnxruntime (a session create holds the thread, up to about a second for nano's vocoders on a busy machine), so
 * they never start while a request is queued or running, nor in the gap between a cell's back-to-back requests.
 */
const PRELOAD_QUIET_MS = 100;

interface Preload {
  status: CodecPreloadStatus;
  stopped: boolean;
  done: Promise<void>;
}
let preload: Preload | null = null;

/**
 * Opens the package's codec decoder sessions one at a time while the worker is idle (the codecs module first,
 * then each decoder graph), so a cell's first image, speech or music does not wait for them. Stopped (after its
 * current step) when the package is released: a %model switch, a close, a re-open after an interrupt.
 */
function startPreload(): void {
  const job: Preload = { status: { state: 'waiting', opened: [] }, stopped: false, done: Promise.resolve() };
  const stopped = () => job.stopped;
  job.done = (async () => {
    let t0: number | undefined;
    try {
      await whenQuiet(PRELOAD_QUIET_MS, stopped);
      if (stopped()) return;
      t0 = performance.now();
      job.status.state = 'loading';
      const c = await openCodecs();
      const steps = c.preloadSteps();
      for (let i = 0; i < steps.length;) {
        await whenQuiet(PRELOAD_QUIET_MS, stopped);
        if (stopped()) return;
        // A warm-up decode gives way to a request that arrives meanwhile (between its steps) and is tried again
        // later; a session create cannot be stopped, but it is needed by the request anyway or short.
        const ac = new AbortController();
        const watch = setInterval(() => requestsWaiting() && ac.abort(), 5);
        try {
          await steps[i].run(ac.signal);
        } catch (e) {
          if (!ac.signal.aborted) throw e;
          continue;
        } finally {
          clearInterval(watch);
        }
        job.status.opened.push(steps[i].label);
        i++;
      }
      job.status.state = 'done';
      job.status.ms = performance.now() - t0;
    } catch (e) {
      // A graph that does not open fails its first real use with the full message; the preload only records it.
      job.status.state = 'failed';
      job.status.error = (e as Error).message;
    } finally {
      if (job.stopped && job.status.state !== 'done' && job.status.state !== 'failed') job.status.state = 'stopped';
    }
  })();
  preload = job;
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

/** Stops the preload after the step it is in: a step after a dispose would open a session no one frees. */
async function stopPreload(): Promise<void> {
  const job = preload;
  preload = null;
  if (job) {
    job.stopped = true;
    await job.done;
  }
}

export function registerCodecOps(): void {
  onPackageRelease(async () => {
    await stopPreload();
    const c = codecs;
    codecs = null;
    media = null;
    await (await c?.codecs.catch(() => undefined))?.dispose();
  });

  registerOp('codecPreloadStatus', async () => {
    const job = preload;
    return job ? { ...job.status, opened: [...job.status.opened] } : { state: 'off', opened: [] };
  });

  registerOp('openMedia', async ({ dir, hash, executionProvider, threads, preloadCodecs }) => {
    const pkg = await loadPackage(dir, { hashFiles: false, knownHash: hash });
    await stopPreload();
    if (codecs && codecs.hash !== hash) {
      const c = codecs;
      codecs = null;
      await (await c.codecs.catch(() => undefined))?.dispose();
    }
    media = { pkg, executionProvider, threads };
    if (preloadCodecs) startPreload();
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
