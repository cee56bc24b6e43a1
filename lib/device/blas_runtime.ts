/**
 * The BLAS runtime: host memory (typed arrays, as in {@linkcode HostRuntime}) whose freed
 * arrays go to a {@linkcode HostPool}, the native library loaded with `Deno.dlopen` (needs
 * `--allow-ffi`), and one scratch buffer for the GEMM convolutions.
 *
 * Every BLAS kernel writes its output into an array taken from the pool: a training step then
 * reuses the last step's arrays instead of paying page faults (~2 ms per MB on the dev VM) for
 * ~1 GB of fresh memory (FCN-8s at 224 px). `liveBytes()` still counts live storages only.
 *
 * @module
 */
import type { HostArray, Storage } from "./backend.ts";
import { type BlasLibrary, loadBlas, type LoadBlasOptions, type Sgemm } from "./blas_ffi.ts";
import { HostPool } from "./blas_pool.ts";
import { Scratch } from "./blas_scratch.ts";
import { HostRuntime, type HostStorage } from "./host.ts";

/** Options of {@linkcode BlasRuntime.create}. */
export interface BlasRuntimeOptions extends LoadBlasOptions {
  /** Scratch budget of the convolutions' column matrix, in elements (default 16M: 64 MB). */
  scratchElems?: number;
  /** Most bytes of freed arrays kept for reuse (default `POOL_BYTES`, 2 GiB; 0: none). */
  poolBytes?: number;
}

/**
 * Host memory with a pool of freed arrays, and the native BLAS library.
 *
 * @example Pooled arrays
 * ```ts ignore
 * import { BlasRuntime } from "./blas_runtime.ts";
 *
 * const rt = BlasRuntime.create(); // needs --allow-ffi and a BLAS library
 * const s = rt.fill(4, "f32", 1);
 * rt.free(s); // its array goes to rt.pool for the next storage of 4 floats
 * ```
 */
export class BlasRuntime extends HostRuntime {
  /** The native library and its settings. */
  readonly library: BlasLibrary;
  /** Freed arrays awaiting reuse. */
  readonly pool: HostPool;
  /** The library's row-major GEMM. */
  readonly sgemm: Sgemm;
  /** The reused buffer for the convolutions' column matrices and wide outputs. */
  readonly scratch: Scratch;
  /** An f32 output array of `length` elements from the pool (contents undefined). */
  readonly alloc: (length: number) => Float32Array;
  /** The library, its path and thread count, e.g. "OpenBLAS 0.3.21 SkylakeX (...), 16 threads". */
  readonly description: string;
  /** Storages already freed: a second free must not pool their array again. */
  #freed = new WeakSet<Storage>();

  /** Wraps a loaded library; prefer {@linkcode BlasRuntime.create}. */
  constructor(library: BlasLibrary, scratchElems?: number, poolBytes?: number) {
    super();
    this.library = library;
    this.pool = new HostPool(poolBytes);
    this.sgemm = library.sgemm;
    this.scratch = new Scratch(scratchElems);
    this.alloc = (n) => this.pool.f32(n);
    const threads = library.threads === null
      ? "its default thread count"
      : `${library.threads} thread${library.threads === 1 ? "" : "s"}`;
    this.description = `${library.name} (${library.path}), ${threads}`;
  }

  /**
   * Loads the BLAS library (FCN_BLAS, else OpenBLAS / Accelerate / libblas where the system
   * keeps them); throws `BlasNotFoundError` saying what to install.
   */
  static create(options: BlasRuntimeOptions = {}): BlasRuntime {
    return new BlasRuntime(loadBlas(options), options.scratchElems, options.poolBytes);
  }

  /** Drops the scratch buffer and the pool; the library stays loaded for the process. */
  override destroy(): void {
    this.scratch.release();
    this.pool.clear();
  }

  /** Frees the storage and keeps its array for reuse (once, however often it is freed). */
  override free(s: Storage): void {
    super.free(s);
    if (this.#freed.has(s)) return;
    this.#freed.add(s);
    this.pool.put((s as HostStorage).data);
  }

  /** A copy of `data` in a pooled array. */
  override upload(data: HostArray): Storage {
    const a = this.pool.array(data instanceof Int32Array ? "i32" : "f32", data.length);
    a.set(data);
    return this.track(a);
  }
}
