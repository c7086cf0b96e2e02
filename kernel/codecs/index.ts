/**
 * The codecs facade: media bytes ↔ modality codes, per the manifest's components. Pure TypeScript plus
 * onnxruntime sessions; runs in whichever thread calls it (the engine worker hosts it).
 *
 * Sessions open lazily on a modality's first use. Every user-caused failure is a MediaError with a message
 * that can be shown as-is. See docs/codecs.md for the channel policy, limits, seeds and graph contracts.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { Manifest, MediaModality } from '../../common/manifest';
import type { Span } from '../../common/generation';
import { type MediaInput, withSource } from './byte-source';
import { MediaError } from './errors';
import { ImageCodec, type DecodedImage, type DecodeProgress } from './image';
import { MusicCodec } from './music';
import type { Ort } from './onnx';
import { SpeechCodec, type DecodedAudio, type SpeechDecodeOptions, type SpeechPurpose } from './speech';
import { parseTokens, type ParseTokensOptions, type RawTokens } from './tokens';

export { MediaError, type MediaErrorCode } from './errors';
export { flattenMusic, unflattenMusic } from './music-codes';
export { enlargeForDisplay } from './image-io';
export {
  parseTokens,
  splitTokenString,
  type ParsedSpan,
  type ParseTokensOptions,
  type RawTokens,
  type TokenIdBlock,
} from './tokens';
export type { MediaInput } from './byte-source';
export type { DecodedImage, DecodeProgress } from './image';
export type { DecodedAudio, SpeechDecodeOptions, SpeechPurpose } from './speech';

export interface CodecContext {
  /** The model package directory; component paths are relative to it. */
  dir: string;
  /** The package manifest (only `modalities` is read). */
  manifest: Pick<Manifest, 'modalities'>;
  ort: Ort;
  sessionOptions?: InferenceSession.SessionOptions;
  /** Decompression-bomb guard for input images (default 64 Mpx). */
  maxInputPixels?: number;
}

export type DecodedMedia = ({ modality: 'image' } & DecodedImage) | ({ modality: 'speech' | 'music' } & DecodedAudio);

export type DecodeOptions = DecodeProgress & Pick<SpeechDecodeOptions, 'voicePrompt'>;

export class Codecs {
  private image?: ImageCodec;
  private speech?: SpeechCodec;
  private music?: MusicCodec;

  private constructor(private readonly ctx: CodecContext) {}

  /** Prepares the codecs of every modality the manifest declares. No graph is opened yet. */
  static async open(ctx: CodecContext): Promise<Codecs> {
    return new Codecs(ctx);
  }

  get modalities(): Manifest['modalities'] {
    return this.ctx.manifest.modalities;
  }

  /** Image file → ids (tokensPerImage of them). */
  async encodeImage(input: MediaInput): Promise<{ codes: number[]; warnings: string[] }> {
    const c = this.imageCodec();
    return withSource(input, (src) => c.encode(src));
  }

  /** WAV → RVQ codes [Q][F]; codes[0] is the semantic layer the LLM reads. */
  async encodeSpeech(input: MediaInput, purpose: SpeechPurpose): Promise<{ codes: number[][]; warnings: string[] }> {
    const c = this.speechCodec();
    return withSource(input, (src) => c.encode(src, purpose));
  }

  /** WAV → codes [Q][F]; flatten with flattenMusic for the LLM. */
  async encodeMusic(input: MediaInput, maxSeconds?: number): Promise<{ codes: number[][]; warnings: string[] }> {
    const c = this.musicCodec();
    return withSource(input, (src) => c.encode(src, maxSeconds));
  }

  decodeImage(codes: readonly number[], opts?: DecodeProgress): Promise<DecodedImage> {
    return this.imageCodec().decode(codes, opts);
  }

  decodeSpeech(semantic: readonly number[], opts?: SpeechDecodeOptions): Promise<DecodedAudio> {
    return this.speechCodec().decode(semantic, opts);
  }

  async decodeMusic(
    codes: readonly (readonly number[])[],
    opts?: Pick<DecodeProgress, 'onProgress'>,
  ): Promise<DecodedAudio> {
    // One ORT run: report its start too, so a long decode shows progress (and can be seen running).
    opts?.onProgress?.(0, 1);
    const decoded = await this.musicCodec().decode(codes);
    opts?.onProgress?.(1, 1);
    return decoded;
  }

  /** A Generation span → media. Incomplete spans still decode when their codes allow it. */
  async decodeSpan(span: Exclude<Span, { kind: 'text' }>, opts: DecodeOptions = {}): Promise<DecodedMedia> {
    const warn = span.complete ? [] : [`the ${span.modality} span was not closed (generation stopped inside it)`];
    const r = await this.decodeCodes(span.modality, span.codes, opts);
    return { ...r, warnings: [...warn, ...r.warnings] };
  }

  /**
   * Raw tokens (token string, token strings or ids) → media, for `%decode` and the token inspector.
   * Throws MediaError naming the first wrong token.
   */
  async decodeTokens(tokens: RawTokens, opts: ParseTokensOptions & DecodeOptions = {}): Promise<DecodedMedia> {
    const parsed = parseTokens(tokens, this.modalities, opts);
    const r = await this.decodeCodes(parsed.modality, parsed.codes, opts);
    return { ...r, warnings: [...parsed.warnings, ...r.warnings] };
  }

  private async decodeCodes(
    modality: MediaModality,
    codes: number[] | number[][],
    opts: DecodeOptions,
  ): Promise<DecodedMedia> {
    if (modality === 'image') return { modality, ...(await this.decodeImage(codes as number[], opts)) };
    if (modality === 'speech') return { modality, ...(await this.decodeSpeech(codes as number[], opts)) };
    return { modality, ...(await this.decodeMusic(codes as number[][], opts)) };
  }

  /**
   * Steps that get every declared modality's decoders ready ahead of use, each short: open one graph's session,
   * then one tiny decode per modality (onnxruntime's first run of a session costs about as much again as a later
   * one: arena and kernel set-up). The engine runs them one at a time while its worker is idle, so the first media
   * output does not wait for them. Encoders stay lazy (no user waits on an input's encode after a generation), and
   * a diffusion image decoder gets its sessions opened but no warm-up decode (that would be a whole diffusion run).
   * `signal` stops a warm-up decode between its steps (a request arrived).
   */
  preloadSteps(): { label: string; run: (signal: AbortSignal) => Promise<void> }[] {
    const steps: { label: string; run: (signal: AbortSignal) => Promise<void> }[] = [];
    const opens = (codec: { decoders(): { label: string; open(): Promise<unknown> }[] }) =>
      codec.decoders().map((c) => ({ label: c.label, run: async () => void (await c.open()) }));
    const m = this.modalities;
    if (m.speech) {
      steps.push(...opens(this.speechCodec()), {
        label: 'speech warm-up',
        run: async (signal) => void (await this.decodeSpeech([0, 0, 0, 0], { seed: 0, signal })),
      });
    }
    if (m.music) {
      const music = m.music;
      steps.push(...opens(this.musicCodec()), {
        label: 'music warm-up',
        run: async () => void (await this.decodeMusic(Array.from({ length: music.numCodebooks }, () => [0, 0]))),
      });
    }
    if (m.image) {
      const image = m.image;
      steps.push(...opens(this.imageCodec()));
      if (image.decoder.kind === 'direct')
        steps.push({
          label: 'image warm-up',
          run: async (signal) =>
            void (await this.decodeImage(new Array<number>(image.tokensPerImage).fill(0), { signal })),
        });
    }
    return steps;
  }

  /** Releases every open session. */
  async dispose(): Promise<void> {
    await Promise.all([this.image?.dispose(), this.speech?.dispose(), this.music?.dispose()]);
    this.image = this.speech = this.music = undefined;
  }

  private host() {
    return { dir: this.ctx.dir, ort: this.ctx.ort, sessionOptions: this.ctx.sessionOptions };
  }

  private imageCodec(): ImageCodec {
    const spec = this.modalities.image ?? missing('image');
    return (this.image ??= new ImageCodec(this.host(), spec, this.ctx.maxInputPixels));
  }

  private speechCodec(): SpeechCodec {
    const spec = this.modalities.speech ?? missing('speech');
    return (this.speech ??= new SpeechCodec(this.host(), spec));
  }

  private musicCodec(): MusicCodec {
    const spec = this.modalities.music ?? missing('music');
    return (this.music ??= new MusicCodec(this.host(), spec));
  }
}

function missing(m: MediaModality): never {
  throw new MediaError(
    `this model package has no ${m} codec (its manifest declares no modalities.${m})`,
    'unsupported-format',
  );
}
