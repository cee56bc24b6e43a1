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
