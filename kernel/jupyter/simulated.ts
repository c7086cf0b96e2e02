/**
 * A model-free Backend for protocol tests and for trying the kernel before a model package exists
 * (`anygpt-kernel --simulate`, or ANYGPT_BACKEND=simulated). It speaks the real contracts (Manifest,
 * Generation, events, spans) with a word tokenizer and seeded pseudo-random "generation", paced by
 * timers so interrupts and streaming behave as with a real model. Outputs say they are simulated.
 */
import { GENERATION_SCHEMA, type Generation, type GenerationEvent, type GenerationParams, type Span, type TokenRecord } from '../../common/generation';
import type { Manifest, MediaModality, Modality, SamplingPreset } from '../../common/manifest';
import type { MediaCodes } from '../prompt/templates';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { AbortError, type Backend, type DecodedMedia, type EncodedMedia, type MediaInput, type ModelDescription, type Progress, type VoicePrompt } from './backend';
import { encodePng } from './png';
import { decodeWav, encodeWav } from './wav';

const preset = (p: Partial<SamplingPreset>): SamplingPreset => ({
  doSample: true,
  temperature: 1,
  topK: 50,
  topP: 1,
  repetitionPenalty: 1,
  maxNewTokens: 100,
  minNewTokens: 0,
  numBeams: 1,
  ...p,
});

const CHAT = {
  user: '[Human]',
  userEnd: '<eoh>',
};

export const SIMULATED_MANIFEST: Manifest = {
  format: 'anygpt-package',
  version: 1,
  name: 'simulated',
  description: 'No model: the kernel simulated backend for protocol tests.',
  llm: { graph: { path: '-' }, numLayers: 1, numKvHeads: 1, headDim: 1, vocabSize: 53516, maxPositions: 4096, kvDtype: 'float32' },
  tokenizer: { file: { path: '-' }, bos: '<s>', eos: '</s>', unk: '<unk>', addBos: true },
  specialTokens: ['[Human]', '[MMGPT]', '<eoh>', '<eos>'],
  modalities: {
    image: {
      tokens: { prefix: '👀', size: 8192, start: '<soim>', end: '<eoim>' },
      tokensPerImage: 32,
      input: { width: 32, height: 32, resize: 'fill-bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], background: '#ffffff' },
      encoder: { path: '-' },
      decoder: { kind: 'direct', graph: { path: '-' } },
    },
    speech: {
      tokens: { prefix: '🗣️', size: 1024, start: '<sosp>', end: '<eosp>' },
      sampleRate: 16000,
      frameRate: 50,
      numQuantizers: 1,
      codebookSize: 1024,
      maxInputSeconds: 30,
      encoder: { path: '-' },
      decoder: { path: '-' },
    },
    music: {
      tokens: { prefix: '🎶', size: 8192, start: '<somu>', end: '<eomu>' },
      sampleRate: 32000,
      frameRate: 50,
      numCodebooks: 4,
      codebookSize: 2048,
      maxInputSeconds: 30,
      encoder: { path: '-' },
      decoder: { path: '-' },
    },
  },
  templates: {
    base: '[Human]: {message}<eoh> [MMGPT]:',
    chat: {
      mmgpt: { system: 'You are an AI assistant named MMGPT who can understand and generate multimodal content, including text, speech, images and audio.', ...CHAT, assistant: '[MMGPT]', assistantEnd: '<eos>' },
      anygpt: { system: 'You are an AI assistant named AnyGPT who can understand and generate multimodal content, including text, speech, images and audio.', ...CHAT, assistant: '[AnyGPT]', assistantEnd: '<eom>' },
    },
    defaultChat: 'mmgpt',
    instructions: {
      t2i: 'Produce an image that conveys the concept of the text.',
      caption: 'Describe the people and objects in this picture.',
      asr: 'Could you discern what is uttered in the next sound bite?',
      tts: 'I require you to read these mute words into understandable spoken language.',
      t2m: 'What musical techniques can you use to convey the message of this caption?',
      m2t: 'How would you describe the genre of this music?',
    },
    stopTokens: ['<eos>', '<eom>'],
  },
  presets: {
    text: preset({ maxNewTokens: 100 }),
    image: preset({ maxNewTokens: 200 }),
    speech: preset({ maxNewTokens: 1500, repetitionPenalty: 1.05 }),
    music: preset({ maxNewTokens: 2000, topK: 200, repetitionPenalty: 1.15 }),
  },
};

const SPECIAL_IDS: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2, '[Human]': 32000, '[MMGPT]': 32001, '<eoh>': 32002, '<eos>': 32003, '[AnyGPT]': 53516, '<eom>': 53517 };
const BLOCKS = [
  { modality: 'image' as const, prefix: '👀', base: 32004, start: '<soim>', end: '<eoim>', size: 8192 },
  { modality: 'speech' as const, prefix: '🗣️', base: 40198, start: '<sosp>', end: '<eosp>', size: 1024 },
  { modality: 'music' as const, prefix: '🎶', base: 41224, start: '<somu>', end: '<eomu>', size: 8192 },
];
SPECIAL_IDS['<soim>'] = 40196;
SPECIAL_IDS['<eoim>'] = 40197;
SPECIAL_IDS['<sosp>'] = 41222;
SPECIAL_IDS['<eosp>'] = 41223;
SPECIAL_IDS['<somu>'] = 49416;
SPECIAL_IDS['<eomu>'] = 49417;

function pieceId(piece: string): number {
  if (piece in SPECIAL_IDS) return SPECIAL_IDS[piece];
  for (const b of BLOCKS) {
    if (piece.startsWith(`<${b.prefix}`) && piece.endsWith('>')) {
      const k = Number(piece.slice(b.prefix.length + 1, -1));
      if (Number.isInteger(k) && k >= 0 && k < b.size) return b.base + k;
    }
  }
  let h = 2166136261;
  for (let i = 0; i < piece.length; i++) h = Math.imul(h ^ piece.charCodeAt(i), 16777619);
  return 3 + ((h >>> 0) % 31997);
}

function modalityOf(piece: string): { modality: Modality; code?: number } {
  for (const b of BLOCKS) {
    if (piece.startsWith(`<${b.prefix}`) && piece.endsWith('>')) return { modality: b.modality, code: Number(piece.slice(b.prefix.length + 1, -1)) };
  }
  return { modality: 'text' };
}

/** Word-level "tokenizer": added tokens whole, words with a SentencePiece-style ▁ for a leading space. */
export function simulatedPieces(text: string): string[] {
  const re = /<[^<>\s]{1,16}>|\[(?:Human|MMGPT|AnyGPT)\]|\s*[^\s<[]+|\s+|[<[]/gu;
  return (text.match(re) ?? []).map((p) => p.replace(/^\s+/, (s) => '▁'.repeat(Math.min(1, s.length)) + (s.includes('\n') ? '\n' : '')));
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function spansOf(tokens: TokenRecord[], promptLength: number): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < tokens.length) {
    const role = i < promptLength ? 'prompt' : 'generated';
    const b = BLOCKS.find((x) => x.start === tokens[i].piece);
    if (b) {
      let j = i + 1;
      const codes: number[] = [];
      while (j < tokens.length && tokens[j].piece !== b.end && modalityOf(tokens[j].piece).modality === b.modality && (j < promptLength) === (i < promptLength)) {
        codes.push(modalityOf(tokens[j].piece).code!);
        j++;
      }
      const complete = j < tokens.length && tokens[j].piece === b.end;
      const start = i + 1;
      const idx = spans.length;
      for (let k = start; k < j; k++) tokens[k].span = idx;
      if (b.modality === 'music') {
        const T = Math.floor(codes.length / 4);
        const grid = Array.from({ length: 4 }, (_, q) => Array.from({ length: T }, (_, t) => codes[t * 4 + q] % 2048));
        for (let k = start; k < j; k++) [tokens[k].codebook, tokens[k].frame] = [(k - start) % 4, Math.floor((k - start) / 4)];
        spans.push({ kind: 'music', modality: 'music', start, end: j, codes: grid, role, complete });
      } else spans.push({ kind: b.modality, modality: b.modality, start, end: j, codes, role, complete } as Span);
      i = complete ? j + 1 : j;
      continue;
    }
    let j = i;
    while (j < tokens.length && !BLOCKS.some((x) => x.start === tokens[j].piece) && (j < promptLength) === (i < promptLength)) j++;
    const text = tokens
      .slice(i, j)
      .map((t) => t.piece)
      .join('')
      .replace(/▁/g, ' ');
    const idx = spans.length;
    for (let k = i; k < j; k++) tokens[k].span = idx;
    spans.push({ kind: 'text', modality: 'text', start: i, end: j, text, role });
    i = j;
  }
  return spans;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SimulatedBackend implements Backend {
  private readonly stepMs = Number(process.env.ANYGPT_SIM_STEP_MS ?? 2);

  describeModel(): ModelDescription {
    return { name: 'simulated', hash: 'simulated', dir: '(simulated)', engineVersion: 'simulated', executionProvider: 'cpu', manifest: SIMULATED_MANIFEST, loadMs: 0 };
  }

  private record(pieces: string[], promptLength: number): TokenRecord[] {
    return pieces.map((piece, position) => ({ id: pieceId(piece), piece, position, modality: modalityOf(piece).modality, span: -1 }));
  }

  private base(prompt: string, params: GenerationParams): Generation {
    const pieces = ['<s>', ...simulatedPieces(prompt)];
    if (pieces.length > SIMULATED_MANIFEST.llm.maxPositions) {
      throw new Error(`the prompt is ${pieces.length} tokens; this model's context holds ${SIMULATED_MANIFEST.llm.maxPositions}`);
    }
    const tokens = this.record(pieces, pieces.length);
    return {
      schema: GENERATION_SCHEMA,
      engineVersion: 'simulated',
      model: { name: 'simulated', hash: 'simulated', executionProvider: 'cpu' },
      params,
      logprobSource: 'raw',
      prompt,
      tokens,
      promptLength: tokens.length,
      spans: [],
      text: '',
      stopReason: 'eos',
      // The record's model name says it is simulated; warnings are for things the user should act on.
      warnings: [],
      stats: { loadMs: 0, prefillMs: 0, decodeMs: 0, promptTokens: tokens.length, generatedTokens: 0, tokensPerSecond: 0, stages: {} },
    };
  }

  async tokenize(prompt: string): Promise<Generation> {
    const params: GenerationParams = { ...SIMULATED_MANIFEST.presets.text, seed: 0, constrain: true, preset: 'text' };
    const g = this.base(prompt, params);
    g.spans = spansOf(g.tokens, g.promptLength);
    return g;
  }

  async generate(prompt: string, params: GenerationParams, opts: { signal?: AbortSignal; onEvent?: (e: GenerationEvent) => void }): Promise<Generation> {
    const g = this.base(prompt, params);
    const rand = mulberry32(params.seed);
    const plan: string[] = [];
    const media = (b: (typeof BLOCKS)[number], n: number, mod = b.size) => {
      plan.push(b.start);
      for (let k = 0; k < n; k++) plan.push(`<${b.prefix}${b.modality === 'music' ? (k % 4) * 2048 + Math.floor(rand() * 2048) : Math.floor(rand() * mod)}>`);
      plan.push(b.end);
    };
    if (params.preset === 'image') media(BLOCKS[0], 32);
    else if (params.preset === 'speech') media(BLOCKS[1], 40 + Math.floor(rand() * 20));
    else if (params.preset === 'music') media(BLOCKS[2], 4 * 25);
    else {
      const lastUser = prompt.slice(prompt.lastIndexOf('[Human]:') + 8).replace(/<[^<>]*>/g, ' ').replace(/\[[A-Za-z]+\]:?/g, ' ');
      const words = lastUser.split(/\s+/).filter((w) => /^[\w'?.,!]+$/u.test(w)).slice(0, 8);
      const vocab = ['simulated', 'reply', 'about', ...words, 'and', 'more'];
      const n = 6 + Math.floor(rand() * 6);
      for (let k = 0; k < n; k++) plan.push('▁' + vocab[Math.floor(rand() * vocab.length)]);
    }
    plan.push(params.template === 'anygpt' ? '<eom>' : '<eos>', '</s>');
    const t0 = performance.now();
    g.stopReason = 'eos';
    for (let k = 0; k < plan.length; k++) {
      if (opts.signal?.aborted) {
        g.stopReason = 'aborted';
        break;
      }
      if (k >= params.maxNewTokens) {
        g.stopReason = 'max-new-tokens';
        break;
      }
      const ts = performance.now();
      await sleep(this.stepMs);
      const piece = plan[k];
      const p = 0.2 + 0.7 * rand();
      const tok: TokenRecord = {
        id: pieceId(piece),
        piece,
        position: g.tokens.length,
        modality: modalityOf(piece).modality,
        span: -1,
        generated: true,
        logprob: Math.log(p),
        logprobSampled: Math.log(Math.min(1, p * 1.2)),
        entropy: 1 + rand(),
        top: [{ id: pieceId(piece), piece, prob: p }, { id: 5, piece: '▁the', prob: (1 - p) / 2 }],
        stepMs: performance.now() - ts,
      };
      g.tokens.push(tok);
      opts.onEvent?.({ type: 'token', token: tok });
      if (piece === '</s>') break;
    }
    g.spans = spansOf(g.tokens, g.promptLength);
    g.text = g.spans
      .filter((s): s is Extract<Span, { kind: 'text' }> => s.kind === 'text' && s.role === 'generated')
      .map((s) => s.text)
      .join('')
      .replace(/<eos>|<eom>|<\/s>/g, '')
      .trim();
    const gen = g.tokens.length - g.promptLength;
    const ms = performance.now() - t0;
    g.stats = { ...g.stats, decodeMs: ms, generatedTokens: gen, tokensPerSecond: gen / Math.max(ms / 1000, 1e-6), stages: { decode: ms } };
    return g;
  }

  async encodeMedia(modality: MediaModality, input: MediaInput): Promise<EncodedMedia> {
    // Same contract as the engine: a path is read here (a missing one rejects with Node's ENOENT).
    const bytes = 'path' in input ? new Uint8Array(await readFile(input.path)) : input.bytes;
    const name = 'path' in input ? basename(input.path) : input.name;
    if (modality === 'image') {
      const sig = Buffer.from(bytes.subarray(0, 4)).toString('latin1');
      if (sig !== '\x89PNG' && !(bytes[0] === 0xff && bytes[1] === 0xd8)) throw new Error('not a PNG or JPEG image');
      let h = 0;
      for (let i = 0; i < bytes.length; i += 97) h = (h * 31 + bytes[i]) >>> 0;
      const rand = mulberry32(h);
      return { modality, codes: Array.from({ length: 32 }, () => Math.floor(rand() * 8192)) };
    }
    const pcm = decodeWav(bytes);
    const seconds = pcm.samples.length / pcm.channels / pcm.sampleRate;
    const warnings: string[] = [];
    // As the real codecs do: over-long input keeps the first maxInputSeconds and says so.
    const limit = modality === 'speech' ? SIMULATED_MANIFEST.modalities.speech!.maxInputSeconds : SIMULATED_MANIFEST.modalities.music!.maxInputSeconds;
    if (seconds > limit) warnings.push(`${modality} input ${name ?? ''} is ${seconds.toFixed(1)} s long; kept the first ${limit} s (the model package's limit)`.replace('  ', ' '));
    const frames = Math.max(1, Math.round(Math.min(seconds, limit) * 50));
    const used = Math.min(pcm.samples.length, Math.round((Math.min(seconds, limit) / seconds) * pcm.samples.length));
    const code = (t: number, q = 0) => {
      const i = Math.min(used - 1, Math.floor((t / frames) * used));
      return Math.floor(Math.abs(pcm.samples[i]) * 1000 + q * 7) % (modality === 'speech' ? 1024 : 2048);
    };
    if (modality === 'speech') return { modality, codes: Array.from({ length: frames }, (_, t) => code(t)), warnings };
    return { modality, codes: Array.from({ length: 4 }, (_, q) => Array.from({ length: frames }, (_, t) => code(t, q))), warnings };
  }

  async encodeVoice(input: MediaInput): Promise<VoicePrompt> {
    const r = await this.encodeMedia('speech', input);
    return { kind: 'voice', data: r, warnings: r.warnings };
  }

  async decodeSpan(media: MediaCodes, opts: { voice?: VoicePrompt; signal?: AbortSignal; onProgress?: (p: Progress) => void }): Promise<DecodedMedia> {
    const steps = media.modality === 'image' ? 5 : media.modality === 'speech' ? 3 : 1;
    const stage = media.modality === 'image' ? 'diffusion' : media.modality === 'speech' ? 'soundstorm' : 'music.decode';
    for (let s = 0; s < steps; s++) {
      if (opts.signal?.aborted) throw new AbortError();
      await sleep(this.stepMs);
      opts.onProgress?.({ stage, done: s + 1, total: steps });
    }
    if (media.modality === 'image') {
      const W = 64;
      const rgb = new Uint8Array(W * W * 3);
      for (let y = 0; y < W; y++)
        for (let x = 0; x < W; x++) {
          const c = media.codes[((y >> 4) * 4 + (x >> 4)) % media.codes.length];
          rgb.set([(c * 37) & 255, (c * 91 + x * 2) & 255, (c * 13 + y * 2) & 255], (y * W + x) * 3);
        }
      return { modality: 'image', mime: 'image/png', data: encodePng(W, W, rgb), width: W, height: W };
    }
    const rate = media.modality === 'speech' ? 16000 : 32000;
    const frames: number[] = media.modality === 'music' ? media.codes[0] : media.codes;
    const per = rate / 50;
    const out = new Float32Array(frames.length * per);
    let phase = 0;
    for (let t = 0; t < frames.length; t++) {
      const f = 120 + (frames[t] % 64) * 12;
      for (let i = 0; i < per; i++) {
        phase += (2 * Math.PI * f) / rate;
        out[t * per + i] = 0.3 * Math.sin(phase);
      }
    }
    return { modality: media.modality, mime: 'audio/wav', data: encodeWav(out, rate), sampleRate: rate, durationSec: out.length / rate };
  }

  async close(): Promise<void> {}
}
