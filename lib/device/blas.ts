/**
 * The BLAS backend: host memory (typed arrays, as in {@linkcode CpuBackend}), convolutions and
 * matrix products through a native BLAS `sgemm` loaded with `Deno.dlopen` (needs
 * `--allow-ffi`). The memory-bound kernels are TypeScript loops (branch-free ReLUs, an
 * unrolled 2x2 max pool, plane-wise batch norm, cross entropy swept plane by plane), or BLAS
 * level-1 passes where the library has them (SGD, eval batch norm, sums of tensors).
 *
 * Freed storages go to a {@linkcode HostPool}, and every kernel here writes its output into an
 * array taken from it: a training step then reuses the last step's arrays instead of paying
 * page faults (~2 ms per MB on the dev VM) for ~1 GB of fresh memory (FCN-8s at 224 px).
 * `liveBytes()` still counts live storages only.
 *
 * Importing this module registers the backend with `requestDevice({ backend: "blas" })`.
 *
 * @module
 */
import type {
  BackendKind,
  BinaryOp,
  ConvGeom,
  DType,
  HostArray,
  Planes,
  PoolGeom,
  SgdUpdate,
  Storage,
} from "./backend.ts";
import { type BlasLibrary, loadBlas, type LoadBlasOptions } from "./blas_ffi.ts";
import { HostPool } from "./blas_pool.ts";
import { CpuBackend, f32of, type HostStorage, i32of } from "./cpu.ts";
import { registerBlas } from "./request.ts";
import * as conv from "../kernels/conv/blas.ts";
import * as ew from "../kernels/elementwise/blas.ts";
import * as loss from "../kernels/loss/blas.ts";
import * as mm from "../kernels/matmul/blas.ts";
import * as norm from "../kernels/norm/blas.ts";
import * as optim from "../kernels/optim/blas.ts";
import * as pool from "../kernels/pool/blas.ts";
import * as resize from "../kernels/resize/blas.ts";

/** Options of {@linkcode BlasBackend.create}. */
export interface BlasBackendOptions extends LoadBlasOptions {
  /** Scratch budget of the convolutions' column matrix, in elements (default 16M: 64 MB). */
  scratchElems?: number;
  /** Most bytes of freed arrays kept for reuse (default `POOL_BYTES`, 2 GiB; 0: none). */
  poolBytes?: number;
}

/** CPU backend whose heavy kernels run through native BLAS. */
export class BlasBackend extends CpuBackend {
  /** Always "blas". */
  override readonly kind: BackendKind = "blas";
  /** The library, its path and thread count, e.g. "OpenBLAS 0.3.21 SkylakeX (...), 16 threads". */
  override readonly description: string;
  /** The native library and its settings. */
  readonly library: BlasLibrary;
  /** Freed arrays awaiting reuse. */
  readonly pool: HostPool;
  readonly #ctx: conv.GemmContext;
  /** Storages already freed: a second free must not pool their array again. */
  #freed = new WeakSet<Storage>();

  /** Wraps a loaded library; prefer {@linkcode BlasBackend.create}. */
  constructor(library: BlasLibrary, scratchElems?: number, poolBytes?: number) {
    super();
    this.library = library;
    this.pool = new HostPool(poolBytes);
    this.#ctx = {
      sgemm: library.sgemm,
      scratch: new conv.Scratch(scratchElems),
      alloc: (n) => this.pool.f32(n),
    };
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
    return new BlasBackend(loadBlas(options), options.scratchElems, options.poolBytes);
  }

  /** Drops the scratch buffer and the pool; the library stays loaded for the process. */
  override destroy(): void {
    this.#ctx.scratch.release();
    this.pool.clear();
    super.destroy();
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

  /** `length` copies of `value` in a pooled array. */
  override fill(length: number, dtype: DType, value: number): Storage {
    return this.track(this.pool.filled(dtype, length, value));
  }

  /**
   * Element-wise arithmetic, one loop per operation (`lib/kernels/elementwise/blas.ts`); a sum
   * or difference of equal lengths as a copy and a `saxpy` (the same f32 rounding, 2x as fast).
   */
  override binary(op: BinaryOp, a: Storage, b: Storage): Storage {
    const out = this.pool.f32(a.length), blas = this.library.axpby;
    if (blas && (op === "add" || op === "sub") && a.length === b.length && a.length > 0) {
      out.set(f32of(a));
      blas.saxpy(a.length, op === "add" ? 1 : -1, f32of(b), out);
      return this.track(out);
    }
    return this.track(ew.binary(op, f32of(a), f32of(b), out));
  }
  /** `alpha * x + beta` into a pooled array. */
  override affine(x: Storage, alpha: number, beta: number): Storage {
    return this.track(ew.affine(f32of(x), alpha, beta, this.pool.f32(x.length)));
  }

  /** Branch-free ReLU (`lib/kernels/elementwise/blas.ts`). */
  override relu(x: Storage): Storage {
    return this.track(ew.relu(f32of(x), this.pool.f32(x.length)));
  }
  /** Branch-free ReLU gradient. */
  override reluGrad(dy: Storage, y: Storage): Storage {
    return this.track(ew.reluGrad(f32of(dy), f32of(y), this.pool.f32(dy.length)));
  }

  /** Dropout with the hash drawn once per group, into a pooled array. */
  override dropout(x: Storage, p: number, seed: number, group: number): Storage {
    return this.track(ew.dropout(f32of(x), p, seed, group, this.pool.f32(x.length)));
  }

  /** Max pool with the 2x2 stride-2 case unrolled (`lib/kernels/pool/blas.ts`). */
  override maxPool2d(x: Storage, g: PoolGeom): { y: Storage; idx: Storage } {
    const size = g.n * g.c * g.oh * g.ow;
    const r = pool.maxPool2d(f32of(x), g, { y: this.pool.f32(size), idx: this.pool.i32(size) });
    return { y: this.track(r.y), idx: this.track(r.idx) };
  }
  /** Max pool backward into a pooled array. */
  override maxPool2dGrad(dy: Storage, idx: Storage, g: PoolGeom): Storage {
    const out = this.pool.f32(g.n * g.c * g.h * g.w);
    return this.track(pool.maxPool2dGrad(f32of(dy), i32of(idx), g, out));
  }

  /** Batch statistics with plane-wise loops (`lib/kernels/norm/blas.ts`). */
  override batchNormStats(x: Storage, p: Planes): { mean: Storage; var: Storage } {
    const r = norm.batchNormStats(f32of(x), p);
    return { mean: this.track(r.mean), var: this.track(r.var) };
  }
  /** Batch norm with plane-wise loops, or `x * s + t` through `saxpy` on large planes. */
  override batchNorm(
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    beta: Storage,
    p: Planes,
    eps: number,
  ): Storage {
    const [xs, m, v, g, b] = [x, mean, variance, gamma, beta].map(f32of);
    const out = this.pool.f32(x.length), saxpy = this.library.axpby?.saxpy;
    return this.track(norm.batchNorm(xs, m, v, g, b, p, eps, out, saxpy));
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
    const r = norm.batchNormGrad(d, xs, m, v, g, p, eps, training, this.pool.f32(x.length));
    return { dx: this.track(r.dx), dgamma: this.track(r.dgamma), dbeta: this.track(r.dbeta) };
  }

  /** Bilinear resize with typed-array taps into a pooled array (`lib/kernels/resize/blas.ts`). */
  override interpolate(
    x: Storage,
    p: Planes,
    oh: number,
    ow: number,
    alignCorners: boolean,
  ): Storage {
    const out = this.pool.f32(p.n * p.c * oh * ow);
    return this.track(resize.interpolate(f32of(x), p, oh, ow, alignCorners, out));
  }

  /** The reference's crop, into a pooled array. */
  override crop(x: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage {
    const out = this.pool.f32(p.n * p.c * oh * ow);
    return this.track(resize.crop(f32of(x), p, oh, ow, top, left, out));
  }
  /** The reference's crop backward, into a pooled array. */
  override cropGrad(
    dy: Storage,
    p: Planes,
    oh: number,
    ow: number,
    top: number,
    left: number,
  ): Storage {
    const out = this.pool.f32(p.n * p.c * p.h * p.w);
    return this.track(resize.cropGrad(f32of(dy), p, oh, ow, top, left, out));
  }

  /** Cross entropy swept plane by plane (`lib/kernels/loss/blas.ts`), into pooled arrays. */
  override crossEntropy(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    n: number,
    k: number,
    hw: number,
    ignoreIndex: number,
  ): { loss: Storage; weight: Storage } {
    const out = { loss: this.pool.f32(n * hw), weight: this.pool.f32(n * hw) };
    const w = weight ? f32of(weight) : null;
    const r = loss.crossEntropy(f32of(logits), i32of(target), w, n, k, hw, ignoreIndex, out);
    return { loss: this.track(r.loss), weight: this.track(r.weight) };
  }
  /** Cross entropy backward swept plane by plane, into a pooled array. */
  override crossEntropyGrad(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    g: Storage,
    n: number,
    k: number,
    hw: number,
    ignoreIndex: number,
  ): Storage {
    const [x, t, w] = [f32of(logits), i32of(target), weight ? f32of(weight) : null];
    const out = this.pool.f32(n * k * hw);
    return this.track(loss.crossEntropyGrad(x, t, w, f32of(g), n, k, hw, ignoreIndex, out));
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

  /** Bias gradient: channel sums in f64, into a pooled array. */
  override channelSum(x: Storage, p: Planes): Storage {
    return this.track(conv.channelSum(f32of(x), p, this.pool.f32(p.c)));
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
    const out = this.pool.f32(m * n);
    return this.track(
      mm.matmul(this.#ctx.sgemm, f32of(a), f32of(b), m, k, n, transA, transB, out),
    );
  }

  /** SGD as BLAS level-1 passes where the library has them (`lib/kernels/optim/blas.ts`). */
  override sgd(param: Storage, grad: Storage, buf: Storage | null, o: SgdUpdate): void {
    const blas = this.library.axpby;
    if (blas === null) return super.sgd(param, grad, buf, o);
    optim.sgd(blas, f32of(param), f32of(grad), buf ? f32of(buf) : null, o);
  }
}

registerBlas(() => new Promise((resolve) => resolve(BlasBackend.create())));
