/**
 * Convolution of column stride 1 by KW shifted GEMMs per band of output rows, in the layout of
 * `./shifted.ts` (`CKH = C*KH`, `z [CKH, L]` the rows, `wt [KW, K, CKH]` the taps, wide
 * outputs of row stride `ld`):
 * - forward: `yWide [K, B] = sum over kj of wt[kj] @ z[:, kj*dilW ...]` (+ bias as initial C);
 * - backward-data: `dz[:, kj*dilW ...] += wt[kj]^T @ dyWide`, then the rows are added into dx;
 * - backward-weight: `dwt[kj] += dyWide @ z[:, kj*dilW ...]^T`.
 *
 * Compared with a full im2col it copies KH rather than KH*KW images per band: on 64 -> 64
 * channels 3x3 at 224x224 (one thread), forward 60 ms against 99, backward-weight 56 against 71.
 * Outputs are allocated, zeroed, by the caller; buffer sizes are checked there too.
 *
 * @module
 */
import type { ConvGeom } from "../../device/backend.ts";
import { bandRows, fillBias, type GemmContext } from "./gemm_context.ts";
import * as sh from "./shifted.ts";

/** Whether this layout pays: column stride 1, and weights no larger than the outputs. */
export function applies(g: ConvGeom): boolean {
  // Packing the taps copies the weights (nothing to copy when KW = 1): fc6-like layers, with
  // more filters than output pixels, are cheaper by im2col.
  return g.strideW === 1 && (g.kw === 1 || g.k <= g.n * g.oh * g.ow);
}

/** One band: image n, output rows [r0, r1), z row stride `len`, `cols` wide columns, `ld`. */
interface Band {
  n: number;
  r0: number;
  r1: number;
  len: number;
  cols: number;
  ld: number;
}

/** Visits the bands whose rows and wide output fit the scratch budget together. */
function eachBand(ctx: GemmContext, g: ConvGeom, f: (band: Band) => void): number {
  const ckh = g.c * g.kh, tail = (g.kw - 1) * g.dilW;
  const rows = bandRows(
    g,
    ctx.scratch.budget,
    (ckh + g.k) * sh.wideWidth(g),
    ckh * (tail + 16) + g.k * 16, // the tails and the alignment of each row
  );
  for (let n = 0; n < g.n; n++) {
    for (let r0 = 0; r0 < g.oh; r0 += rows) {
      const r1 = Math.min(g.oh, r0 + rows);
      const len = sh.rowLength(g, r1 - r0), ld = sh.wideStride(g, r1 - r0);
      f({ n, r0, r1, len, cols: (r1 - r0) * sh.wideWidth(g), ld });
    }
  }
  return rows;
}

/** Scratch regions: taps (none when KW = 1), rows, wide output; sized for `rows` per band. */
function regions(ctx: GemmContext, g: ConvGeom): Float32Array[] {
  const ckh = g.c * g.kh;
  const rows = bandRows(g, ctx.scratch.budget, (ckh + g.k) * sh.wideWidth(g));
  const tapsSize = g.kw === 1 ? 0 : g.k * ckh * g.kw;
  return ctx.scratch.regions(tapsSize, ckh * sh.rowLength(g, rows), g.k * sh.wideStride(g, rows));
}
