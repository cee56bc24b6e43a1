/**
 * The BLAS runtime: host memory (typed arrays, as in {@linkcode HostRuntime}) whose freed
 * arrays go to a {@linkcode HostPool}, the native library loaded with `Deno.dlopen` (needs
 * `--allow-ffi`), and one scratch buffer for the GEMM convolutions.
 *
 * Every BLAS kernel writes its output into an array taken from the pool: a training step then
 * reuses the last step's arrays instead of paying page faults (~2 ms per MB on the dev VM) for
 * ~1 GB of fresh memory (FCN-8s at 224 px). `liveBytes()` still counts live storages only.
 *
 * oneDNN (`./dnnl_ffi.ts`), where it loads and `FCN_DNNL` is not `off`, joins as a second conv
 * engine on the BLAS library's thread count; the conv kernels choose per shape
 * (`lib/kernels/conv/blas/engine.ts`). Its reordered weights are kept per weight array in
 * {@linkcode BlasRuntime.derived} until the array is freed or updated in place.
 *
 * @module
 */
import type { ConvGeom, HostArray, PoolGeom, Storage } from "./backend.ts";
import { type BlasLibrary, loadBlas, type LoadBlasOptions, type Sgemm } from "./blas_ffi.ts";
import { HostPool } from "./blas_pool.ts";
import { Scratch } from "./blas_scratch.ts";
import { type DnnlLibrary, DnnlNotFoundError, loadDnnl, winogradDisabled } from "./dnnl_ffi.ts";
import { HostRuntime, type HostStorage } from "./host.ts";

/** A pass of a convolution. */
export type ConvPass = "forward" | "backwardData" | "backwardWeight";

/** Which engine runs a conv pass: oneDNN or the GEMMs on OpenBLAS. */
export type ConvEngineChoice = (
  g: ConvGeom,
  pass: ConvPass,
  heldInput?: boolean,
) => "dnnl" | "gemm";

/**
 * A layout oneDNN chose for a primitive's output (its blocked `nChw16c`, say), in which an
 * array can stay until something reads it plain: see {@linkcode BlasRuntime.trackBlocked}.
 */
export interface Layout {
  /** Floats an array in this layout holds (padded channels included). */
  readonly floats: number;
  /** Reorders `buffer` (in this layout) into the plain NCHW `plain`. */
  toPlain(buffer: Float32Array, plain: Float32Array): void;
  /** Whether arrays in this layout and in `other` have the same element order. */
  same(other: Layout): boolean;
  /** y = a + b (then ReLU when asked), all three in this layout: a residual join. */
  add(a: Float32Array, b: Float32Array, y: Float32Array, relu: boolean): void;
  /**
   * The max pooling (no indices) of `g` over arrays in this layout, its output held in a layout
   * of its own; null where it cannot run there (the input is then read plain).
   */
  maxPool(g: PoolGeom): HeldPool | null;
  /** Keeps the layout usable while an array is held in it; {@linkcode release} ends that. */
  retain(): void;
  /** The counterpart of {@linkcode retain}. */
  release(): void;
}

/** A max pooling from one held layout into another ({@linkcode Layout.maxPool}). */
export interface HeldPool {
  /** The layout of its outputs. */
  readonly layout: Layout;
  /** Pools `x` (in the source layout) into `y` (`layout.floats` elements). */
  run(x: Float32Array, y: Float32Array): void;
}

/** An array held in a {@linkcode Layout} other than the plain one. */
export interface Blocked {
  /** The elements, in `layout` (as many floats as the layout needs: padded channels too). */
  readonly buffer: Float32Array;
  readonly layout: Layout;
}

/** Options of {@linkcode BlasRuntime.create}. */
export interface BlasRuntimeOptions extends LoadBlasOptions {
  /** Scratch budget of the convolutions' column matrix, in elements (default 16M: 64 MB). */
  scratchElems?: number;
  /** Most bytes of freed arrays kept for reuse (default `POOL_BYTES`, 2 GiB; 0: none). */
  poolBytes?: number;
  /** Use oneDNN for the convs where it loads (default: unless `FCN_DNNL=off`). */
  dnnl?: boolean;
  /** Overrides the per-shape choice of conv engine (to measure one against the other). */
  convEngine?: ConvEngineChoice;
  /** Whose SGEMM the GEMMs call (default oneDNN's where it is loaded, else the BLAS library's). */
  gemm?: "blas" | "dnnl";
  /**
   * Run 3x3 convs as Winograd on oneDNN where it pays (default: unless
   * `FCN_DNNL_WINOGRAD=off`), in every pass. 0.3-0.5x their time, for more memory: FCN-ResNet50's
   * head at 480 px needs a 229 MB scratchpad and its weights 4x as large (144 MB), so an eval
   * forward peaks about 400 MB higher (1088 MiB RSS against 684), FCN-8s/VGG16 at 224 px about
   * 240 MB; FCN-8s/VGG16's training step at 480 px about 230 MB (3029 MiB against 2797).
   */
  winograd?: boolean;
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
  /** The row-major GEMM: oneDNN's where it is loaded, else the BLAS library's. */
  readonly sgemm: Sgemm;
  /** The reused buffer for the convolutions' column matrices and wide outputs. */
  readonly scratch: Scratch;
  /** An f32 output array of `length` elements from the pool (contents undefined). */
  readonly alloc: (length: number) => Float32Array;
  /**
   * The libraries, paths and thread count, e.g. "OpenBLAS 0.3.21 Haswell (libopenblas.so.0) +
   * oneDNN 2.6.3 (libdnnl.so.2) for convolutions and GEMMs, 2 threads", or "...; oneDNN off
   * (FCN_DNNL=off)".
   */
  readonly description: string;
  /** oneDNN, the second conv engine, or null (not found, or turned off). */
  readonly dnnl: DnnlLibrary | null;
  /** Whether 3x3 convs may run as Winograd (see {@linkcode BlasRuntimeOptions}). */
  readonly winograd: boolean;
  /** The choice of conv engine when overridden (else the kernels' per-shape rule). */
  readonly convEngine: ConvEngineChoice | null;
  /**
   * Arrays derived from an array, by key (oneDNN's reordered copy of a weight per conv shape):
   * dropped, their arrays pooled, when the array is freed or updated in place ({@linkcode changed}).
   */
  readonly derived = new WeakMap<Float32Array, Map<unknown, Float32Array>>();
  /** Storages already freed: a second free must not pool their array again. */
  #freed = new WeakSet<Storage>();
  /**
   * Storages whose elements are still in a oneDNN layout ({@linkcode trackBlocked}): the oneDNN
   * kernels read them as they are, anything else through `.data`, which reorders them first.
   */
  readonly blocked = new WeakMap<Storage, Blocked>();

  /** Wraps a loaded library (and oneDNN, or why not); prefer {@linkcode BlasRuntime.create}. */
  constructor(
    library: BlasLibrary,
    options:
      & Pick<BlasRuntimeOptions, "scratchElems" | "poolBytes" | "convEngine" | "gemm" | "winograd">
      & {
        dnnl?: DnnlLibrary | string;
      } = {},
  ) {
    super();
    this.library = library;
    this.pool = new HostPool(options.poolBytes);
    this.scratch = new Scratch(options.scratchElems);
    this.alloc = (n) => this.pool.f32(n);
    this.dnnl = typeof options.dnnl === "object" ? options.dnnl : null;
    const dnnlGemm = this.dnnl !== null && options.gemm !== "blas";
    this.sgemm = dnnlGemm ? this.dnnl!.sgemm : library.sgemm;
    this.convEngine = options.convEngine ?? null;
    this.winograd = options.winograd ?? !winogradDisabled();
    const threads = library.threads === null
      ? "its default thread count"
      : `${library.threads} thread${library.threads === 1 ? "" : "s"}`;
    const dnnl = this.dnnl ? this.dnnl.description.replace(/, \d+ threads?$/, "") : null;
    this.description = `${library.name} (${library.path})` +
      (dnnl
        ? ` + ${dnnl} for convolutions${dnnlGemm ? " and GEMMs" : ""}, ${threads}`
        : `, ${threads}; ${typeof options.dnnl === "string" ? options.dnnl : "oneDNN not used"}`);
  }

  /**
   * Loads the BLAS library (FCN_BLAS, else OpenBLAS / Accelerate / libblas where the system
   * keeps them), and oneDNN where it loads; throws `BlasNotFoundError` saying what to install.
   */
  static create(options: BlasRuntimeOptions = {}): BlasRuntime {
    const library = loadBlas(options);
    return new BlasRuntime(library, { ...options, dnnl: openDnnl(library, options.dnnl) });
  }

  /** Drops the scratch buffer and the pool; the libraries stay loaded for the process. */
  override destroy(): void {
    this.scratch.release();
    this.pool.clear();
  }

  /**
   * A storage of `length` f32 elements held in `blocked.layout`: its `data` (what every kernel
   * but oneDNN's reads) is the plain array, made by a reorder on first read, when the blocked
   * buffer goes back to the pool. A conv whose input is such a storage in its own source layout
   * skips both reorders between the two primitives.
   *
   * @example Read a blocked storage plain
   * ```ts ignore
   * const s = rt.trackBlocked(n, { buffer, layout }); // no plain array yet
   * f32of(s); // reorders into a pooled array of n floats, once
   * ```
   */
  trackBlocked(length: number, blocked: Blocked): HostStorage {
    this.count(length * 4);
    blocked.layout.retain();
    const s = { length, dtype: "f32" } as HostStorage;
    Object.defineProperty(s, "data", {
      configurable: true,
      enumerable: true,
      get: () => this.#settle(s),
    });
    this.blocked.set(s, blocked);
    return s;
  }

  /** Reorders a blocked storage into a plain array, which becomes its `data`. */
  #settle(s: HostStorage): Float32Array {
    const b = this.blocked.get(s);
    if (!b) throw new Error("blas: a storage lost its elements (read after free?)");
    const plain = this.pool.f32(s.length);
    b.layout.toPlain(b.buffer, plain);
    this.#unblock(s, b);
    Object.defineProperty(s, "data", { value: plain, enumerable: true });
    return plain;
  }

  /** Forgets a storage's blocked buffer, which goes back to the pool. */
  #unblock(s: Storage, b: Blocked): void {
    this.blocked.delete(s);
    this.pool.put(b.buffer);
    b.layout.release();
  }

  /** Frees the storage and keeps its array for reuse (once, however often it is freed). */
  override free(s: Storage): void {
    if (this.#freed.has(s)) return;
    super.free(s);
    this.#freed.add(s);
    const b = this.blocked.get(s);
    if (b) return this.#unblock(s, b);
    const data = (s as HostStorage).data;
    if (data instanceof Float32Array) this.changed(data);
    this.pool.put(data);
  }

  /** Says that `data` was freed or written in place: what was derived from it goes. */
  changed(data: Float32Array): void {
    const derived = this.derived.get(data);
    if (!derived) return;
    this.derived.delete(data);
    for (const d of derived.values()) if (d !== data) this.pool.put(d);
  }

  /** A copy of `data` in a pooled array. */
  override upload(data: HostArray): Storage {
    const a = this.pool.array(data instanceof Int32Array ? "i32" : "f32", data.length);
    a.set(data);
    return this.track(a);
  }
}

/** oneDNN on the BLAS library's threads, or why it is not used (for the description). */
function openDnnl(library: BlasLibrary, wanted = true): DnnlLibrary | string {
  if (!wanted) return "oneDNN not used";
  try {
    return loadDnnl({ threads: library.threads ?? undefined });
  } catch (e) {
    if (!(e instanceof DnnlNotFoundError)) throw e;
    return e.tried.length === 1 && e.tried[0].startsWith("FCN_DNNL=")
      ? `oneDNN off (${e.tried[0]})`
      : "no oneDNN (libdnnl.so.2 not found)";
  }
}
