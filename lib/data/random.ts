/**
 * A small seeded PRNG for data order: xoshiro128** 1.1 (Blackman and Vigna, 2018,
 * https://prng.di.unimi.it/xoshiro128starstar.c). It uses only 32-bit integer arithmetic
 * (`Math.imul`, shifts), so a seed gives the same numbers on every platform and Node version, unlike
 * `Math.random`, which cannot be seeded.
 */
import * as v from '../validate.js';

/**
 * Chris Wellons' "lowbias32" integer hash (hash-prospector): a bijection on 32-bit integers with
 * good avalanche, used to spread a seed over the generator state.
 */
function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

const TWO_32 = 2 ** 32;

/**
 * A deterministic random number generator. `new Random(seed, stream)` for different `stream`s (say,
 * epochs) gives unrelated sequences from the same seed. With `h` = lowbias32, `a = h(seed)` and
 * `b = h(stream ^ 0x9e3779b9)`, the state is `[a, h(a ^ b), h(a ^ 0x7f4a7c15), b]`: one-to-one in
 * (seed, stream), never all zero, and the first output (which xoshiro takes from the second word)
 * depends on both.
 *
 * @example
 * ```ts
 * const rng = new Random(42, 0);
 * rng.nextUint32(); // the same value on every machine
 * rng.shuffle([1, 2, 3, 4]);
 * ```
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream = 0) {
    v.integer('seed', seed, { min: 0, max: 0xffffffff });
    v.integer('stream', stream, { min: 0, max: 0xffffffff });
    const a = lowbias32(seed);
    const b = lowbias32((stream ^ 0x9e3779b9) >>> 0);
    this.s0 = a;
    this.s1 = lowbias32((a ^ b) >>> 0);
    this.s2 = lowbias32((a ^ 0x7f4a7c15) >>> 0);
    this.s3 = b;
  }

  /** The next integer in [0, 2^32). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / TWO_32;
  }

  /** An integer in [0, n), unbiased (rejection sampling), for 1 <= n <= 2^32. */
  below(n: number): number {
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<T>(array: T[]): T[] {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }
}
