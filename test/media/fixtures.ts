/**
 * Synthetic Generation records and audio outputs for renderer tests, screenshots and the bench.
 * Deterministic (seeded), shaped like what the engine emits: prompt tokens, role tags, media spans
 * with start/end tags outside the span, per-step log-probs and top-5 alternatives.
 */
import { GENERATION_SCHEMA, type Generation, type Span, type TokenRecord } from '../../common/generation';
import type { Modality } from '../../common/manifest';
import { AUDIO_SCHEMA, type AudioOutput } from '../../common/output-payloads';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 4294967296;
}

const WORDS = [
  '▁a',
  '▁cat',
  '▁sits',
  '▁on',
  '▁the',
  '▁mat',
  '.',
  '▁It',
  '▁is',
  '▁warm',
  '▁and',
  '▁quiet',
  ',',
  '▁then',
  '▁sings',
  '▁softly',
  '<0x0A>',
];

export interface FixtureOptions {
  /** Generated text tokens after the media (default 24). */
  textTokens?: number;
  image?: boolean;
  speechFrames?: number;
  musicFrames?: number;
  /** Extra pieces injected into the generated text (XSS and UTF-8 cases). */
  pieces?: string[];
  seed?: number;
}

export function makeGeneration(opts: FixtureOptions = {}): Generation {
  const rand = rng(opts.seed ?? 7);
  const tokens: TokenRecord[] = [];
  const spans: Span[] = [];
  let generated = false;
  const push = (id: number, piece: string, modality: Modality, span: number, extra: Partial<TokenRecord> = {}) => {
    const t: TokenRecord = { id, piece, position: tokens.length, modality, span, ...extra };
    if (generated) {
      const lp = -Math.pow(rand(), 2.2) * 6;
      t.generated = true;
      t.logprob = lp;
      t.logprobSampled = Math.min(0, lp + 0.4);
      t.entropy = 0.2 + rand() * 3;
      t.stepMs = 8 + rand() * 6;
      const p0 = Math.exp(lp);
      const rest = [0.5, 0.25, 0.12, 0.06].map((f) => f * (1 - p0));
      t.top = [
        { id, piece, prob: p0 },
        ...rest.map((p, k) => ({ id: id + k + 1, piece: WORDS[(id + k + 1) % WORDS.length], prob: p })),
      ].sort((a, b) => b.prob - a.prob);
    }
    tokens.push(t);
  };
  const text = (pieces: string[], role: 'prompt' | 'generated') => {
    const start = tokens.length;
    const spanIndex = spans.length;
    for (const p of pieces) push(100 + WORDS.indexOf(p) + (WORDS.indexOf(p) < 0 ? 500 : 0), p, 'text', spanIndex);
    spans.push({
      kind: 'text',
      modality: 'text',
      start,
      end: tokens.length,
      text: pieces.join('').replace(/▁/g, ' '),
      role,
    });
  };
  const media = (
    kind: 'image' | 'speech' | 'music',
    n: number,
    tags: [string, string],
    prefix: string,
    base: number,
  ) => {
    const role = generated ? 'generated' : 'prompt';
    push(2, tags[0], 'text', -1);
    const start = tokens.length;
    const spanIndex = spans.length;
    if (kind === 'music') {
      const codes: number[][] = [[], [], [], []];
      for (let f = 0; f < n; f++)
        for (let q = 0; q < 4; q++) {
          const code = Math.floor((Math.sin(f / 9 + q) * 0.5 + 0.5) * 2047 * (0.6 + 0.4 * rand()));
          codes[q].push(code);
          push(base + code + q * 2048, `<${prefix}${code + q * 2048}>`, 'music', spanIndex, { codebook: q, frame: f });
        }
      spans.push({ kind: 'music', modality: 'music', start, end: tokens.length, codes, role, complete: true });
    } else {
      const codes: number[] = [];
      for (let k = 0; k < n; k++) {
        const code = Math.floor(rand() * (kind === 'image' ? 8192 : 1024));
        codes.push(code);
        push(base + code, `<${prefix}${code}>`, kind, spanIndex);
      }
      spans.push(
        kind === 'image'
          ? { kind: 'image', modality: 'image', start, end: tokens.length, codes, role, complete: true }
          : { kind: 'speech', modality: 'speech', start, end: tokens.length, codes, role, complete: true },
      );
    }
    push(3, tags[1], 'text', -1);
  };
  push(1, '<s>', 'text', -1);
  push(4, '[Human]', 'text', -1);
  push(5, ':', 'text', -1);
  text(['▁Describe', '▁this', '▁and', '▁sing', '▁it', ':'], 'prompt');
  if (opts.image) media('image', 32, ['<soim>', '<eoim>'], '👀', 10000);
  push(6, '<eoh>', 'text', -1);
  push(7, '[AnyGPT]', 'text', -1);
  push(5, ':', 'text', -1);
  const promptLength = tokens.length;
  generated = true;
  const words: string[] = [];
  for (let k = 0; k < (opts.textTokens ?? 24); k++) words.push(WORDS[Math.floor(rand() * WORDS.length)]);
  if (opts.pieces) words.splice(3, 0, ...opts.pieces);
  text(words, 'generated');
  if (opts.speechFrames) media('speech', opts.speechFrames, ['<sosp>', '<eosp>'], '🗣️', 20000);
  if (opts.musicFrames) media('music', opts.musicFrames, ['<somu>', '<eomu>'], '🎶', 30000);
  push(8, '<eos>', 'text', -1);
  const generatedTokens = tokens.length - promptLength;
  return {
    schema: GENERATION_SCHEMA,
    engineVersion: '0.1.0',
    model: { name: 'anygpt-nano', hash: 'f00dfeed'.repeat(8), executionProvider: 'cpu' },
    params: {
      seed: 1234,
      constrain: true,
      preset: 'text',
      doSample: true,
      temperature: 0.8,
      topK: 200,
      topP: 1,
      repetitionPenalty: 1.05,
      maxNewTokens: 2000,
      minNewTokens: 0,
      numBeams: 1,
    },
    logprobSource: 'raw',
    prompt: 'Describe this and sing it:',
    tokens,
    promptLength,
    spans,
    text: words.join('').replace(/▁/g, ' '),
    stopReason: 'eos',
    warnings: [],
    stats: {
      loadMs: 120,
      prefillMs: 14,
      decodeMs: generatedTokens * 11,
      promptTokens: promptLength,
      generatedTokens,
      tokensPerSecond: 1000 / 11,
      stages: {},
    },
  };
}

/** A 16-bit PCM mono WAV of a voice-like signal (gliding harmonics with syllable envelopes) or a chord progression. */
export function makeWav(kind: 'speech' | 'music', seconds: number, sampleRate: number): Buffer {
  const n = Math.round(seconds * sampleRate);
  const pcm = Buffer.alloc(44 + n * 2);
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    let s: number;
    if (kind === 'speech') {
      const f0 = 140 + 40 * Math.sin(2 * Math.PI * 0.7 * t);
      const env = Math.max(0, Math.sin(2 * Math.PI * 3.1 * t)) ** 1.5;
      s =
        env *
        (0.5 * Math.sin(2 * Math.PI * f0 * t) +
          0.25 * Math.sin(4 * Math.PI * f0 * t) +
          0.12 * Math.sin(6 * Math.PI * f0 * t + 1));
    } else {
      const chord = [
        [220, 277, 330],
        [196, 247, 294],
        [175, 220, 262],
        [196, 247, 311],
      ][Math.floor(t / 1.5) % 4];
      const env = 0.6 + 0.4 * Math.exp(-((t % 0.5) * 6));
      s = env * chord.reduce((a, f) => a + Math.sin(2 * Math.PI * f * t) / 4, 0);
    }
    pcm.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 30000), 44 + i * 2);
  }
  pcm.write('RIFF', 0);
  pcm.writeUInt32LE(36 + n * 2, 4);
  pcm.write('WAVE', 8);
  pcm.write('fmt ', 12);
  pcm.writeUInt32LE(16, 16);
  pcm.writeUInt16LE(1, 20);
  pcm.writeUInt16LE(1, 22);
  pcm.writeUInt32LE(sampleRate, 24);
  pcm.writeUInt32LE(sampleRate * 2, 28);
  pcm.writeUInt16LE(2, 32);
  pcm.writeUInt16LE(16, 34);
  pcm.write('data', 36);
  pcm.writeUInt32LE(n * 2, 40);
  return pcm;
}

/** The audio output for the speech or music span of a fixture Generation. */
export function makeAudio(
  gen: Generation,
  modality: 'speech' | 'music',
  sampleRate = modality === 'speech' ? 16000 : 32000,
): AudioOutput {
  const spanIndex = gen.spans.findIndex((s) => s.kind === modality);
  const span = gen.spans[spanIndex];
  if (!span || span.kind === 'text' || span.kind === 'image') throw new Error(`fixture has no ${modality} span`);
  const frames = span.kind === 'music' ? span.codes[0].length : span.codes.length;
  const seconds = frames / 50;
  return {
    schema: AUDIO_SCHEMA,
    modality,
    wav: makeWav(modality, seconds, sampleRate).toString('base64'),
    sampleRate,
    durationSec: seconds,
    frameRate: 50,
    codes: span.codes,
    codebookSize: modality === 'speech' ? 1024 : 2048,
    spans: [{ span: spanIndex, tokenStart: span.start, tokenEnd: span.end, startSec: 0, endSec: seconds }],
    fileName: `${modality}.wav`,
  };
}
