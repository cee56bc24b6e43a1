/**
 * A pool of freed typed arrays for the BLAS backend, keyed by element type and exact length.
 *
 * A training step allocates the same shapes every time: activations, their gradients and the
 * parameters' gradients (the 4096 x 512 x 7 x 7 of fc6 alone is 411 MB). Fresh typed arrays
 * cost a page fault and a zeroing per 4 KiB on first touch, and the freed ones linger until
 * the garbage collector finds them; handing a freed array to the next storage of the same
 * length avoids both. Arrays come back with their old contents: kernels that take them must
 * write every element.
 *
 * Only sizes that were asked for are kept, and no more idle arrays of a size than the pool had
 * to allocate afresh for it (the most of them ever needed at once, give or take): arrays
 * of sizes made only by kernels that allocate their own outputs are left to the garbage
 * collector instead of piling up. The pool holds at most `capacity` bytes; past it, the sizes
 * least recently returned are dropped.
 *
 * @module
 */
import type { DType, HostArray } from "./backend.ts";

/** Default capacity: 2 GiB of idle arrays (FCN-ResNet50 at 480 px frees 1.6 GB per forward). */
export const POOL_BYTES = 2 ** 31;

/**
 * Freed typed arrays by dtype and length, reused by later allocations of the same size.
 *
 * @example Reuse a returned array
 * ```ts
 * import { HostPool } from "./blas_pool.ts";
 * import { assert } from "../../tests/assert.ts";
 *
 * const pool = new HostPool();
 * const a = pool.f32(1024); // fresh: the pool had none of this size
 * pool.put(a); // its storage was freed
 * assert(pool.f32(1024) === a); // handed out again, old contents and all
 * ```
 */
export class HostPool {
  /** Most bytes of idle arrays kept. */
  readonly capacity: number;
  /** Idle arrays per `dtype:length`, in the order their size was last returned (oldest first). */
  #idle = new Map<string, HostArray[]>();
  /** Arrays allocated afresh per `dtype:length`: the most idle ones the pool keeps. */
  #made = new Map<string, number>();
  #bytes = 0;

  /** A pool keeping at most `capacity` bytes of idle arrays (0: keeps nothing). */
  constructor(capacity: number = POOL_BYTES) {
    if (!(capacity >= 0)) {
      throw new RangeError(`Expected a pool capacity >= 0 bytes but found ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** Bytes of idle arrays held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** An f32 array of `length` elements, contents undefined (a pooled one when there is one). */
  f32(length: number): Float32Array {
    return (this.#take("f32", length) as Float32Array | undefined) ?? new Float32Array(length);
  }

  /** An i32 array of `length` elements, contents undefined. */
  i32(length: number): Int32Array {
    return (this.#take("i32", length) as Int32Array | undefined) ?? new Int32Array(length);
  }

  /** An array of `dtype` and `length` elements, contents undefined. */
  array(dtype: DType, length: number): HostArray {
    return dtype === "i32" ? this.i32(length) : this.f32(length);
  }

  /**
   * An array of `dtype` and `length` elements set to `value`: a fresh array needs no pass for 0
   * (its pages are zeroed as they are first touched).
   */
  filled(dtype: DType, length: number, value: number): HostArray {
    const data = this.#take(dtype, length);
    if (data !== undefined) return data.fill(value);
    const fresh = dtype === "i32" ? new Int32Array(length) : new Float32Array(length);
    return Object.is(value, 0) ? fresh : fresh.fill(value);
  }

  /**
   * Keeps `data` for reuse. The caller guarantees that nothing else references it any more
   * (the backend returns an array once, when its storage is freed).
   */
  put(data: HostArray): void {
    const bytes = data.byteLength;
    if (bytes === 0 || bytes > this.capacity) return;
    const key = keyOf(data instanceof Int32Array ? "i32" : "f32", data.length);
    const list = this.#idle.get(key) ?? [];
    if (list.length >= (this.#made.get(key) ?? 0)) return;
    // Re-insert the key so that the map's order is the order sizes were last returned.
    this.#idle.delete(key);
    list.push(data);
    this.#idle.set(key, list);
    this.#bytes += bytes;
    this.#shrink();
  }

  /** Drops every idle array and forgets the sizes asked for. */
  clear(): void {
    this.#idle.clear();
    this.#made.clear();
    this.#bytes = 0;
  }

  #take(dtype: DType, length: number): HostArray | undefined {
    if (length === 0) return undefined;
    const key = keyOf(dtype, length);
    const list = this.#idle.get(key);
    const data = list?.pop();
    if (data === undefined) {
      this.#made.set(key, (this.#made.get(key) ?? 0) + 1);
      return undefined;
    }
    if (list!.length === 0) this.#idle.delete(key);
    this.#bytes -= data.byteLength;
    return data;
  }

  /** Drops the least recently returned sizes until the pool fits its capacity. */
  #shrink(): void {
    for (const [key, list] of this.#idle) {
      if (this.#bytes <= this.capacity) return;
      while (list.length > 0 && this.#bytes > this.capacity) {
        this.#bytes -= list.shift()!.byteLength;
      }
      if (list.length === 0) this.#idle.delete(key);
    }
  }
}

function keyOf(dtype: DType, length: number): string {
  return `${dtype}:${length}`;
}
