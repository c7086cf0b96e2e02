/**
 * A small model knows a small world. When a package declares it (manifest `world`, nano does), the kernel names
 * the words of a prompt that lie outside it instead of letting the model fail silently, and completion offers
 * the words it knows. A package without a world (the real AnyGPT) gets no warnings.
 */
import type { WorldSpec, WorldVocabulary } from '../../common/manifest';

const WORD = /[a-z0-9#]+/g;
const OTHER = 'other words';
/** More unknown words than this in one cell are counted, not listed one by one. */
const MAX_LISTED = 3;

/** The words of a text, lower-cased: letters, digits and '#' (note names like C#4). */
export function worldWords(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

function vocabularyFor(world: WorldSpec | undefined, task: string): WorldVocabulary | undefined {
  return world && Object.hasOwn(world.tasks, task) ? world.tasks[task as keyof WorldSpec['tasks']] : undefined;
}

/** One warning per unknown word of `text` (at most a few, then a count); none when the package declares no world. */
export function unknownWordWarnings(
  modelName: string,
  world: WorldSpec | undefined,
  task: string,
  text: string,
): string[] {
  const vocab = vocabularyFor(world, task);
  if (!vocab) return [];
  const known = knownWords(vocab);
  const words = worldWords(text);
  const unknown = new Map<string, string>(); // word → the word before it
  words.forEach((w, i) => {
    if (!known.has(w) && !unknown.has(w)) unknown.set(w, i ? words[i - 1] : '^');
  });
  let listedAll = false;
  const warnings = [...unknown].slice(0, MAX_LISTED).map(([w, before]) => {
    const typo = nearestWord(w, known);
    if (typo) return `${modelName} does not know '${w}' (did you mean '${typo}'?)`;
    const classes = classesAfter(vocab, before);
    if (!classes.length && listedAll) return `${modelName} does not know '${w}'`;
    listedAll ||= !classes.length;
    const shown = classes.length ? classes : Object.keys(vocab.classes).filter((k) => k !== OTHER);
    return `${modelName} does not know '${w}'; ${shown.map((k) => `${k} it knows: ${listWords(vocab.classes[k])}`).join('; ')}`;
  });
  if (unknown.size > MAX_LISTED)
    warnings.push(`${modelName} does not know ${unknown.size - MAX_LISTED} more word(s) of this prompt`);
  return warnings;
}

/** A class's words for a message; long classes (24 notes) show their ends and a count. */
function listWords(words: string[]): string {
  return words.length <= 10
    ? words.join(', ')
    : `${words.slice(0, 4).join(', ')}, …, ${words.at(-1)} (${words.length})`;
}

/** Lower-cased word → the word as training wrote it. */
function knownWords(vocab: WorldVocabulary): Map<string, string> {
  return new Map(Object.values(vocab.classes).flatMap((ws) => ws.map((w) => [w.toLowerCase(), w] as const)));
}

/** The classes (other than filler words) whose words followed `before` in training: where an unknown word stands. */
function classesAfter(vocab: WorldVocabulary, before: string): string[] {
  return Object.keys(vocab.classes).filter((k) => k !== OTHER && (vocab.after[k] ?? []).includes(before));
}

/**
 * A known word one edit away (two from 7 letters on), as a typo fix; words under 4 letters get none ("on" is not
 * a typo of "an"). Undefined when nothing is that close.
 */
function nearestWord(word: string, known: Map<string, string>): string | undefined {
  if (word.length < 4) return undefined;
  const limit = word.length < 7 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const [lower, written] of known) {
    const d = editDistance(word, lower, bestDistance);
    if (d < bestDistance) [best, bestDistance] = [written, d];
  }
  return best;
}

/** Levenshtein distance, stopping early once every path exceeds `cap`. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    if (Math.min(...row) > cap) return cap + 1;
    prev = row;
  }
  return prev[b.length];
}

/** Completions for a word being typed in a prompt cell: the task's known words starting with `prefix`. */
export function worldCompletions(world: WorldSpec | undefined, task: string, prefix: string): string[] {
  const vocab = vocabularyFor(world, task);
  if (!vocab) return [];
  const p = prefix.toLowerCase();
  return [...knownWords(vocab)]
    .filter(([lower]) => lower.startsWith(p) && lower !== p)
    .map(([, w]) => w)
    .sort();
}
