/**
 * The BLAS backend: host memory with a pool of freed arrays (`lib/device/blas_runtime.ts`),
 * convolutions and matrix products through a native BLAS `sgemm` loaded with `Deno.dlopen`
 * (needs `--allow-ffi`). The memory-bound kernels are TypeScript loops (branch-free ReLUs, an
 * unrolled 2x2 max pool, plane-wise batch norm, cross entropy and softmax swept plane by plane), or BLAS
 * level-1 passes where the library has them (SGD, eval batch norm, sums of tensors); the rest
 * are the reference's.
 *
 * @module
 */
import type { Backend, KernelTable } from "../device/backend.ts";
import type { BlasLibrary } from "../device/blas_ffi.ts";
import type { HostPool } from "../device/blas_pool.ts";
import { BlasRuntime, type BlasRuntimeOptions } from "../device/blas_runtime.ts";
import { convBlas } from "../kernels/conv/blas.ts";
import { elementwiseBlas } from "../kernels/elementwise/blas.ts";
import { lossBlas } from "../kernels/loss/blas.ts";
import { softmaxBlas } from "../kernels/softmax/blas.ts";
import { matmulBlas } from "../kernels/matmul/blas.ts";
import { normBlas } from "../kernels/norm/blas.ts";
import { optimBlas } from "../kernels/optim/blas.ts";
import { poolBlas } from "../kernels/pool/blas.ts";
import { reduceCpu } from "../kernels/reduce/cpu.ts";
import { resizeBlas } from "../kernels/resize/blas.ts";
import { assemble } from "./assemble.ts";

/** Every kernel of the BLAS backend. */
export const BLAS_KERNELS: KernelTable<BlasRuntime> = {
  ...elementwiseBlas,
  ...convBlas,
  ...poolBlas,
  ...normBlas,
  ...resizeBlas,
  ...lossBlas,
  ...softmaxBlas,
  ...reduceCpu,
  ...matmulBlas,
  ...optimBlas,
};

/** Options of {@linkcode createBlasBackend}. */
export type BlasBackendOptions = BlasRuntimeOptions;

/** The BLAS backend, with its runtime. */
export interface BlasBackend extends Backend {
  /** Its memory and library. */
  readonly rt: BlasRuntime;
  /** The native library and its settings. */
  readonly library: BlasLibrary;
  /** Freed arrays awaiting reuse. */
  readonly pool: HostPool;
}

/**
 * Loads the BLAS library (FCN_BLAS, else OpenBLAS / Accelerate / libblas where the system keeps
 * them) and builds the backend; throws `BlasNotFoundError` saying what to install.
 *
 * @example Multiply on the BLAS backend
 * ```ts ignore
 * import { createBlasBackend } from "./blas.ts";
 *
 * const blas = createBlasBackend();
 * const a = blas.upload(new Float32Array([1, 2, 3, 4]));
 * const y = blas.matmul({ a, b: a, m: 2, k: 2, n: 2, transA: false, transB: false });
 * console.log(await blas.read(y)); // [7, 10, 15, 22]
 * ```
 */
export function createBlasBackend(options: BlasBackendOptions = {}): BlasBackend {
  const rt = BlasRuntime.create(options);
  return {
    kind: "blas",
    description: rt.description,
    supportsF16: true,
    rt,
    library: rt.library,
    pool: rt.pool,
    upload: (data) => rt.upload(data),
    adopt: (data) => rt.track(data),
    read: (s) => rt.read(s),
    readSync: (s) => rt.readSync(s),
    free: (s) => rt.free(s),
    flush: () => rt.flush(),
    liveBytes: () => rt.liveBytes(),
    destroy: () => rt.destroy(),
    ...assemble(rt, BLAS_KERNELS),
  };
}
