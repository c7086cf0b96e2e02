/**
 * Checks a saved rich output before a renderer draws it. A notebook from someone else can hold anything under
 * our MIME types (hand edits, other tools, truncated files), and the renderers index into these records freely,
 * so each is checked once, here, for what the renderers read; a failure is an OutputFormatError naming the first
 * wrong field ("tokens[3].piece: expected a string, got null"), which the renderer shows instead of the output.
 *
 * The checked record is a copy: optional numbers saved as null (JSON has no -Infinity or NaN) are dropped, so
 * renderers only ever see a number or nothing.
 */
import type { Generation, Span, TokenRecord } from './generation';
import type { AudioOutput, AudioTokenSpan } from './output-payloads';

export class OutputFormatError extends Error {
  override name = 'OutputFormatError';
}

type Obj = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return v.length > 40 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return typeof v === 'object' ? 'an object' : typeof v;
}

function fail(path: string, expected: string, got: unknown): never {
  throw new OutputFormatError(`${path}: expected ${expected}, got ${describe(got)}`);
}

function obj(v: unknown, path: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  return v as Obj;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'an array', v);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'a string', v);
  return v;
}

function num(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(path, 'a finite number', v);
  return v;
}

function int(v: unknown, path: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    fail(path, `an integer${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}`, v);
  return v;
}

function oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v))
    fail(path, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
  return v as T;
}

/** An optional number: absent, null (dropped) or finite. */
function optNum(o: Obj, key: string, path: string, out: Obj): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  out[key] = num(v, `${path}.${key}`);
}

function optStr(o: Obj, key: string, path: string, out: Obj): void {
  const v = o[key];
  if (v === undefined || v === null) return;
  out[key] = str(v, `${path}.${key}`);
}

function ints(v: unknown, path: string): number[] {
  const a = arr(v, path);
  for (let i = 0; i < a.length; i++) int(a[i], `${path}[${i}]`);
  return a as number[];
}

const MODALITIES = ['text', 'image', 'speech', 'music'] as const;
const ROLES = ['prompt', 'generated'] as const;

function checkSpan(v: unknown, path: string): Span {
  const s = obj(v, path);
  const kind = oneOf(s.kind, `${path}.kind`, MODALITIES);
  const start = int(s.start, `${path}.start`, 0);
  const end = int(s.end, `${path}.end`, start - 1);
  const role = oneOf(s.role, `${path}.role`, ROLES);
  if (kind === 'text') return { kind, modality: 'text', start, end, role, text: str(s.text ?? '', `${path}.text`) };
  const complete = s.complete === undefined ? true : s.complete;
  if (typeof complete !== 'boolean') fail(`${path}.complete`, 'true or false', complete);
  if (kind === 'music') {
    const codes = arr(s.codes, `${path}.codes`).map((row, q) => ints(row, `${path}.codes[${q}]`));
    return { kind, modality: kind, start, end, role, complete, codes };
  }
  return { kind, modality: kind, start, end, role, complete, codes: ints(s.codes, `${path}.codes`) } as Span;
}

function checkToken(v: unknown, path: string, spans: number): TokenRecord {
  const t = obj(v, path);
  const out: Obj = {
    id: int(t.id, `${path}.id`, 0),
    piece: str(t.piece, `${path}.piece`),
    position: int(t.position, `${path}.position`, 0),
    modality: oneOf(t.modality, `${path}.modality`, MODALITIES),
    span: int(t.span, `${path}.span`, -1, spans - 1),
  };
  for (const k of ['codebook', 'frame']) if (t[k] !== undefined && t[k] !== null) out[k] = int(t[k], `${path}.${k}`, 0);
  if (t.generated !== undefined && t.generated !== null) {
    if (t.generated !== true) fail(`${path}.generated`, 'true', t.generated);
    out.generated = true;
  }
  for (const k of ['logprob', 'logprobSampled', 'entropy', 'stepMs']) optNum(t, k, path, out);
  if (t.top !== undefined && t.top !== null)
    out.top = arr(t.top, `${path}.top`).map((a, i) => {
      const p = `${path}.top[${i}]`;
      const x = obj(a, p);
      return { id: int(x.id, `${p}.id`, 0), piece: str(x.piece, `${p}.piece`), prob: num(x.prob, `${p}.prob`) };
    });
  return out as unknown as TokenRecord;
}

/** A tokens output (`application/vnd.anygpt.tokens+json`) → a Generation the token inspector can draw. */
export function checkGeneration(v: unknown): Generation {
  const g = obj(v, 'record');
  const spans = arr(g.spans, 'spans').map((s, i) => checkSpan(s, `spans[${i}]`));
  const tokens = arr(g.tokens, 'tokens').map((t, i) => checkToken(t, `tokens[${i}]`, spans.length));
  const out: Obj = { ...g, tokens, spans };
  out.promptLength = int(g.promptLength ?? 0, 'promptLength', 0, tokens.length);
  if (g.stopReason !== undefined && g.stopReason !== null) out.stopReason = str(g.stopReason, 'stopReason');
  else delete out.stopReason;
  if (g.model !== undefined && g.model !== null) {
    const m = obj(g.model, 'model');
    const mo: Obj = {};
    for (const k of ['name', 'hash', 'executionProvider']) optStr(m, k, 'model', mo);
    out.model = mo;
  } else delete out.model;
  if (g.params !== undefined && g.params !== null) out.params = obj(g.params, 'params');
  else delete out.params;
  if (g.stats !== undefined && g.stats !== null) {
    const st = obj(g.stats, 'stats');
    out.stats = { ...st, tokensPerSecond: num(st.tokensPerSecond ?? 0, 'stats.tokensPerSecond') };
  } else delete out.stats;
  return out as unknown as Generation;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** An audio output (`application/vnd.anygpt.audio+json`) → an AudioOutput the audio renderer can play. */
export function checkAudioOutput(v: unknown): AudioOutput {
  const a = obj(v, 'record');
  const modality = oneOf(a.modality, 'modality', ['speech', 'music'] as const);
  const wav = str(a.wav, 'wav').replace(/\s+/g, '');
  if (!wav.length || wav.length % 4 !== 0 || !BASE64.test(wav)) fail('wav', 'a base64 WAV file', a.wav);
  const sampleRate = num(a.sampleRate, 'sampleRate');
  if (sampleRate <= 0) fail('sampleRate', 'a positive number', sampleRate);
  const durationSec = num(a.durationSec ?? 0, 'durationSec');
  if (durationSec < 0) fail('durationSec', 'a number ≥ 0', durationSec);
  const frameRate = num(a.frameRate ?? 50, 'frameRate');
  if (frameRate <= 0) fail('frameRate', 'a positive number', frameRate);
  const spans = arr(a.spans ?? [], 'spans').map((s, i): AudioTokenSpan => {
    const p = `spans[${i}]`;
    const x = obj(s, p);
    return {
      span: int(x.span, `${p}.span`, 0),
      tokenStart: int(x.tokenStart, `${p}.tokenStart`, 0),
      tokenEnd: int(x.tokenEnd, `${p}.tokenEnd`, 0),
      startSec: num(x.startSec, `${p}.startSec`),
      endSec: num(x.endSec, `${p}.endSec`),
    };
  });
  const out: Obj = { ...a, modality, wav, sampleRate, durationSec, frameRate, spans };
  if (a.codes !== undefined && a.codes !== null) {
    out.codes =
      modality === 'music' ? arr(a.codes, 'codes').map((row, q) => ints(row, `codes[${q}]`)) : ints(a.codes, 'codes');
  } else delete out.codes;
  if (a.codebookSize !== undefined && a.codebookSize !== null)
    out.codebookSize = int(a.codebookSize, 'codebookSize', 1);
  else delete out.codebookSize;
  for (const k of ['fileName', 'generationId']) {
    delete out[k];
    optStr(a, k, 'record', out);
  }
  if (a.envelope !== undefined && a.envelope !== null)
    out.envelope = arr(a.envelope, 'envelope').map((x, i) => num(x, `envelope[${i}]`));
  else delete out.envelope;
  return out as unknown as AudioOutput;
}
