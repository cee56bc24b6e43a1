/**
 * The general convolution kernels (any stride, padding, dilation and kernel size): forward,
 * backward-data and backward-weight as implicit GEMMs (WGSL in `shaders.ts`) with a register
 * tile chosen by the caller, and the per-channel sum of the bias gradient.
 *
 * Storages may exceed one binding (FCN's fc6 weight is 411 MB), so every call is split into
 * chunks over images (N), output channels (K) and input channels (C) whose windows each fit
 * `rt.maxBindingElements`; where the reduction dimension is split, later chunks add to the
 * partial sums the earlier ones wrote. Inputs are validated by the callers (`webgpu.ts`).
 *
 * @module
 */
import type { ConvGeom, KernelArgs, Storage } from "../../../device/backend.ts";
import type { GpuKernel, WebGpuRuntime } from "../../../device/webgpu.ts";
import { zeros } from "../../elementwise/webgpu.ts";
import { chunkFlags, pack, planBlocks, ranges } from "../../matmul/blocks.ts";
import {
  CHANNEL_SUM_FIELDS,
  channelSumSource,
  FORWARD_FIELDS,
  forwardSource,
  type GenericTile,
  geomUniforms,
  GRAD_INPUT_FIELDS,
  GRAD_WEIGHT_FIELDS,
  gradInputSource,
  gradWeightSource,
  SUM_SLICES_FIELDS,
  sumSlicesSource,
  WG,
} from "./generic_shaders.ts";

/** Aim for at least this many workgroups when slicing a short, deep reduction. */
const TARGET_GROUPS = 256;
/** Most slices a reduction is cut into. */
const MAX_SLICES = 64;

/** Greatest common divisor of two positive integers. */
function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Sizes of one conv: pixels of input and output, taps. */
function sizes(g: ConvGeom) {
  return { hw: g.h * g.w, p: g.oh * g.ow, kk: g.kh * g.kw };
}

/** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
export function genericConv2d(
  rt: WebGpuRuntime,
  { x, w, b, geom: g, relu }: KernelArgs["conv2d"],
  tile: GenericTile,
): Storage {
  const { n, c, k } = g;
  const { hw, p, kk } = sizes(g);
  const { tc: TC, tp: TP, wg: WG } = tile;
  const y = rt.alloc(n * k * p, "f32"); // [N, K, OH, OW]
  if (y.length === 0) return y;
  const blk = planBlocks({ n, k, c }, [
    { name: "conv2d input", outer: "n", stride: c * hw, inner: "c", unit: hw },
    { name: "conv2d weight", outer: "k", stride: c * kk, inner: "c", unit: kk },
    { name: "conv2d output", outer: "n", stride: k * p, inner: "k", unit: p },
  ], rt.maxBindingElements);
  const kernel = rt.kernel(b ? "conv2d_bias" : "conv2d", forwardSource(b !== null, tile));
  for (const [n0, nb] of ranges(n, blk.n)) {
    for (const [k0, kb] of ranges(k, blk.k)) {
      const cs = ranges(c, blk.c);
      cs.forEach(([c0, cb], i) => {
        const bx = rt.bind(x, n0 * c * hw + c0 * hw, (nb - 1) * c * hw + cb * hw);
        const bw = rt.bind(w, k0 * c * kk + c0 * kk, (kb - 1) * c * kk + cb * kk);
        const bb = b ? rt.bind(b, k0, kb) : null;
        const by = rt.bind(y, n0 * k * p + k0 * p, (nb - 1) * k * p + kb * p);
        const kBlocks = Math.ceil(kb / TC);
        const groups = kBlocks * Math.ceil(nb * p / (WG * TP));
        const u = pack(FORWARD_FIELDS, {
          groups,
          kBlocks,
          nq: nb * p,
          kb,
          cb,
          xBase: bx.base,
          wBase: bw.base,
          bBase: bb?.base ?? 0,
          yBase: by.base,
          ...chunkFlags(i, cs.length),
          relu: relu ? 1 : 0,
          ...geomUniforms(g),
        });
        rt.dispatch(kernel, bb ? [bx, bw, bb, by] : [bx, bw, by], u, groups);
      });
    }
  }
  return y;
}

/** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
export function genericGradInput(
  rt: WebGpuRuntime,
  { dy, w, geom: g }: KernelArgs["conv2dGradInput"],
  tile: GenericTile,
): Storage {
  const { n, c, k } = g;
  const { hw, p, kk } = sizes(g);
  const { tc: TC, tp: TP, wg: WG } = tile;
  if (k === 0 || p === 0) return zeros(rt, n * c * hw); // nothing reaches dx
  const dx = rt.alloc(n * c * hw, "f32"); // [N, C, H, W]
  if (dx.length === 0) return dx;
  const blk = planBlocks({ n, c, k }, [
    { name: "conv2dGradInput dx", outer: "n", stride: c * hw, inner: "c", unit: hw },
    { name: "conv2dGradInput dy", outer: "n", stride: k * p, inner: "k", unit: p },
    { name: "conv2dGradInput weight", outer: "k", stride: c * kk, inner: "c", unit: kk },
  ], rt.maxBindingElements);
  const kernel = rt.kernel("conv2d_grad_input", gradInputSource(tile));
  // Input pixels of one phase (ih % sh, iw % sw) form a grid of at most gh x gw.
  const gh = Math.ceil(g.h / g.strideH), gw = Math.ceil(g.w / g.strideW);
  for (const [n0, nb] of ranges(n, blk.n)) {
    for (const [c0, cb] of ranges(c, blk.c)) {
      ranges(k, blk.k).forEach(([k0, kb], i) => {
        const bdy = rt.bind(dy, n0 * k * p + k0 * p, (nb - 1) * k * p + kb * p);
        const bw = rt.bind(w, k0 * c * kk + c0 * kk, (kb - 1) * c * kk + cb * kk);
        const bdx = rt.bind(dx, n0 * c * hw + c0 * hw, (nb - 1) * c * hw + cb * hw);
        const cBlocks = Math.ceil(cb / TC);
        const nq = nb * gh * gw;
        const groups = cBlocks * g.strideH * g.strideW * Math.ceil(nq / (WG * TP));
        const u = pack(GRAD_INPUT_FIELDS, {
          groups,
          cBlocks,
          nq,
          gw,
          cb,
          kb,
          dyBase: bdy.base,
          wBase: bw.base,
          dxBase: bdx.base,
          first: i === 0 ? 1 : 0,
          stepH: g.strideH / gcd(g.strideH, g.dilH),
          stepW: g.strideW / gcd(g.strideW, g.dilW),
          ...geomUniforms(g),
        });
        rt.dispatch(kernel, [bdy, bw, bdx], u, groups);
      });
    }
  }
  return dx;
}

/** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
export function genericGradWeight(
  rt: WebGpuRuntime,
  { dy, x, geom: g }: KernelArgs["conv2dGradWeight"],
  tile: GenericTile,
): Storage {
  const { n, c, k } = g;
  const { hw, p, kk } = sizes(g);
  const { tc: TC, tp: TP, wg: WG } = tile;
  if (n === 0 || p === 0 || hw === 0) return zeros(rt, k * c * kk); // an empty sum
  const dw = rt.alloc(k * c * kk, "f32"); // [K, C, KH, KW]
  if (dw.length === 0) return dw;
  const maxE = rt.maxBindingElements;
  const blk = planBlocks({ k, c, n }, [
    { name: "conv2dGradWeight dw", outer: "k", stride: c * kk, inner: "c", unit: kk },
    { name: "conv2dGradWeight dy", outer: "n", stride: k * p, inner: "k", unit: p },
    { name: "conv2dGradWeight input", outer: "n", stride: c * hw, inner: "c", unit: hw },
  ], maxE);
  // A short, deep reduction (few weights, many pixels) is cut into slices summed afterwards.
  const tiles = Math.ceil(blk.k / TC) * Math.ceil(blk.c * kk / (WG * TP));
  const whole = blk.k >= k && blk.c >= c;
  const slices = whole
    ? Math.max(
      1,
      Math.min(
        MAX_SLICES,
        Math.ceil(TARGET_GROUPS / tiles),
        Math.ceil(blk.n * g.oh / 8),
        Math.floor(maxE / dw.length),
      ),
    )
    : 1;
  const out = slices > 1 ? rt.alloc(slices * dw.length, "f32") : dw; // [S, K, C, KH, KW]
  const kernel = rt.kernel("conv2d_grad_weight", gradWeightSource(tile));
  for (const [k0, kb] of ranges(k, blk.k)) {
    for (const [c0, cb] of ranges(c, blk.c)) {
      ranges(n, blk.n).forEach(([n0, nb], i) => {
        const bdy = rt.bind(dy, n0 * k * p + k0 * p, (nb - 1) * k * p + kb * p);
        const bx = rt.bind(x, n0 * c * hw + c0 * hw, (nb - 1) * c * hw + cb * hw);
        const bdw = slices > 1
          ? rt.bind(out, 0, out.length)
          : rt.bind(out, k0 * c * kk + c0 * kk, (kb - 1) * c * kk + cb * kk);
        const kBlocks = Math.ceil(kb / TC);
        const rBlocks = Math.ceil(cb * kk / (WG * TP));
        const rows = nb * g.oh;
        const groups = kBlocks * rBlocks * slices;
        const u = pack(GRAD_WEIGHT_FIELDS, {
          groups,
          kBlocks,
          rBlocks,
          rb: cb * kk,
          kb,
          rows,
          sliceRows: Math.ceil(rows / slices),
          sliceStride: dw.length,
          dyBase: bdy.base,
          xBase: bx.base,
          dwBase: bdw.base,
          first: i === 0 ? 1 : 0,
          ...geomUniforms(g),
        });
        rt.dispatch(kernel, [bdy, bx, bdw], u, groups);
      });
    }
  }
  if (slices > 1) {
    sumSlices(rt, out, slices, dw);
    rt.free(out);
  }
  return dw;
}

/** `y[i] = sum over s of p[s * y.length + i]`; `p` must fit one binding. */
export function sumSlices(rt: WebGpuRuntime, p: Storage, slices: number, y: Storage): void {
  const kernel: GpuKernel = rt.kernel("conv_sum_slices", sumSlicesSource());
  const bp = rt.bind(p, 0, p.length);
  const by = rt.bind(y, 0, y.length);
  const groups = Math.ceil(y.length / WG);
  const u = pack(SUM_SLICES_FIELDS, {
    groups,
    len: y.length,
    slices,
    pBase: bp.base,
    yBase: by.base,
  });
  rt.dispatch(kernel, [bp, by], u, groups);
}

/** x `[N, C, H, W]` -> `[C]` sums over N, H, W. */
export function channelSum(rt: WebGpuRuntime, { x, planes: p }: KernelArgs["channelSum"]): Storage {
  const hw = p.h * p.w;
  if (p.n === 0 || hw === 0) return zeros(rt, p.c); // an empty sum
  const y = rt.alloc(p.c, "f32"); // [C]
  if (y.length === 0) return y;
  const maxE = rt.maxBindingElements;
  const blk = planBlocks({ n: p.n, c: p.c }, [
    { name: "channelSum input", outer: "n", stride: p.c * hw, inner: "c", unit: hw },
  ], maxE);
  // Slices of the planes give work to more invocations than there are channels.
  const slices = Math.max(1, Math.min(MAX_SLICES, Math.ceil(hw / 1024), Math.floor(maxE / p.c)));
  const sliceLen = Math.ceil(hw / slices);
  const part = slices > 1 ? rt.alloc(slices * p.c, "f32") : y; // [S, C]
  const kernel = rt.kernel("channel_sum", channelSumSource());
  for (const [c0, cb] of ranges(p.c, blk.c)) {
    ranges(p.n, blk.n).forEach(([n0, nb], i) => {
      const bx = rt.bind(x, n0 * p.c * hw + c0 * hw, (nb - 1) * p.c * hw + cb * hw);
      const bp = rt.bind(part, 0, part.length);
      const count = cb * slices;
      const groups = Math.ceil(count / WG);
      const u = pack(CHANNEL_SUM_FIELDS, {
        groups,
        count,
        slices,
        sliceLen,
        nb,
        c: p.c,
        hw,
        c0,
        xBase: bx.base,
        pBase: bp.base,
        first: i === 0 ? 1 : 0,
      });
      rt.dispatch(kernel, [bx, bp], u, groups);
    });
  }
  if (slices > 1) {
    sumSlices(rt, part, slices, y);
    rt.free(part);
  }
  return y;
}
