/**
 * Default sampling from the settings, handed to the kernel once after start as `%config key=value …`
 * (the kernel's own persistent defaults), so notebooks stay the single source of per-cell overrides.
 */
export interface SamplingDefaults {
  temperature?: number | null;
  topK?: number | null;
  topP?: number | null;
  repetitionPenalty?: number | null;
  maxNewTokens?: number | null;
  seed?: number | null;
}

const KEYS: [keyof SamplingDefaults, string][] = [
  ['temperature', 'temperature'],
  ['topK', 'top_k'],
  ['topP', 'top_p'],
  ['repetitionPenalty', 'repetition_penalty'],
  ['maxNewTokens', 'max_new_tokens'],
  ['seed', 'seed'],
];

export function configMagic(d: SamplingDefaults): string {
  const parts = KEYS.filter(([k]) => typeof d[k] === 'number' && Number.isFinite(d[k])).map(
    ([k, name]) => `${name}=${d[k]}`,
  );
  return parts.length ? `%config ${parts.join(' ')}` : '';
}
