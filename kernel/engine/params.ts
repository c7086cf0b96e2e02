/**
 * Resolving request parameters: the output modality's preset from the manifest, then the caller's overrides.
 */
import type { GenerationParams } from '../../common/generation';
import type { Manifest, Modality } from '../../common/manifest';
import { randomSeed } from '../../common/prng';

const MODALITIES: readonly Modality[] = ['text', 'image', 'speech', 'music'];

export function resolveParams(manifest: Manifest, given: Partial<GenerationParams> = {}): GenerationParams {
  const preset = given.preset ?? 'text';
  if (!MODALITIES.includes(preset))
    throw new Error(`params.preset: expected one of ${MODALITIES.join(', ')}, got ${JSON.stringify(preset)}`);
  const p: GenerationParams = {
    ...manifest.presets[preset],
    seed: randomSeed(),
    constrain: true,
    preset,
    ...stripUndefined(given),
  };
  const bad = (field: string, want: string) => {
    throw new Error(
      `params.${field}: expected ${want}, got ${JSON.stringify((p as unknown as Record<string, unknown>)[field])}`,
    );
  };
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) bad('seed', 'an integer in [0, 2^32)');
  if (!Number.isInteger(p.maxNewTokens) || p.maxNewTokens < 1) bad('maxNewTokens', 'a positive integer');
  if (!Number.isInteger(p.minNewTokens) || p.minNewTokens < 0) bad('minNewTokens', 'a non-negative integer');
  if (!Number.isInteger(p.numBeams) || p.numBeams < 1) bad('numBeams', 'a positive integer');
  if (!Number.isInteger(p.topK) || p.topK < 0) bad('topK', 'a non-negative integer (0 = off)');
  if (!(p.topP > 0 && p.topP <= 1)) bad('topP', 'a number in (0, 1]');
  if (!(p.temperature > 0)) bad('temperature', 'a number > 0');
  if (!(p.repetitionPenalty > 0)) bad('repetitionPenalty', 'a number > 0');
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
