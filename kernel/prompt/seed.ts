/**
 * The per-cell seed when a cell has no %seed: a pure function of the notebook seed and the cell's source,
 * so re-running, Run All, nbclient and VS Code all reproduce it (cell ids differ between clients, so
 * they are deliberately not part of the hash).
 */

/** cyrb53: a fast, well-mixed 53-bit string hash; we keep 31 bits so the seed fits every sampler. */
function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function cellSeed(notebookSeed: number, source: string): number {
  // Normalise line endings and trailing space so a saved-and-reloaded cell keeps its seed.
  const norm = source.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
  return hash53(norm, notebookSeed) % 2147483647;
}
