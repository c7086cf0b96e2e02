/**
 * The speech codec: SpeechTokenizer-style encoder graph → RVQ codes [Q][F] (layer 0 is what the LLM reads,
 * all layers serve as a voice prompt); decoding runs SoundStorm when the package has an acoustic
 * generator (with the caller's voice prompt, else the package's default voice if it names one), otherwise hands
 * the semantic codes straight to the decoder graph.
 */
import { join } from 'node:path';
import type { FileRef, SpeechSpec } from '../../common/manifest';
import { readAudio } from './audio-input';
import { withSource, type ByteSource } from './byte-source';
import { MediaError } from './errors';
import { Component, type ComponentHost, tensorFloats, tensorNumbers } from './onnx';
import { Xoshiro128 } from '../../common/prng';
import { soundstormGenerate, type SoundStormConfig } from './soundstorm';
import { trimSilence } from './trim-silence';
import { encodeWav16 } from './wav-io';

export type SpeechPurpose = 'input' | 'voice-prompt';

export interface DecodedAudio {
  wav: Buffer;
  sampleRate: number;
  samples: Float32Array;
  warnings: string[];
}

export interface SpeechDecodeOptions {
  /** Voice-prompt codes from encodeSpeech(…, 'voice-prompt'), [Q][P]. */
  voicePrompt?: number[][];
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export class SpeechCodec {
  private readonly encoder: Component;
  private readonly decoder: Component;
  private readonly acoustic?: Component;
  private defaultVoice?: Promise<number[][]>;

  constructor(
    private readonly host: ComponentHost,
    readonly spec: SpeechSpec,
  ) {
    this.encoder = new Component(host, 'speech encoder', spec.encoder, ['waveform']);
    this.decoder = new Component(host, 'speech decoder', spec.decoder, ['codes']);
    if (spec.acoustic)
      this.acoustic = new Component(host, 'SoundStorm net', spec.acoustic.graph, ['codes', 'cond_ids']);
  }

  /** Samples per codec frame (16 kHz / 50 Hz = 320). */
  get hop(): number {
    return Math.round(this.spec.sampleRate / this.spec.frameRate);
  }

  async encode(src: ByteSource, purpose: SpeechPurpose): Promise<{ codes: number[][]; warnings: string[] }> {
    const audio = readAudio(src, {
      label: purpose === 'input' ? 'speech input' : 'voice prompt',
      targetRate: this.spec.sampleRate,
      maxSeconds: this.spec.maxInputSeconds,
      channels: purpose === 'input' ? 'first' : 'average',
      minSamples: this.hop,
    });
    const trimmed = this.spec.trimSilence
      ? trimSilence(audio.samples, this.spec.sampleRate, this.spec.trimSilence)
      : audio.samples;
    const samples = trimmed.length >= this.hop ? trimmed : audio.samples; // a lone click: keep what was given
    const out = await this.encoder.run(
      { waveform: this.encoder.tensor('float32', samples, [1, 1, samples.length]) },
      'codes',
    );
    const [Q, , F] = out.dims;
    if (out.dims.length !== 3 || out.dims[1] !== 1)
      throw new MediaError(
        `the speech encoder ${this.encoder.file} returned shape [${out.dims.join(',')}], expected [Q,1,F]`,
        'model',
      );
    const flat = tensorNumbers(out, 'speech encoder');
    const codes = Array.from({ length: Q }, (_, q) => flat.slice(q * F, (q + 1) * F));
    return { codes, warnings: audio.warnings };
  }

  validate(semantic: readonly number[]): void {
    if (semantic.length === 0) throw new MediaError('the speech span holds no tokens', 'empty');
    const C = this.spec.codebookSize;
    const bad = semantic.findIndex((c) => !Number.isInteger(c) || c < 0 || c >= C);
    if (bad >= 0)
      throw new MediaError(`speech token ${bad} has code ${semantic[bad]}, outside 0..${C - 1}`, 'invalid-tokens');
  }

  async decode(semantic: readonly number[], opts: SpeechDecodeOptions = {}): Promise<DecodedAudio> {
    this.validate(semantic);
    const warnings: string[] = [];
    let layers: number[][];
    const ac = this.spec.acoustic;
    if (ac && this.acoustic) {
      const net = this.acoustic;
      const cfg: SoundStormConfig = {
        numAcoustic: ac.numAcousticQuantizers,
        codebookSize: this.spec.codebookSize,
        maskId: ac.maskId,
        steps: ac.steps,
        topkFraction: ac.topkFraction,
      };
      const given = opts.voicePrompt ?? (ac.defaultVoice && (await this.defaultVoicePrompt(ac.defaultVoice.file)));
      const prompt = given && this.checkPrompt(given, cfg);
      if (!prompt) warnings.push('no voice prompt: the voice is whatever the acoustic model picks');
      layers = await soundstormGenerate(
        async (codes, cond) => {
          const L = cond.length;
          const out = await net.run(
            { codes: net.int64(codes, [1, codes.length]), cond_ids: net.int64(cond, [1, L]) },
            'logits',
          );
          return tensorFloats(out, 'SoundStorm net');
        },
        semantic,
        cfg,
        { prompt, rng: new Xoshiro128(opts.seed ?? 0), signal: opts.signal, onProgress: opts.onProgress },
      );
    } else {
      if (opts.voicePrompt) warnings.push('the voice prompt was ignored: this model package has no acoustic generator');
      layers = [Array.from(semantic)];
      opts.onProgress?.(1, 1);
    }
    const F = semantic.length;
    const out = await this.decoder.run({ codes: this.decoder.int64(layers.flat(), [layers.length, 1, F]) }, 'waveform');
    const samples = tensorFloats(out, 'speech decoder');
    return { wav: encodeWav16(samples, this.spec.sampleRate), sampleRate: this.spec.sampleRate, samples, warnings };
  }

  /** The package's default voice prompt, encoded once (a failed read is retried on the next decode). */
  private defaultVoicePrompt(file: FileRef): Promise<number[][]> {
    this.defaultVoice ??= (async () => {
      try {
        return (await withSource({ path: join(this.host.dir, file.path) }, (src) => this.encode(src, 'voice-prompt')))
          .codes;
      } catch (e) {
        this.defaultVoice = undefined;
        const why = e instanceof Error ? e.message : String(e);
        throw new MediaError(`the package's default voice prompt ${file.path} could not be used: ${why}`, 'model', {
          cause: e,
        });
      }
    })();
    return this.defaultVoice;
  }

  private checkPrompt(prompt: number[][], cfg: SoundStormConfig): number[][] {
    const need = cfg.numAcoustic + 1;
    if (prompt.length < need)
      throw new MediaError(
        `the voice prompt has ${prompt.length} code layers; the acoustic generator needs ${need} (encode it with purpose 'voice-prompt')`,
        'invalid-tokens',
      );
    const rows = prompt.slice(0, need);
    const P = rows[0].length;
    if (P === 0) throw new MediaError('the voice prompt holds no frames', 'empty');
    for (let q = 0; q < need; q++) {
      if (rows[q].length !== P)
        throw new MediaError(
          `voice prompt layer ${q} has ${rows[q].length} frames, layer 0 has ${P}`,
          'invalid-tokens',
        );
      const bad = rows[q].findIndex((c) => !Number.isInteger(c) || c < 0 || c >= cfg.codebookSize);
      if (bad >= 0)
        throw new MediaError(
          `voice prompt layer ${q} frame ${bad} has code ${rows[q][bad]}, outside 0..${cfg.codebookSize - 1}`,
          'invalid-tokens',
        );
    }
    return rows;
  }

  /** The graphs a decode runs (opened ahead of use by the engine's background preload). */
  decoders(): Component[] {
    return [this.acoustic, this.decoder].filter((c): c is Component => !!c);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder, this.decoder, this.acoustic].map((c) => c?.dispose()));
  }
}
