/** The music codec: EnCodec-style encoder/decoder graphs, codes [Q][F] (4 × 2048 at 50 Hz for AnyGPT). */
import type { MusicSpec } from '../../common/manifest';
import { readAudio } from './audio-input';
import type { ByteSource } from './byte-source';
import { MediaError } from './errors';
import { Component, type ComponentHost, tensorFloats, tensorNumbers } from './onnx';
import type { DecodedAudio } from './speech';
import { encodeWav16 } from './wav-io';

export class MusicCodec {
  private readonly encoder: Component;
  private readonly decoder: Component;

  constructor(
    host: ComponentHost,
    readonly spec: MusicSpec,
  ) {
    this.encoder = new Component(host, 'music encoder', spec.encoder, ['waveform']);
    this.decoder = new Component(host, 'music decoder', spec.decoder, ['audio_codes']);
  }

  /** `maxSeconds`: keep at most this much of the input (default: the package's maxInputSeconds). */
  async encode(
    src: ByteSource,
    maxSeconds = this.spec.maxInputSeconds,
  ): Promise<{ codes: number[][]; warnings: string[] }> {
    const audio = readAudio(src, {
      label: 'music input',
      targetRate: this.spec.sampleRate,
      maxSeconds,
      channels: 'average',
      minSamples: Math.round(this.spec.sampleRate / this.spec.frameRate),
    });
    const out = await this.encoder.run(
      { waveform: this.encoder.tensor('float32', audio.samples, [1, 1, audio.samples.length]) },
      'audio_codes',
    );
    const dims = out.dims;
    if (dims.length !== 4 || dims[2] !== this.spec.numCodebooks)
      throw new MediaError(
        `the music encoder ${this.encoder.file} returned shape [${dims.join(',')}], expected [1,1,${this.spec.numCodebooks},F]`,
        'model',
      );
    const F = dims[3];
    const flat = tensorNumbers(out, 'music encoder');
    return {
      codes: Array.from({ length: dims[2] }, (_, q) => flat.slice(q * F, (q + 1) * F)),
      warnings: audio.warnings,
    };
  }

  validate(codes: readonly (readonly number[])[]): void {
    const { numCodebooks: Q, codebookSize: S } = this.spec;
    if (codes.length !== Q)
      throw new MediaError(`music codes need ${Q} codebooks, got ${codes.length}`, 'invalid-tokens');
    const F = codes[0].length;
    if (F === 0) throw new MediaError('the music span holds no complete frame', 'empty');
    for (let q = 0; q < Q; q++) {
      if (codes[q].length !== F)
        throw new MediaError(
          `music codebook ${q} has ${codes[q].length} frames, codebook 0 has ${F}`,
          'invalid-tokens',
        );
      const bad = codes[q].findIndex((c) => !Number.isInteger(c) || c < 0 || c >= S);
      if (bad >= 0)
        throw new MediaError(
          `music codebook ${q} frame ${bad} has code ${codes[q][bad]}, outside 0..${S - 1}`,
          'invalid-tokens',
        );
    }
  }

  async decode(codes: readonly (readonly number[])[]): Promise<DecodedAudio> {
    this.validate(codes);
    const F = codes[0].length;
    const out = await this.decoder.run(
      { audio_codes: this.decoder.int64(codes.flat(), [1, 1, codes.length, F]) },
      'waveform',
    );
    const samples = tensorFloats(out, 'music decoder');
    return { wav: encodeWav16(samples, this.spec.sampleRate), sampleRate: this.spec.sampleRate, samples, warnings: [] };
  }

  /** The graph a decode runs (opened ahead of use by the engine's background preload). */
  decoders(): Component[] {
    return [this.decoder];
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder.dispose(), this.decoder.dispose()]);
  }
}
