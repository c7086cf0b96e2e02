/**
 * Default sampling from the settings, handed to the kernel once after start as `%config key=value …`
 * (the kernel's own persistent defaults), so notebooks stay the single source of per-cell overrides.
 * The setting keys (`anygpt.defaultSampling.topK`, …) and the `%config` names come from the knob table.
 */
import { KNOBS, type KnobKey } from '../../common/knobs';

export type SamplingDefaults = { [K in KnobKey]?: number | null };

/** The knobs the settings offer: setting key → `%config` name. */
const SETTINGS = KNOBS.filter((k) => k.vscodeSetting);

export function configMagic(d: SamplingDefaults): string {
  const parts = SETTINGS.filter((k) => typeof d[k.key] === 'number' && Number.isFinite(d[k.key])).map(
    (k) => `${k.name}=${d[k.key]}`,
  );
  return parts.length ? `%config ${parts.join(' ')}` : '';
}
