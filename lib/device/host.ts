/**
 * The host runtime of the CPU backends: storages are typed arrays in this process's memory.
 * The reference backend uses it as is; the BLAS runtime adds a pool of freed arrays.
 *
 * @module
 */
import type { HostArray, Storage } from "./backend.ts";

/** A storage of the CPU backends: a typed array. */
export interface HostStorage extends Storage {
  /** The elements. */
  readonly data: HostArray;
}

/** Wraps a typed array as a storage. */
export function wrap(data: HostArray): HostStorage {
  return { length: data.length, dtype: data instanceof Int32Array ? "i32" : "f32", data };
}

/** The typed array of an f32 storage. */
export function f32of(s: Storage): Float32Array {
  return (s as HostStorage).data as Float32Array;
}

/** The typed array of an i32 storage. */
export function i32of(s: Storage): Int32Array {
  return (s as HostStorage).data as Int32Array;
}

/** The host array behind a storage argument named `K`: i32 for class targets and max indices. */
type HostArrayOf<K> = K extends "target" | "idx" ? Int32Array : Float32Array;

/**
 * A kernel's arguments as the host loops take them (`OnHost<KernelArgs["crossEntropy"]>`):
 * every storage replaced by its typed array, `Int32Array` for the i32 ones (`target`, `idx`),
 * `Float32Array` for the rest; every other field as it is.
 */
export type OnHost<A> = {
  [K in keyof A]: A[K] extends Storage ? HostArrayOf<K>
    : A[K] extends Storage | null ? HostArrayOf<K> | null
    : A[K];
};

/**
 * A kernel's arguments with every host storage replaced by its typed array (see
 * {@linkcode OnHost}): what the reference and BLAS loops take.
 *
 * @example Unwrap the storages
 * ```ts
 * import { onHost, wrap } from "./host.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const x = new Float32Array([1, 2]);
 * const a = onHost({ x: wrap(x), alpha: 2, beta: 0 });
 * assertEquals(a.x, x);
 * assertEquals(a.alpha, 2);
 * ```
 */
export function onHost<A extends object>(args: A): OnHost<A> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = v !== null && typeof v === "object" && "data" in v ? (v as HostStorage).data : v;
  }
  return out as OnHost<A>;
}

/**
 * Host memory: uploads copy, reads copy, and `liveBytes()` counts the storages not yet freed.
 *
 * @example Track an array
 * ```ts
 * import { f32of, HostRuntime } from "./host.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const rt = new HostRuntime();
 * const s = rt.track(new Float32Array([1, 2]));
 * assertEquals(rt.liveBytes(), 8);
 * assertEquals(f32of(s)[1], 2);
 * rt.free(s);
 * assertEquals(rt.liveBytes(), 0);
 * ```
 */
export class HostRuntime {
  #live = 0;

  /** Wraps an array the kernels made as a tracked storage. */
  track(data: HostArray): HostStorage {
    this.#live += data.length * 4;
    return wrap(data);
  }

  /** Counts `bytes` more (or fewer) as live: for storages made without {@linkcode track}. */
  protected count(bytes: number): void {
    this.#live += bytes;
  }

  /** A copy of `data`. */
  upload(data: HostArray): Storage {
    return this.track(data.slice());
  }

  /** A copy of the storage's elements. */
  read(s: Storage): Promise<HostArray> {
    return Promise.resolve((s as HostStorage).data.slice());
  }

  /** A copy of the storage's elements, at once (host kernels have already run). */
  readSync(s: Storage): HostArray {
    return (s as HostStorage).data.slice();
  }

  /** Runs `fn` on the storages' data at once (see `Backend.hostCall`). */
  hostCall(
    inputs: Storage[],
    lengths: number[],
    fn: (data: HostArray[]) => Float32Array[],
  ): Storage[] {
    const results = fn(inputs.map((s) => this.readSync(s)));
    results.forEach((r, i) => {
      if (r.length !== lengths[i]) {
        throw new RangeError(
          `hostCall: result ${i} has ${r.length} elements but ${lengths[i]} were expected`,
        );
      }
    });
    return results.map((r) => this.track(r));
  }

  /** Stops counting the storage (the garbage collector takes its array). */
  free(s: Storage): void {
    this.#live -= s.length * 4;
  }

  /** Nothing to wait for: host kernels run when called. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  /** Bytes held by storages not yet freed. */
  liveBytes(): number {
    return this.#live;
  }

  /** Nothing to release. */
  destroy(): void {}
}
