/**
 * What the cell status bar says about a generation, read from the kernel's `metadata.anygpt`
 * (common/outputs.ts OutputMetadata) so the big token payload never has to be parsed.
 */
import type { OutputStatsMetadata } from '../../common/output-payloads';

export interface CellStats {
  text: string;
  tooltip: string;
}

type Meta = Partial<OutputStatsMetadata> & { timings?: Record<string, number>; task?: string };

/** Pick the richest `anygpt` metadata among a cell's outputs (the one with the most tokens). */
export function findStats(outputMetadata: readonly (Record<string, unknown> | undefined)[]): Meta | undefined {
  let best: Meta | undefined;
  for (const md of outputMetadata) {
    const inner = (md?.metadata as Record<string, unknown> | undefined)?.anygpt as Meta | undefined;
    if (!inner || typeof inner !== 'object') continue;
    const n = (inner.generatedTokens ?? 0) + (inner.promptTokens ?? 0);
    if (!best || n >= (best.generatedTokens ?? 0) + (best.promptTokens ?? 0)) best = inner;
  }
  return best;
}

export function formatStats(
  m: Meta,
  t: (s: string, ...args: (string | number)[]) => string = fallbackT,
): CellStats | undefined {
  if (!m.model) return undefined;
  const parts: string[] = [];
  if (m.generatedTokens) parts.push(t('{0} tok/s', (m.tokensPerSecond ?? 0).toFixed(1)));
  const total = (m.promptTokens ?? 0) + (m.generatedTokens ?? 0);
  if (total) parts.push(t('{0} tokens', total.toLocaleString('en-US')));
  if (m.seed !== undefined) parts.push(t('seed {0}', m.seed));
  parts.push(m.model);
  const tip = [
    t('Model: {0} ({1})', m.model, m.executionProvider ?? '?'),
    t('Prompt tokens: {0}, generated: {1}', m.promptTokens ?? 0, m.generatedTokens ?? 0),
    m.stopReason ? t('Stop reason: {0}', m.stopReason) : '',
    m.timings
      ? t(
          'Timings (ms): {0}',
          Object.entries(m.timings)
            .map(([k, v]) => `${k} ${Math.round(v)}`)
            .join(', '),
        )
      : '',
  ].filter(Boolean);
  return { text: `$(pulse) ${parts.join(' \u00b7 ')}`, tooltip: tip.join('\n') };
}

function fallbackT(s: string, ...args: (string | number)[]): string {
  return s.replace(/\{(\d+)\}/g, (_, i) => String(args[Number(i)]));
}
