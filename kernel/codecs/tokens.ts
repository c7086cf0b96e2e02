/**
 * Raw tokens → the codes of one media span, for `%decode` and the token inspector.
 *
 * Accepts a token string ("<sosp><🗣️12><🗣️7><eosp>"), an array of token strings, or an array of numbers.
 * Numbers are vocabulary ids when `ids` gives the modality's block (the engine knows it from the
 * tokenizer), otherwise they are taken as code values. Start/end tags are optional. Every problem names the
 * offending token by its index in the input, its text or id, and what the span accepts.
 */
import type { Manifest, MediaModality, TokenBlockSpec } from '../../common/manifest';
import { MediaError } from './errors';
import { unflattenMusic } from './music-codes';

export type RawTokens = string | readonly (number | string)[];

/** Vocabulary ids of a modality block: id(<prefix k>) = base + k; optional tag ids. */
export interface TokenIdBlock {
  base: number;
  start?: number;
  end?: number;
}

export interface ParseTokensOptions {
  /** The expected modality; otherwise taken from the start tag or the first code token. */
  modality?: MediaModality;
  ids?: Partial<Record<MediaModality, TokenIdBlock>>;
  /** How to read numbers (default: 'ids' when `ids` is given, else 'codes'). */
  numbers?: 'ids' | 'codes';
}

export type ParsedSpan =
  | { modality: 'image' | 'speech'; codes: number[]; warnings: string[] }
  | { modality: 'music'; codes: number[][]; warnings: string[] };

type Classified =
  { kind: 'code'; modality: MediaModality; value: number } | { kind: 'start' | 'end'; modality: MediaModality };

const NAMES: Record<MediaModality, string> = { image: 'an image', speech: 'a speech', music: 'a music' };

export function parseTokens(
  input: RawTokens,
  modalities: Manifest['modalities'],
  opts: ParseTokensOptions = {},
): ParsedSpan {
  const items = typeof input === 'string' ? splitTokenString(input) : [...input];
  const numbers = opts.numbers ?? (opts.ids ? 'ids' : 'codes');
  const blocks = (Object.keys(modalities) as MediaModality[])
    .filter((m) => modalities[m])
    .map((m) => [m, modalities[m]!.tokens] as const);
  if (items.length === 0) throw new MediaError('no tokens to decode: the input is empty', 'empty');

  const describe = (i: number) => {
    const it = items[i];
    return typeof it === 'number' ? `token ${i} (id ${it})` : `token ${i} (${it})`;
  };
  const classify = (i: number): Classified | undefined => {
    const it = items[i];
    if (typeof it === 'string') {
      for (const [m, b] of blocks) {
        if (it === b.start) return { kind: 'start', modality: m };
        if (it === b.end) return { kind: 'end', modality: m };
        const body = it.startsWith(`<${b.prefix}`) && it.endsWith('>') ? it.slice(b.prefix.length + 1, -1) : undefined;
        if (body !== undefined && /^\d+$/.test(body)) return { kind: 'code', modality: m, value: Number(body) };
      }
      if (/^\d+$/.test(it.trim())) return classifyNumber(Number(it.trim()));
      return undefined;
    }
    return classifyNumber(it);
  };
  const classifyNumber = (n: number): Classified | undefined => {
    if (!Number.isInteger(n) || n < 0) return undefined;
    if (numbers === 'codes') {
      const m = opts.modality;
      return m ? { kind: 'code', modality: m, value: n } : undefined;
    }
    for (const [m, b] of blocks) {
      const ids = opts.ids?.[m];
      if (!ids) continue;
      if (n === ids.start) return { kind: 'start', modality: m };
      if (n === ids.end) return { kind: 'end', modality: m };
      if (n >= ids.base && n < ids.base + b.size) return { kind: 'code', modality: m, value: n - ids.base };
    }
    return undefined;
  };

  const classified = items.map((_, i) => classify(i));
  let modality = opts.modality;
  if (!modality) {
    const first = classified.find((c) => c !== undefined);
    if (!first)
      throw new MediaError(
        numbers === 'codes' && items.every((x) => typeof x === 'number' || /^\s*\d+\s*$/.test(String(x)))
          ? 'plain numbers are code values, so the modality must be given (e.g. %decode speech …)'
          : `${describe(0)} is not a media token of this model`,
        'invalid-tokens',
      );
    modality = first.modality;
  }
  const spec = modalities[modality];
  if (!spec)
    throw new MediaError(
      `this model package has no ${modality} codec, so ${modality} tokens cannot be decoded`,
      'invalid-tokens',
    );
  const accepts = acceptsText(spec.tokens);

  const warnings: string[] = [];
  const values: number[] = [];
  let ended = false;
  for (let i = 0; i < items.length; i++) {
    const c = classified[i];
    if (!c)
      throw new MediaError(
        `${describe(i)} is not a media token; ${NAMES[modality]} span accepts ${accepts}`,
        'invalid-tokens',
      );
    if (c.modality !== modality)
      throw new MediaError(
        `${describe(i)} is ${NAMES[c.modality]} token, but this is ${NAMES[modality]} span; it accepts ${accepts}`,
        'invalid-tokens',
      );
    if (ended) throw new MediaError(`${describe(i)} comes after the end tag ${spec.tokens.end}`, 'invalid-tokens');
    if (c.kind === 'start') {
      if (i !== 0)
        throw new MediaError(
          `${describe(i)}: the start tag ${spec.tokens.start} may only open the span`,
          'invalid-tokens',
        );
      continue;
    }
    if (c.kind === 'end') {
      ended = true;
      continue;
    }
    if (c.kind !== 'code') continue;
    if (c.value >= spec.tokens.size)
      throw new MediaError(
        `${describe(i)} has code ${c.value}; ${NAMES[modality]} span accepts ${accepts}`,
        'invalid-tokens',
      );
    values.push(c.value);
  }
  if (classified[0]?.kind === 'start' && !ended)
    warnings.push(
      `the ${modality} span has no end tag ${spec.tokens.end}; decoded the ${values.length} tokens present`,
    );
  if (values.length === 0) throw new MediaError(`the ${modality} span holds no code tokens`, 'empty');

  if (modality === 'music') {
    const m = modalities.music!;
    const r = unflattenMusic(values, m.numCodebooks, m.codebookSize);
    return { modality, codes: r.codes, warnings: [...warnings, ...r.warnings] };
  }
  return { modality, codes: values, warnings };
}

function acceptsText(b: TokenBlockSpec): string {
  return `${b.start}, <${b.prefix}0> … <${b.prefix}${b.size - 1}>, ${b.end}`;
}

/** "<soim><👀1> <👀2>…" → ["<soim>", "<👀1>", "<👀2>", …]; plain numbers between tokens are kept as items. */
export function splitTokenString(s: string): string[] {
  const out: string[] = [];
  const re = /<[^<>\s]*>|[^\s<>,]+/g;
  for (const m of s.matchAll(re)) out.push(m[0]);
  return out;
}
