/**
 * Seeded random numbers for the parts of decoding that need noise: unCLIP initial latents and the
 * embedding noise, SoundStorm's gumbel draws.
 *
 * Algorithm (documented so results can be reproduced elsewhere): the seed (any finite number; its integer
 * part modulo 2^64 is used) is expanded with splitmix32 into the 128-bit state of xoshiro128**.
 * uniform() builds a 53-bit double in (0,1) from two outputs. normal() is Box-Muller using both values of
 * each pair. gumbel() = -log(-log(u)). Upstream uses torch.randn, whose stream we cannot reproduce: the same
 * seed gives the same media here, not the same media as upstream.
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    const int = BigInt.asUintN(64, BigInt(Math.trunc(seed)));
    let x = Number(int & 0xffffffffn) ^ Math.imul(Number(int >> 32n), 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      // splitmix32
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** xoshiro128**: next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** Uniform in the open interval (0,1), 53 bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b + 0.5) / 9007199254740992;
  }

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const th = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  gumbel(): number {
    return -Math.log(-Math.log(this.uniform()));
  }

  normals(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
