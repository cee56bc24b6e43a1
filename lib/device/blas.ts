/**
 * The BLAS backend: host memory (typed arrays, as in {@linkcode CpuBackend}), convolutions and
 * matrix products through a native BLAS `sgemm` loaded with `Deno.dlopen` (needs
 * `--allow-ffi`). The memory-bound kernels are the TypeScript ones, with branch-free ReLUs,
 * an unrolled 2x2 max pool and plane-wise batch norm loops where those measured faster than
 * the reference loops.
 *
 * Importing this module registers the backend with `requestDevice({ backend: "blas" })`.
 *
 * @module
 */
import type { BackendKind, ConvGeom, Planes, PoolGeom, Storage } from "./backend.ts";
import { type BlasLibrary, loadBlas, type LoadBlasOptions } from "./blas_ffi.ts";
import { CpuBackend, f32of } from "./cpu.ts";
import { registerBlas } from "./request.ts";
import * as conv from "../kernels/conv/blas.ts";
import * as ew from "../kernels/elementwise/blas.ts";
import * as mm from "../kernels/matmul/blas.ts";
import * as norm from "../kernels/norm/blas.ts";
import * as pool from "../kernels/pool/blas.ts";

/** Options of {@linkcode BlasBackend.create}. */
export interface BlasBackendOptions extends LoadBlasOptions {
  /** Scratch budget of the convolutions' column matrix, in elements (default 16M: 64 MB). */
  scratchElems?: number;
}

/** CPU backend whose heavy kernels run through native BLAS. */
export class BlasBackend extends CpuBackend {
  /** Always "blas". */
  override readonly kind: BackendKind = "blas";
  /** The library, its path and thread count, e.g. "OpenBLAS 0.3.21 SkylakeX (...), 16 threads". */
  override readonly description: string;
  /** The native library and its settings. */
  readonly library: BlasLibrary;
  readonly #ctx: conv.GemmContext;

  /** Wraps a loaded library; prefer {@linkcode BlasBackend.create}. */
  constructor(library: BlasLibrary, scratchElems?: number) {
    super();
    this.library = library;
    this.#ctx = { sgemm: library.sgemm, scratch: new conv.Scratch(scratchElems) };
    const threads = library.threads === null
      ? "its default thread count"
      : `${library.threads} thread${library.threads === 1 ? "" : "s"}`;
    this.description = `${library.name} (${library.path}), ${threads}`;
  }

  /**
   * Loads the BLAS library (FCN_BLAS, else OpenBLAS / Accelerate / libblas where the system
   * keeps them) and builds the backend; throws `BlasNotFoundError` saying what to install.
   *
   * @example Multiply on the BLAS backend
   * ```ts ignore
   * import { BlasBackend } from "./blas.ts";
   *
   * const blas = BlasBackend.create();
   * const a = blas.upload(new Float32Array([1, 2, 3, 4]));
   * const y = blas.matmul(a, a, 2, 2, 2, false, false);
   * console.log(await blas.read(y)); // [7, 10, 15, 22]
   * ```
   */
  static create(options: BlasBackendOptions = {}): BlasBackend {
    return new BlasBackend(loadBlas(options), options.scratchElems);
  }

  /** Drops the scratch buffer; the library stays loaded for the rest of the process. */
  override destroy(): void {
    this.#ctx.scratch.release();
    super.destroy();
  }

  /** Branch-free ReLU (`lib/kernels/elementwise/blas.ts`). */
  override relu(x: Storage): Storage {
    return this.track(ew.relu(f32of(x)));
  }
  /** Branch-free ReLU gradient. */
  override reluGrad(dy: Storage, y: Storage): Storage {
    return this.track(ew.reluGrad(f32of(dy), f32of(y)));
  }

  /** Max pool with the 2x2 stride-2 case unrolled (`lib/kernels/pool/blas.ts`). */
  override maxPool2d(x: Storage, g: PoolGeom): { y: Storage; idx: Storage } {
    const r = pool.maxPool2d(f32of(x), g);
    return { y: this.track(r.y), idx: this.track(r.idx) };
  }

  /** Batch statistics with plane-wise loops (`lib/kernels/norm/blas.ts`). */
  override batchNormStats(x: Storage, p: Planes): { mean: Storage; var: Storage } {
    const r = norm.batchNormStats(f32of(x), p);
    return { mean: this.track(r.mean), var: this.track(r.var) };
  }
  /** Batch norm with plane-wise loops. */
  override batchNorm(
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    beta: Storage,
    p: Planes,
    eps: number,
  ): Storage {
    return this.track(
      norm.batchNorm(f32of(x), f32of(mean), f32of(variance), f32of(gamma), f32of(beta), p, eps),
    );
  }
  /** Batch norm backward with plane-wise loops. */
  override batchNormGrad(
    dy: Storage,
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    p: Planes,
    eps: number,
    training: boolean,
  ): { dx: Storage; dgamma: Storage; dbeta: Storage } {
    const [d, xs, m, v, g] = [dy, x, mean, variance, gamma].map(f32of);
    const r = norm.batchNormGrad(d, xs, m, v, g, p, eps, training);
    return { dx: this.track(r.dx), dgamma: this.track(r.dgamma), dbeta: this.track(r.dbeta) };
  }

  /** Convolution forward through im2col-style GEMMs (see `lib/kernels/conv/blas.ts`). */
  override conv2d(x: Storage, w: Storage, b: Storage | null, g: ConvGeom, relu: boolean): Storage {
    return this.track(conv.conv2d(this.#ctx, f32of(x), f32of(w), b ? f32of(b) : null, g, relu));
  }
  /** Convolution backward-data: `w^T @ dy` through GEMMs, then scattered into dx. */
  override conv2dGradInput(dy: Storage, w: Storage, g: ConvGeom): Storage {
    return this.track(conv.conv2dGradInput(this.#ctx, f32of(dy), f32of(w), g));
  }
  /** Convolution backward-weight: `dy @ col^T` through GEMMs, summed over the batch. */
  override conv2dGradWeight(dy: Storage, x: Storage, g: ConvGeom): Storage {
    return this.track(conv.conv2dGradWeight(this.#ctx, f32of(dy), f32of(x), g));
  }

  /** Matrix product through one `sgemm`. */
  override matmul(
    a: Storage,
    b: Storage,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): Storage {
    return this.track(mm.matmul(this.#ctx.sgemm, f32of(a), f32of(b), m, k, n, transA, transB));
  }
}

registerBlas(() => new Promise((resolve) => resolve(BlasBackend.create())));
