/** "Show Tokens of Cell": a plain-text table of a Generation, for reading, diffing and copying. */
import type { Generation } from '../../common/generation';

export function tokenTable(g: Generation): string {
  const head = [
    `# ${g.model?.name ?? 'model'} \u00b7 seed ${g.params?.seed} \u00b7 ${g.tokens.length} tokens (${g.promptLength} prompt) \u00b7 stop: ${g.stopReason}`,
    `# log p columns: raw = model distribution; sampled = distribution sampled from (after penalties, constraints, temperature, top-k/p)`,
    '',
    `${'pos'.padStart(5)} ${'id'.padStart(7)}  ${'modality'.padEnd(8)} ${'span'.padStart(4)}  ${'log p raw'.padStart(9)} ${'sampled'.padStart(8)} ${'entropy'.padStart(7)}  piece`,
  ];
  const rows = g.tokens.map((t) => {
    const f = (x: number | undefined, w: number) => (x === undefined ? '' : x.toFixed(3)).padStart(w);
    const music = t.codebook !== undefined ? ` [q${t.codebook} f${t.frame}]` : '';
    return `${String(t.position).padStart(5)} ${String(t.id).padStart(7)}  ${t.modality.padEnd(8)} ${String(t.span).padStart(4)}  ${f(t.logprob, 9)} ${f(t.logprobSampled, 8)} ${f(t.entropy, 7)}  ${JSON.stringify(t.piece)}${music}${t.generated ? '' : '  (prompt)'}`;
  });
  return [...head, ...rows, ''].join('\n');
}
