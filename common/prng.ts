/**
 * The one seeded PRNG of the project: xoshiro128** (Blackman & Vigna, 2018), 128-bit state, period 2^128 − 1.
 * The engine samples tokens with it; the codecs draw unCLIP latents and SoundStorm's gumbel noise with it.
 * Documented exactly so a notebook's seed can be replayed elsewhere.
 *
 * Seeding: the 32-bit unsigned seed is expanded into the four state words by splitmix32
 * (z += 0x9E3779B9; z = (z ^ z>>>16)·0x21F0AAAD; z = (z ^ z>>>15)·0x735A2D97; z ^= z>>>15).
 * uniform() takes two outputs and builds a 53-bit double in [0, 1): ((a >>> 5)·2^26 + (b >>> 6)) / 2^53.
 * normal() is Box–Muller over two uniforms (1 − u keeps the log finite) and hands out both values of a pair;
 * gumbel() = −log(−log(u)) with u moved into (0, 1).
 * Everything uses 32-bit integer ops (Math.imul), so the same seed gives the same stream on every platform.
 */
export class Xoshiro128 {
  private s = new Uint32Array(4);
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    let z = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x21f0aaad);
      t = Math.imul(t ^ (t >>> 15), 0x735a2d97);
      this.s[i] = (t ^ (t >>> 15)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1; // all-zero state is a fixed point
  }

  /** Next 32-bit output. */
  next(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.next() >>> 5;
    const b = this.next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }

  /** Standard Gumbel noise. */
  gumbel(): number {
    const u = (this.uniform() * 9007199254740991 + 0.5) / 9007199254740992; // (0, 1): both logs finite
    return -Math.log(-Math.log(u));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A fresh random seed, for when the caller gives none (it is recorded in the Generation). */
export function randomSeed(): number {
  return (Math.random() * 0x100000000) >>> 0;
}
