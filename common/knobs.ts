/**
 * The sampling knobs, in one table: each knob's cell name (`%top_p`, `%config top_p=…`), CLI flag
 * (`--top-p`), key (CellSettings, GenerationParams and the VS Code `anygpt.defaultSampling` setting use
 * the same camelCase name), range and help. The prompt parser, `%config`, `%help`, the kernel's settings
 * merge, the CLI, the extension's defaults and the engine's per-modality presets all derive from it.
 *
 * A knob's range is checked where its value is written (a cell magic, `%config`, a CLI flag), so a value
 * the engine would refuse fails there with a located message.
 */
import type { SamplingPreset } from './manifest';

export interface KnobRange {
  min: number;
  max: number;
  /** The range is (min, max]: min itself is refused (top_p 0 keeps no token at all). */
  minExclusive?: boolean;
}

export interface Knob {
  /** `%name` in a cell, `name=value` in `%config`. */
  name: string;
  /** CellSettings field, GenerationParams field and `anygpt.defaultSampling` key. */
  key: 'seed' | 'temperature' | 'topK' | 'topP' | 'repetitionPenalty' | 'maxNewTokens' | 'numBeams';
  /** `anygpt generate --flag`. */
  flag: string;
  kind: 'int' | 'float';
  range: KnobRange;
  /** What the value stands for in usage lines: `%top_p P`, `--top-p P`. */
  placeholder: string;
  help: string;
  /** A VS Code setting under `anygpt.defaultSampling` (handed to the kernel as `%config`). */
  vscodeSetting: boolean;
  /**
   * Part of a modality's sampling preset: with constrained decoding, the engine switches it to the preset
   * of the modality whose span is being written.
   */
  perModality: boolean;
}

export const KNOBS = [
  {
    name: 'seed',
    key: 'seed',
    flag: 'seed',
    kind: 'int',
    range: { min: 0, max: 2 ** 31 - 1 },
    placeholder: 'N',
    help: 'Sampling seed for this cell. Without it a seed is derived from the notebook seed and the cell text, and recorded.',
    vscodeSetting: true,
    perModality: false,
  },
  {
    name: 'temperature',
    key: 'temperature',
    flag: 'temperature',
    kind: 'float',
    range: { min: 0, max: 10 },
    placeholder: 'T',
    help: 'Softmax temperature (0 = greedy).',
    vscodeSetting: true,
    perModality: true,
  },
  {
    name: 'top_k',
    key: 'topK',
    flag: 'top-k',
    kind: 'int',
    range: { min: 0, max: 1_000_000 },
    placeholder: 'K',
    help: 'Keep the K most likely tokens (0 = off).',
    vscodeSetting: true,
    perModality: true,
  },
  {
    name: 'top_p',
    key: 'topP',
    flag: 'top-p',
    kind: 'float',
    range: { min: 0, max: 1, minExclusive: true },
    placeholder: 'P',
    help: 'Nucleus sampling mass (1 = off).',
    vscodeSetting: true,
    perModality: true,
  },
  {
    name: 'repetition_penalty',
    key: 'repetitionPenalty',
    flag: 'repetition-penalty',
    kind: 'float',
    range: { min: 0.01, max: 10 },
    placeholder: 'R',
    help: 'HF-style repetition penalty (1 = off).',
    vscodeSetting: true,
    perModality: true,
  },
  {
    name: 'max_new_tokens',
    key: 'maxNewTokens',
    flag: 'max-new-tokens',
    kind: 'int',
    range: { min: 1, max: 100_000 },
    placeholder: 'N',
    help: 'Stop after N generated tokens.',
    vscodeSetting: true,
    perModality: false,
  },
  {
    name: 'beams',
    key: 'numBeams',
    flag: 'beams',
    kind: 'int',
    range: { min: 1, max: 16 },
    placeholder: 'N',
    help: 'Beam search width (1 = sampling).',
    vscodeSetting: false,
    perModality: false,
  },
] as const satisfies readonly Knob[];

export type KnobName = (typeof KNOBS)[number]['name'];
export type KnobKey = Knob['key'];

/**
 * The GenerationParams fields a modality preset sets when constrained decoding enters that modality's span:
 * the per-modality knobs, and `doSample` (greedy or not), which no knob sets directly.
 */
export const PER_MODALITY_FIELDS: readonly (keyof SamplingPreset)[] = [
  'doSample',
  ...(KNOBS as readonly Knob[]).filter((k) => k.perModality).map((k) => k.key as keyof SamplingPreset),
];

/** "[0, 10]" or "(0, 1]". */
export function formatRange(r: KnobRange): string {
  return `${r.minExclusive ? '(' : '['}${r.min}, ${r.max}]`;
}

/** Why `n` is not a value of `knob` ("needs a whole number, got 2.5", "2 is out of range (0, 1]"); undefined when it is. */
export function knobValueProblem(
  knob: Pick<Knob, 'kind' | 'range'>,
  n: number,
  written = String(n),
): string | undefined {
  if (!Number.isFinite(n)) return `"${written}" is not a number`;
  if (knob.kind === 'int' && !Number.isInteger(n)) return `needs a whole number, got ${written}`;
  const r: KnobRange = knob.range;
  if (n < r.min || n > r.max || (r.minExclusive && n === r.min)) return `${written} is out of range ${formatRange(r)}`;
  return undefined;
}
