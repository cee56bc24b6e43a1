/**
 * The direct (stride-1) backward-weight path: dy is packed into a uniform-capable buffer this
 * module owns, then each dispatch binds a 64 KiB window of it (a band of output rows of one
 * image for one block of output channels) and adds that band's contribution to dw. See
 * `direct_weight_shaders.ts`.
 *
 * @module
 */
import type { ConvGeom, KernelArgs, Storage } from "../../../device/backend.ts";
import type { WebGpuRuntime } from "../../../device/webgpu.ts";
import { pack, planBlocks, ranges } from "../../matmul/blocks.ts";
import {
  DY_PACK_FIELDS,
  dyPackSource,
  WEIGHT_FIELDS,
  weightSource,
  type WeightTile,
} from "./direct_weight_shaders.ts";
import { DIRECT_SIZES } from "./direct.ts";
import { sumSlices } from "./generic.ts";
import { uniformScratch, uniformWindow, windowRoom } from "./scratch.ts";

/** Invocations (channels x slices) a dispatch should have at least. */
const MIN_LANES = 64;

/** Whether the direct backward-weight applies to `g` on `rt` with tile `t`. */
export function directWeightFits(rt: WebGpuRuntime, g: ConvGeom, t: WeightTile): boolean {
  const maxE = rt.maxBindingElements;
  const owp = Math.ceil(g.ow / t.p) * t.p;
  const room = windowRoom(rt);
  const kBlocks = Math.ceil(g.k / t.tk);
  return g.strideH === 1 && g.strideW === 1 && g.dilH === 1 && g.dilW === 1 &&
    g.n > 0 && g.c > 0 && g.k > 0 && g.oh > 0 && g.ow > 0 &&
    DIRECT_SIZES.some(([kh, kw]) => kh === g.kh && kw === g.kw) &&
    t.tk * owp <= room && kBlocks * g.oh * t.tk * owp <= maxE &&
    g.c * g.h * g.w <= maxE && g.k * g.c * g.kh * g.kw * plan(g, t, room).slices <= maxE;
}

/** Output rows per uniform window (band), slices of a band and rows per slice. */
function plan(g: ConvGeom, t: WeightTile, room: number) {
  const owp = Math.ceil(g.ow / t.p) * t.p;
  const band = Math.max(1, Math.min(g.oh, Math.floor(room / (t.tk * owp))));
  const slices = Math.min(band, Math.ceil(MIN_LANES / g.c));
  const rs = Math.ceil(band / slices);
  return { band, rs, slices: Math.ceil(band / rs) };
}

/**
 * dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]` (stride 1), with tile `t`;
 * the slices' copies, when there are several, are added up by `sumSlices` (`generic.ts`).
 */
export function directGradWeight(
  rt: WebGpuRuntime,
  { dy, x, geom: g }: KernelArgs["conv2dGradWeight"],
  t: WeightTile,
): Storage {
  const kk = g.kh * g.kw, hw = g.h * g.w, p = g.oh * g.ow;
  const kBlocks = Math.ceil(g.k / t.tk);
  const owp = Math.ceil(g.ow / t.p) * t.p;
  const room = windowRoom(rt);
  const { band, rs, slices } = plan(g, t, room);
  const len = g.k * g.c * kk;
  const dw = rt.alloc(len, "f32"); // [K, C, KH, KW]
  const out = slices > 1 ? rt.alloc(slices * len, "f32") : dw; // [S, K, C, KH, KW]
  const image = kBlocks * g.oh * t.tk * owp; // packed elements of one image
  const blk = planBlocks({ n: g.n, one: 1 }, [
    {
      name: "direct backward-weight input",
      outer: "n",
      stride: g.c * hw,
      inner: "one",
      unit: g.c * hw,
    },
    { name: "direct backward-weight dy", outer: "n", stride: image, inner: "one", unit: image },
  ], rt.maxBindingElements);
  const packKernel = rt.kernel(`conv_dy_pack_${t.tk}`, dyPackSource(t.tk));
  const kernel = rt.kernel(`conv_direct_grad_weight_${g.kh}x${g.kw}`, weightSource(g.kh, g.kw, t));
  const bo = rt.bind(out, 0, out.length);
  const lanes = g.c * slices;
  const groups = Math.ceil(lanes / t.wg);
  let first = true;
  for (const [n0, nb] of ranges(g.n, blk.n)) {
    const buf = uniformScratch(rt, "dy", nb * image);
    const bdy = rt.bind(dy, n0 * g.k * p, nb * g.k * p);
    rt.dispatch(
      packKernel,
      [bdy, { buffer: buf, offset: 0, size: nb * image * 4 }],
      pack(DY_PACK_FIELDS, { kBlocks, k: g.k, oh: g.oh, ow: g.ow, owp, dyBase: bdy.base }),
      [Math.ceil(owp / 256), g.oh * t.tk, nb * kBlocks],
    );
    const bx = rt.bind(x, n0 * g.c * hw, nb * g.c * hw);
    for (let n = 0; n < nb; n++) {
      for (const [oh0, rb] of ranges(g.oh, band)) {
        for (let kb = 0; kb < kBlocks; kb++) {
          const win = uniformWindow(rt, buf, ((n * kBlocks + kb) * g.oh + oh0) * t.tk * owp);
          const u = pack(WEIGHT_FIELDS, {
            groups,
            lanes,
            c: g.c,
            slices,
            rs,
            rb,
            oh0,
            n,
            k0: kb * t.tk,
            k: g.k,
            h: g.h,
            w: g.w,
            owp,
            ph: g.padH,
            pw: g.padW,
            xBase: bx.base,
            dBase: win.base,
            oBase: bo.base,
            sliceStride: len,
            first: first ? 1 : 0,
          });
          rt.dispatch(kernel, [bx, win.binding, bo], u, groups);
        }
        first = false;
      }
    }
  }
  if (slices > 1) {
    sumSlices(rt, out, slices, dw);
    rt.free(out);
  }
  return dw;
}
