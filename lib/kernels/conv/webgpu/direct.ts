/**
 * The direct convolution path (stride 1, dilation 1, small square-ish kernels): forward, and
 * backward-data as the forward of the transposed, flipped kernel over dy. The weights are first
 * packed into a buffer this module owns (it must be usable as a uniform buffer, which pooled
 * storages are not), then each dispatch binds a 64 KiB window of it: one chunk of input
 * channels for a few blocks of output channels. See `direct_shaders.ts` for why.
 *
 * @module
 */
import type { ConvGeom, Storage } from "../../../device/backend.ts";
import type { WebGpuRuntime } from "../../../device/webgpu.ts";
import { chunkFlags, pack, planBlocks, ranges } from "../../matmul/blocks.ts";
import {
  DIRECT_FIELDS,
  directSource,
  type DirectTile,
  PACK_FIELDS,
  packSource,
} from "./direct_shaders.ts";
import { uniformScratch, uniformWindow, windowRoom } from "./scratch.ts";

/** Workgroups a dispatch should have at least, when the weight window allows. */
const MIN_GROUPS = 16;
/** Fewest input channels per weight window worth the read-modify-write of y it costs. */
const MIN_CHUNK = 64;

/** Kernel sizes `[kh, kw]` the direct path has pipelines for. */
export const DIRECT_SIZES: readonly [number, number][] = [[1, 1], [3, 3]];

/**
 * One direct convolution: y `[N, K, OH, OW]` = w * x `[N, C, H, W]`, stride 1, `oh = h + 2 * ph
 * - kh + 1` (likewise `ow`), zero padding `ph` above and below, `pw` left and right.
 */
export interface DirectProblem
  extends Pick<ConvGeom, "n" | "c" | "h" | "w" | "k" | "kh" | "kw" | "oh" | "ow"> {
  /** Zero padding above and below. */
  ph: number;
  /** Zero padding left and right. */
  pw: number;
}

/** The direct problem of a forward conv, or null when the direct path does not apply. */
export function forwardProblem(g: ConvGeom): DirectProblem | null {
  if (!directShape(g)) return null;
  const { n, c, h, w, k, kh, kw, oh, ow } = g;
  return { n, c, h, w, k, kh, kw, oh, ow, ph: g.padH, pw: g.padW };
}

/**
 * The direct problem of backward-data (dx = the full correlation of dy with the flipped,
 * transposed kernel), or null when the direct path does not apply.
 */
export function gradInputProblem(g: ConvGeom): DirectProblem | null {
  if (!directShape(g)) return null;
  const ph = g.kh - 1 - g.padH, pw = g.kw - 1 - g.padW;
  // Stride 1: H = OH + KH - 1 - 2 * padH exactly, so the transposed conv's padding is >= 0
  // whenever padH < KH (PyTorch allows larger paddings; those take the general path).
  if (ph < 0 || pw < 0) return null;
  // dy `[N, K, OH, OW]` is the input, dx `[N, C, H, W]` the output.
  return { n: g.n, c: g.k, h: g.oh, w: g.ow, k: g.c, kh: g.kh, kw: g.kw, oh: g.h, ow: g.w, ph, pw };
}

function directShape(g: ConvGeom): boolean {
  return g.strideH === 1 && g.strideW === 1 && g.dilH === 1 && g.dilW === 1 &&
    g.n > 0 && g.c > 0 && g.k > 0 && g.oh > 0 && g.ow > 0 &&
    DIRECT_SIZES.some(([kh, kw]) => kh === g.kh && kw === g.kw);
}

/** Elements the packed weights of `d` occupy with output blocks of `tc`. */
function packedLength(d: DirectProblem, tc: number): number {
  return Math.ceil(d.k / tc) * tc * d.c * d.kh * d.kw;
}

/** Whether `d` fits the direct path's bindings on `rt` with tile `t`. */
export function directFits(rt: WebGpuRuntime, d: DirectProblem, t: DirectTile): boolean {
  const maxE = rt.maxBindingElements;
  const kk = d.kh * d.kw;
  const chunk = windowRoom(rt);
  return d.k * d.c * kk <= maxE && packedLength(d, t.tc) <= maxE &&
    d.c * d.h * d.w <= maxE && d.k * d.oh * d.ow <= maxE && kk * t.tc <= chunk;
}

/** One run of the direct path: the problem and its operands. */
export interface DirectRun {
  /** Input `[N, C, H, W]` of the problem (dy for backward-data). */
  x: Storage;
  /** Weights `[K, C, KH, KW]`, or `[C, K, KH, KW]` read flipped when `transposed`. */
  w: Storage;
  /** Bias `[K]`, or null. */
  b: Storage | null;
  /** The problem. */
  d: DirectProblem;
  /** Apply a ReLU to the output. */
  relu: boolean;
  /** Backward-data: w read transposed and flipped. */
  transposed: boolean;
}

/** Runs the direct convolution `run.d` with tile `t`. Returns y `[N, K, OH, OW]`. */
export function directConv(rt: WebGpuRuntime, run: DirectRun, t: DirectTile): Storage {
  const { x, w, b: bias, d, relu, transposed } = run;
  const kk = d.kh * d.kw;
  const hw = d.h * d.w, p = d.oh * d.ow;
  const y = rt.alloc(d.n * d.k * p, "f32"); // [N, K, OH, OW]
  // Weight windows: a chunk of cb input channels for kbPer blocks of output channels, enough
  // blocks for the dispatch to keep every thread busy, as many channels as then fit.
  const room = windowRoom(rt);
  const kBlocks = Math.ceil(d.k / t.tc);
  const ohb = Math.ceil(d.oh / t.r), owb = Math.ceil(d.ow / t.p);
  const groupsPerBlock = Math.ceil(d.n * ohb * owb / t.wg);
  const most = Math.floor(room / (kk * t.tc)); // channels of one block that fit
  let kbPer = Math.min(kBlocks, Math.ceil(MIN_GROUPS / groupsPerBlock));
  while (kbPer > 1 && Math.floor(most / kbPer) < Math.min(d.c, MIN_CHUNK)) kbPer--;
  const cb = Math.min(d.c, Math.floor(most / kbPer));
  if (cb === d.c) kbPer = Math.min(kBlocks, Math.max(kbPer, Math.floor(most / d.c)));
  // Pack the weights chunk by chunk (see packSource).
  const total = kBlocks * t.tc * d.c * kk;
  const buf = uniformScratch(rt, "weights", total);
  const bw = rt.bind(w, 0, w.length);
  rt.dispatch(
    rt.kernel(`conv_direct_pack_${kk}_${t.tc}`, packSource(kk, t.tc)),
    [bw, { buffer: buf, offset: 0, size: total * 4 }],
    pack(PACK_FIELDS, {
      ck: d.c * kk,
      kBlocks,
      ko: d.k,
      ci: d.c,
      cb,
      transposed: transposed ? 1 : 0,
      wBase: bw.base,
    }),
    [Math.ceil(d.c * kk / 64), kBlocks * t.tc / 4, 1],
  );
  // Whole images per chunk (`one` counts one image's elements).
  const blk = planBlocks({ n: d.n, one: 1 }, [
    { name: "direct conv input", outer: "n", stride: d.c * hw, inner: "one", unit: d.c * hw },
    { name: "direct conv output", outer: "n", stride: d.k * p, inner: "one", unit: d.k * p },
  ], rt.maxBindingElements);
  // Whole vec4 stores when every row of y starts 16-byte aligned (see directSource), and vec4
  // loads of x for 1x1 kernels when its rows do too.
  const v4 = t.p % 4 === 0 && d.ow % 4 === 0 &&
    (d.kh * d.kw > 1 || (d.w % 4 === 0 && d.ph === 0 && d.pw === 0));
  const kernel = rt.kernel(
    `conv_direct_${d.kh}x${d.kw}${v4 ? "_v4" : ""}`,
    directSource(d.kh, d.kw, t, v4),
  );
  const cs = ranges(d.c, cb);
  for (const [n0, nb] of ranges(d.n, blk.n)) {
    const bx = rt.bind(x, n0 * d.c * hw, nb * d.c * hw);
    const by = rt.bind(y, n0 * d.k * p, nb * d.k * p);
    if (v4 && (by.base % 4 !== 0 || (d.kh * d.kw === 1 && bx.base % 4 !== 0))) {
      throw new Error(`direct conv: misaligned windows x ${bx.base}, y ${by.base}`);
    }
    const bb = bias ? rt.bind(bias, 0, bias.length) : bx; // any read-only buffer
    const tiles = nb * ohb * owb;
    cs.forEach(([c0, cn], i) => {
      for (let kb0 = 0; kb0 < kBlocks; kb0 += kbPer) {
        const nkb = Math.min(kbPer, kBlocks - kb0);
        const win = uniformWindow(rt, buf, (c0 * kBlocks + kb0 * cn) * kk * t.tc);
        const groups = nkb * Math.ceil(tiles / t.wg);
        const u = pack(DIRECT_FIELDS, {
          groups,
          kBlocks: nkb,
          kb0,
          tiles,
          ohb,
          owb,
          c: d.c,
          cb: cn,
          c0,
          h: d.h,
          w: d.w,
          k: d.k,
          oh: d.oh,
          ow: d.ow,
          ph: d.ph,
          pw: d.pw,
          xBase: bx.base,
          wBase: win.base,
          bBase: bb.base,
          yBase: by.base,
          ...chunkFlags(i, cs.length),
          relu: relu ? 1 : 0,
          hasBias: bias ? 1 : 0,
        });
        rt.dispatch(kernel, [bx, win.binding, bb, by], u, groups);
      }
    });
  }
  return y;
}
