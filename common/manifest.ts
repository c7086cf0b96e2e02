/**
 * The model package manifest (`anygpt.json`), format version 1.
 *
 * One schema serves the real AnyGPT (converted checkpoints) and AnyGPT-nano; the engine must not be
 * able to tell them apart. All paths are relative to the package directory. The engine validates every
 * field (see kernel/engine/package.ts) and refuses a package with one precise message.
 *
 * Lives in common/ because the kernel, the CLI and the extension's model picker all read it.
 */

export const MANIFEST_FILE = 'anygpt.json';
export const MANIFEST_FORMAT = 'anygpt-package';
export const MANIFEST_VERSION = 1;

export type Modality = 'text' | 'image' | 'speech' | 'music';
export type MediaModality = Exclude<Modality, 'text'>;
export const MEDIA_MODALITIES: readonly MediaModality[] = ['image', 'speech', 'music'];

/** A file inside the package. sha256 is optional but, when present, checked at load. */
export interface FileRef {
  path: string;
  sha256?: string;
}

/** An ONNX graph plus the names/shapes it must expose (checked against the session's metadata). */
export interface OnnxRef extends FileRef {
  /** Other files the graph needs (external data). Checked for existence and hash, never opened by us. */
  externalData?: FileRef[];
}

export interface LlmSpec {
  /** The decoder graph. Contract: see docs/model-package.md "LLM graph". */
  graph: OnnxRef;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Largest position the graph's rotary/position tables support. */
  maxPositions: number;
  /** Element type of the KV cache tensors. */
  kvDtype: 'float32' | 'float16';
  /** Variants of the same LLM (e.g. int4), chosen by the engine option `llmVariant`. */
  variants?: Record<string, OnnxRef>;
  /**
   * KV-cache contract of the graph(s), optional. `shared-buffer`: past and present may be one static buffer
   * [1,kvH,maxLen,hd] updated in place (GroupQueryAttention with seqlens_k/total_sequence_length derived from
   * attention_mask). `dynamic`: present = concat(past, new). Absent: the engine detects GroupQueryAttention.
   */
  kvCache?: 'dynamic' | 'shared-buffer';
}

export interface TokenizerSpec {
  /** A Hugging Face `tokenizer.json`. Added tokens are split before the model pass. */
  file: FileRef;
  /** Optional `tokenizer_config.json` next to it. */
  config?: FileRef;
  /** Token strings for BOS/EOS/UNK/PAD; ids are looked up in the tokenizer, never hard-coded. */
  bos: string; // "<s>"
  eos: string; // "</s>"
  unk?: string;
  pad?: string;
  /** Prepend BOS when encoding a prompt (AnyGPT: true). */
  addBos: boolean;
}

/**
 * How a modality's codes are written as vocabulary tokens. The block's ids are derived from the
 * tokenizer's added tokens and verified to be contiguous: id(`<{prefix}{k}>`) = base + k.
 */
export interface TokenBlockSpec {
  /** Token prefix inside the angle brackets: "👀", "🗣️" (with U+FE0F), "🎶". */
  prefix: string;
  /** Number of code tokens in the block (image 8192, speech 1024, music 4*2048). */
  size: number;
  start: string; // "<soim>"
  end: string; // "<eoim>"
}

export interface ImageSpec {
  tokens: TokenBlockSpec;
  /** Exact number of ids one image becomes (AnyGPT SEED: 32). */
  tokensPerImage: number;
  /** Encoder input size, resize policy and normalisation. */
  input: {
    width: number;
    height: number;
    resize: 'fill-bicubic'; // aspect not kept, as upstream SEED
    mean: [number, number, number];
    std: [number, number, number];
    /** Background that transparent pixels are flattened onto, "#rrggbb". */
    background: string;
  };
  encoder: OnnxRef; // pixel_values f32 [1,3,H,W] -> codes i64 [1,N]
  decoder:
    | { kind: 'direct'; graph: OnnxRef } // codes i64 [1,N] -> pixels u8|f32 [1,H,W,3] in 0..255
    | {
        kind: 'seed-unclip';
        seedDecoder: OnnxRef; // codes i64 [1,N] -> image_embeds f32 [1,1024]
        unet: OnnxRef;
        vae: OnnxRef;
        /** Constant empty-prompt text embedding, raw little-endian f32 [1,77,1024]. */
        textEmbedding: FileRef;
        /** image_normalizer mean/std, raw f32 [1024] each. */
        imageNormalizer?: { mean: FileRef; std: FileRef };
        scheduler: {
          numTrainTimesteps: number;
          betaStart: number;
          betaEnd: number;
          betaSchedule: 'scaled_linear';
          predictionType: 'v_prediction' | 'epsilon';
          stepsOffset: number;
          setAlphaToOne: boolean;
        };
        steps: number;
        guidanceScale: number;
        latentShape: [number, number, number, number];
        vaeScale: number;
      };
}

/** Leading/trailing audio quieter than `threshold` × the clip's peak is cut and `padSeconds` of silence put back. */
export interface TrimSilenceSpec {
  /** A sample is sound when |x| exceeds this fraction of the clip's peak. */
  threshold: number;
  /** Silence (zeros) put back before and after the sound, in seconds. */
  padSeconds: number;
}

export interface SpeechSpec {
  tokens: TokenBlockSpec;
  sampleRate: number; // 16000
  frameRate: number; // 50
  /** RVQ layers the encoder emits; layer 0 (semantic) goes to the LLM. */
  numQuantizers: number;
  codebookSize: number;
  /** Longest input accepted before trimming (seconds). */
  maxInputSeconds: number;
  /**
   * Optional: trim the silence around speech before encoding (input and voice prompts), as the package's training
   * clips were. Absent (the real AnyGPT): audio is encoded as given.
   */
  trimSilence?: TrimSilenceSpec;
  encoder: OnnxRef; // waveform f32 [1,1,T] -> codes i64 [Q,1,F]
  /** Optional SoundStorm-style acoustic generator: codes i64 [1,L*A], cond_ids i64 [1,L] -> logits f32 [1,L*A,C]. */
  acoustic?: {
    graph: OnnxRef;
    numAcousticQuantizers: number; // 7
    maskId: number; // 1024
    steps: number; // 3
    topkFraction: number; // 0.7 (filter keeps ceil((1-0.7)*C))
    /**
     * The voice prompt used when the caller gives none: a WAV in the package, encoded like any voice prompt (nano:
     * a clip of its canonical voice; its generator follows a prompt's pitch, so unprompted it would wander).
     * Absent (the real SoundStorm): an unprompted voice is arbitrary, and decodes warn so.
     */
    defaultVoice?: { file: FileRef; name: string };
  };
  /** codes i64 [Q',1,F] -> waveform f32 [1,1,T]; Q' = 1 when there is no acoustic stage. */
  decoder: OnnxRef;
}

export interface MusicSpec {
  tokens: TokenBlockSpec;
  sampleRate: number; // 32000
  frameRate: number; // 50
  numCodebooks: number; // 4
  codebookSize: number; // 2048; token k of codebook q is written as <🎶{k + q*codebookSize}>
  maxInputSeconds: number;
  /** A chat turn's music input limit where it differs (upstream AnyGPT: 5 s in chat, 20 s in base tasks). */
  chatMaxInputSeconds?: number;
  encoder: OnnxRef; // waveform f32 [1,1,T] -> audio_codes i64 [1,1,Q,F]
  decoder: OnnxRef; // audio_codes i64 [1,1,Q,F] -> waveform f32 [1,1,T]
}

/** A chat template (docs/anygpt.md, "Chat prompts"). */
export interface ChatTemplate {
  system: string;
  user: string; // "[Human]"
  assistant: string; // "[MMGPT]" or "[AnyGPT]"
  userEnd: string; // "<eoh>"
  assistantEnd: string; // "<eos>" or "<eom>"
}

export interface Templates {
  /** Base-model single-turn template; {message} is replaced. AnyGPT: "[Human]: {message}<eoh> [MMGPT]:" */
  base: string;
  chat: { mmgpt: ChatTemplate; anygpt: ChatTemplate };
  defaultChat: 'mmgpt' | 'anygpt';
  /** Fixed instructions per base task, so prompts are reproducible (picked from upstream's lists). */
  instructions: Record<'t2i' | 'caption' | 'asr' | 'tts' | 't2m' | 'm2t', string>;
  /** Token strings that end an assistant turn, besides the tokenizer EOS. */
  stopTokens: string[];
  /**
   * Whether a media-producing base task (t2i, tts, t2m) ends its prompt with the output's start tag when nothing
   * asks otherwise (absent = true). Upstream's base inference ends the prompt at "[MMGPT]:" and lets the model
   * write the tag, so converted AnyGPT packages set false; nano keeps true.
   */
  forceOutputStart?: boolean;
}

/** Sampling preset, mirroring upstream's config/*.json with HF semantics. */
export interface SamplingPreset {
  doSample: boolean;
  temperature: number;
  topK: number; // 0 = off
  topP: number; // 1 = off
  repetitionPenalty: number; // 1 = off
  maxNewTokens: number;
  minNewTokens: number;
  numBeams: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  name: string;
  description?: string;
  license?: string;
  llm: LlmSpec;
  tokenizer: TokenizerSpec;
  /** Role and separator tokens that must exist as single added tokens. */
  specialTokens: string[];
  modalities: { image?: ImageSpec; speech?: SpeechSpec; music?: MusicSpec };
  templates: Templates;
  /**
   * Presets by output modality; "text" is the base text task's and, without "chat", the chat default. "chat":
   * the chat turn's (a converted AnyGPT: upstream's config/generate_config.json, 500 tokens, 5 beams sampling).
   */
  presets: Record<Modality, SamplingPreset> & { chat?: SamplingPreset };
  /** What a small model was trained on (nano); a real AnyGPT declares none. */
  world?: WorldSpec;
}

/** The tasks whose input is the user's text, for which a package may declare its world. */
export const WORLD_TASKS = ['chat', 't2i', 'tts', 't2m'] as const;
export type WorldTask = (typeof WORLD_TASKS)[number];

/**
 * A model's known world per task: word classes ("positions": left, right, …) and, per class, the words seen
 * just before one of its words in training ("^" = start of text). The kernel warns about words outside it.
 */
export interface WorldSpec {
  description?: string;
  tasks: Partial<Record<WorldTask, WorldVocabulary>>;
}

export interface WorldVocabulary {
  classes: Record<string, string[]>;
  after: Record<string, string[]>;
}
