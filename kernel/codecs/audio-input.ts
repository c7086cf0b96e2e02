/**
 * WAV → mono float samples at a component's rate, with the length limit and channel policy applied.
 *
 * Channel policy (docs/codecs.md): speech input takes channel 0, as upstream's `encode_speech` does;
 * voice prompts and music average all channels (upstream averages voice prompts only when there are
 * exactly two channels, and always averages music). Over-long input keeps the first `maxSeconds`
 * (upstream crops music at a random offset; we want the same cell to give the same tokens) and says so
 * in a warning. Only the kept frames are read from the source.
 */
import { ANONYMOUS, type ByteSource } from './byte-source';
import { MediaError } from './errors';
import { resample } from './resample';
import { describeSeconds, parseWavHeader, readWavFrames } from './wav-io';

export type ChannelPolicy = 'first' | 'average';

export interface AudioRequest {
  /** For messages: "speech input", "voice prompt", "music input". */
  label: string;
  targetRate: number;
  maxSeconds: number;
  channels: ChannelPolicy;
  /** Shortest accepted result in samples at targetRate (e.g. one codec frame). */
  minSamples: number;
}

export interface AudioInput {
  samples: Float32Array;
  sampleRate: number;
  /** Duration of the source before trimming. */
  sourceSeconds: number;
  warnings: string[];
}

export function readAudio(src: ByteSource, req: AudioRequest): AudioInput {
  const info = parseWavHeader(src);
  const warnings = [...info.warnings];
  const who = src.name === ANONYMOUS ? `the ${req.label}` : `${req.label} ${src.name}`;
  const sourceSeconds = info.frames / info.sampleRate;
  let frames = info.frames;
  const maxFrames = Math.floor(req.maxSeconds * info.sampleRate);
  if (frames > maxFrames) {
    frames = maxFrames;
    warnings.push(
      `${who} is ${describeSeconds(sourceSeconds)} long; kept the first ${describeSeconds(req.maxSeconds)} (the model package's limit)`,
    );
  }
  const chans = readWavFrames(src, info, 0, frames);
  let mono: Float32Array;
  if (chans.length === 1 || req.channels === 'first') mono = chans[0];
  else {
    mono = new Float32Array(frames);
    for (const c of chans) for (let i = 0; i < frames; i++) mono[i] += c[i];
    for (let i = 0; i < frames; i++) mono[i] /= chans.length;
  }
  const samples = resample(mono, info.sampleRate, req.targetRate);
  if (samples.length < req.minSamples)
    throw new MediaError(
      `${who} is too short: ${describeSeconds(sourceSeconds)}; at least ${describeSeconds(req.minSamples / req.targetRate)} is needed to make one token`,
      'invalid-samples',
    );
  return { samples, sampleRate: req.targetRate, sourceSeconds, warnings };
}
