/**
 * Throughput of the BLAS backend: `sgemm` on 1024^3 and the three passes of a VGG convolution
 * (128 -> 256 channels, 3x3, padding 1, 112x112, batch 1). Prints the figures and returns them;
 * `deno task bench` calls {@linkcode benchBlas}.
 *
 * @module
 */
import type { ConvGeom } from "./backend.ts";
import { BlasBackend, type BlasBackendOptions } from "./blas.ts";
import { f32of } from "./cpu.ts";

/** One measured kernel: the best of the timed repetitions. */
export interface BlasBenchResult {
  /** What was measured. */
  name: string;
  /** Floating-point operations of one call (a multiply-add counts 2). */
  flops: number;
  /** Best wall time of one call, milliseconds. */
  ms: number;
  /** `flops / ms`, in GFLOP/s. */
  gflops: number;
}

/** Options of {@linkcode benchBlas}. */
export interface BlasBenchOptions extends BlasBackendOptions {
  /** Timed repetitions per kernel after one warm-up call (default 5). */
  reps?: number;
  /** Print a line per kernel (default true). */
  print?: boolean;
}

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2147483648 - 1;
  }
  return a;
}

/** The VGG layer measured: 128 -> 256 channels, 3x3, padding 1, 112x112, batch 1. */
export const VGG_LAYER: ConvGeom = {
  n: 1,
  c: 128,
  h: 112,
  w: 112,
  k: 256,
  kh: 3,
  kw: 3,
  oh: 112,
  ow: 112,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilH: 1,
  dilW: 1,
};

/**
 * Measures `sgemm` (1024^3) and conv2d forward / backward-data / backward-weight on
 * {@linkcode VGG_LAYER}; prints GFLOP/s per kernel unless `print` is false.
 *
 * @example Print the figures
 * ```ts ignore
 * import { benchBlas } from "./blas_bench.ts";
 *
 * await benchBlas({ reps: 3 });
 * ```
 */
export function benchBlas(options: BlasBenchOptions = {}): Promise<BlasBenchResult[]> {
  const reps = options.reps ?? 5;
  const be = BlasBackend.create(options);
  const results: BlasBenchResult[] = [];
  const time = (name: string, flops: number, run: () => void) => {
    run();
    let best = Infinity;
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      run();
      best = Math.min(best, performance.now() - t0);
    }
    const res = { name, flops, ms: best, gflops: flops / best / 1e6 };
    results.push(res);
    if (options.print ?? true) {
      console.log(
        `${name.padEnd(40)} ${best.toFixed(1).padStart(8)} ms ${
          res.gflops.toFixed(1).padStart(7)
        } GFLOP/s`,
      );
    }
  };

  if (options.print ?? true) console.log(`BLAS backend: ${be.description}`);
  const n = 1024;
  const a = be.upload(random(n * n, 1)), b = be.upload(random(n * n, 2));
  time("sgemm 1024^3", 2 * n * n * n, () => be.free(be.matmul(a, b, n, n, n, false, false)));
  be.free(a);
  be.free(b);

  const g = VGG_LAYER;
  const ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow;
  const flops = 2 * g.n * g.k * ckk * ohw;
  const x = be.upload(random(g.n * g.c * g.h * g.w, 3));
  const w = be.upload(random(g.k * ckk, 4).map((v) => v * 0.03));
  const bias = be.upload(random(g.k, 5));
  const dy = be.upload(random(g.n * g.k * ohw, 6));
  const layer = `VGG 128->256 3x3 112x112 N=${g.n}`;
  time(`conv2d forward+bias+relu ${layer}`, flops, () => be.free(be.conv2d(x, w, bias, g, true)));
  time(`conv2d backward-data ${layer}`, flops, () => be.free(be.conv2dGradInput(dy, w, g)));
  time(`conv2d backward-weight ${layer}`, flops, () => be.free(be.conv2dGradWeight(dy, x, g)));
  // Keep the check honest: the result must be finite.
  const y = be.conv2d(x, w, bias, g, true);
  if (!f32of(y).every(Number.isFinite)) throw new Error("benchBlas: non-finite conv output");
  for (const s of [x, w, bias, dy, y]) be.free(s);
  be.destroy();
  return Promise.resolve(results);
}

if (import.meta.main) await benchBlas();
