/**
 * The one seeded random number generator of the project (mulberry32), used for weight init,
 * dropout seeds, augmentation, shuffling, the synthetic dataset and the tests' inputs, a hash
 * that derives independent seeds from `(seed, epoch, index)` tuples, and the per-sample seeds
 * of augmentation and dropout in training ({@linkcode sampleSeed}).
 *
 * @module
 */

/**
 * Mulberry32: 32 bits of state, period 2^32, fast and good enough for initialisation,
 * augmentation and shuffling. The state can be read and restored for an exact resume.
 *
 * @example Save and restore the state
 * ```ts
 * import { Rng } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const rng = new Rng(42);
 * rng.next();
 * const saved = rng.state;
 * const a = [rng.next(), rng.next()];
 * rng.state = saved;
 * assertEquals([rng.next(), rng.next()], a);
 * ```
 */
export class Rng {
  #s: number;
  #spare: number | null = null;

  /** Starts the generator from `seed` (any number; only its low 32 bits count). */
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }

  /**
   * The generator state, an unsigned 32-bit integer (a pending second value of
   * {@linkcode Rng.normal} is not part of it).
   */
  get state(): number {
    return this.#s;
  }

  /** Restores a state read from {@linkcode Rng.state}. */
  set state(s: number) {
    this.#s = s >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }

  /** A uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0)) {
      throw new RangeError(`Expected n to be an integer greater than 0 but found ${n}`);
    }
    return Math.floor(this.next() * n);
  }

  /**
   * A standard normal value (Box-Muller; the second value of each pair is kept for the next
   * call).
   *
   * @example
   * ```ts
   * import { Rng } from "@x/fcn";
   * import { assert } from "../tests/assert.ts";
   *
   * const rng = new Rng(1);
   * const xs = Array.from({ length: 1000 }, () => rng.normal());
   * assert(Math.abs(xs.reduce((a, b) => a + b) / xs.length) < 0.1);
   * ```
   */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const a = 2 * Math.PI * this.next();
    this.#spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

/**
 * Hashes integers into one 32-bit seed (murmur3-style mixing), so that `(seed, epoch, i)` gives
 * each sample of each epoch its own independent stream.
 *
 * @example
 * ```ts
 * import { deriveSeed } from "./random.ts";
 * import { assert } from "../tests/assert.ts";
 *
 * assert(deriveSeed(1, 0, 5) === deriveSeed(1, 0, 5));
 * assert(deriveSeed(1, 0, 5) !== deriveSeed(1, 1, 5));
 * ```
 */
export function deriveSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    let k = Math.imul(p >>> 0, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= parts.length;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The random streams of one sample in one epoch: its augmentation and its dropout masks. */
export type SampleStream = "augment" | "dropout";

const STREAM_IDS: Record<SampleStream, number> = { augment: 0, dropout: 1 };

/**
 * The seed of sample `index`'s draws of `stream` in epoch `epoch` of a run seeded `seed`:
 * `deriveSeed(seed, epoch, index, stream)`. A sample's augmentation and dropout masks depend on
 * these three numbers only, not on the batch it lands in, the batches run before in the process,
 * the loader's workers or the process (a data-parallel rank draws what one process would).
 *
 * @example
 * ```ts
 * import { deriveSeed, sampleSeed } from "./random.ts";
 * import { assert } from "../tests/assert.ts";
 *
 * assert(sampleSeed(1, 2, 30, "augment") === deriveSeed(1, 2, 30, 0));
 * assert(sampleSeed(1, 2, 30, "augment") !== sampleSeed(1, 2, 30, "dropout"));
 * ```
 */
export function sampleSeed(
  seed: number,
  epoch: number,
  index: number,
  stream: SampleStream,
): number {
  return deriveSeed(seed, epoch, index, STREAM_IDS[stream]);
}
