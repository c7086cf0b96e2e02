/** Text measurements for the nano scorecard: normalisation, word errors, caption attributes. */

/** Lower case, punctuation dropped, whitespace collapsed ("Five five." → "five five"). */
export function normalise(s: string): string {
  return s
    .toLowerCase()
    .replace(/[.,!?;:"]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function words(s: string): string[] {
  const n = normalise(s);
  return n ? n.split(' ') : [];
}

/** Levenshtein distance over words: substitutions + deletions + insertions. */
export function wordErrors(hyp: string, ref: string): { errors: number; refWords: number } {
  const h = words(hyp);
  const r = words(ref);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return { errors: prev[h.length], refWords: r.length };
}

/** Corpus word accuracy: 1 − Σ errors / Σ reference words (insertions count), floored at 0. */
export function wordAccuracy(pairs: { hyp: string; ref: string }[]): number {
  let e = 0;
  let n = 0;
  for (const p of pairs) {
    const w = wordErrors(p.hyp, p.ref);
    e += w.errors;
    n += w.refWords;
  }
  return n ? Math.max(0, 1 - e / n) : 0;
}

export interface ObjectAttributes {
  shape: string;
  colour: string;
  size: string;
  position: string;
}

const POSITION_PHRASES: Record<string, string> = {
  'on the left': 'left',
  'on the right': 'right',
  'at the top': 'top',
  'at the bottom': 'bottom',
  'in the center': 'center',
};

/** "a big red circle on the left" → attributes; undefined unless the whole text is exactly one such caption. */
export function parseCaption(text: string): ObjectAttributes | undefined {
  const m =
    /^an? (small|big) (\w+) (circle|square|triangle|cross) (on the left|on the right|at the top|at the bottom|in the center)$/.exec(
      normalise(text),
    );
  if (!m) return undefined;
  return { size: m[1], colour: m[2], shape: m[3], position: POSITION_PHRASES[m[4]] };
}
