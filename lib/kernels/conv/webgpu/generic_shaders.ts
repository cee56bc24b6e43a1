/**
 * WGSL of the general convolution kernels (any stride, padding, dilation, kernel size), all
 * implicit GEMMs with a register tile per invocation and no workgroup memory. Only the tile
 * (see {@linkcode GenericTile}) is baked into the source; every size, stride, padding and
 * window offset comes from the uniform block, so one pipeline per tile serves every layer.
 *
 * Each workgroup owns a few channels (the tile's rows) shared by all its invocations, so the
 * weight (or dy) addresses are the same in every lane. (llvmpipe does not exploit that: on
 * Mesa 22.3 every storage load is a loop over the 8 lanes, uniform or not, which is why the
 * stride-1 layers have faster kernels of their own, `direct_shaders.ts`.) The tile's columns
 * (pixels, or weight taps) spread over the lanes, the `j`-th of an invocation being `WG * j`
 * after the first. All control flow inside the loops is uniform; per-lane conditions (padding,
 * ragged edges) become `select`s.
 *
 * Window layout: every storage is bound as a window starting at its chunk's first element, and
 * `*Base` is the offset of that element inside the bound window (see `WebGpuRuntime.bind`).
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import { each, grid } from "../../matmul/blocks.ts";
import { bindings, perGroup } from "../../_wgsl.ts";

/** Register tile of the general kernels. */
export interface GenericTile {
  /** Channels per invocation (rows of the register tile, uniform across the workgroup). */
  tc: number;
  /** Pixels (or weight taps) per invocation (columns of the register tile). */
  tp: number;
  /** Invocations per workgroup. */
  wg: number;
}

/** The tile the general kernels were written with (and the default without tuning). */
export const GENERIC_TILE: GenericTile = { tc: 16, tp: 8, wg: 64 };

/** Invocations per workgroup of the small reduction kernels. */
export const WG = 64;

/** The geometry uniforms of the general and few-pixel kernels, after their own. */
export const GEOM_FIELDS = [
  "c",
  "h",
  "w",
  "k",
  "kh",
  "kw",
  "oh",
  "ow",
  "sh",
  "sw",
  "ph",
  "pw",
  "dh",
  "dw",
] as const;

/** The geometry uniforms of the conv kernels, by the names the shaders give them. */
export function geomUniforms(g: ConvGeom): Record<(typeof GEOM_FIELDS)[number], number> {
  const { c, h, w, k, kh, kw, oh, ow } = g;
  const [sh, sw, ph, pw, dh, dw] = [g.strideH, g.strideW, g.padH, g.padW, g.dilH, g.dilW];
  return { c, h, w, k, kh, kw, oh, ow, sh, sw, ph, pw, dh, dw };
}

/**
 * The opening of a general kernel: its bindings, `main` over workgroups, and the sizes every
 * one of them uses: `P` output pixels, `HW` input pixels and `KK` taps.
 */
function opening(buffers: (string | false)[], fields: readonly string[], wg: number): string {
  return `${bindings(buffers, fields)}

${perGroup(wg)}
  let P = u.oh * u.ow;
  let HW = u.h * u.w;
  let KK = u.kh * u.kw;`;
}

/**
 * WGSL: `value${j}`, the element of `buf` at column `s${j}` of the row starting at `row${j}` when
 * `rok${j}` (the row is inside) and the column is in `[0, width)`, else 0 (the zero padding);
 * the index read is clamped to 0 outside, so that no read leaves the buffer.
 */
function padded(
  j: number,
  { value, buf, row, width }: { value: string; buf: string; row: string; width: string },
): string {
  return `let ok${j} = rok${j} && s${j} >= 0 && s${j} < i32(${width});
  let ${value}${j} = select(0.0, ${buf}[select(0u, u32(${row}${j} + s${j}), ok${j})], ok${j});`;
}

/** WGSL: `xv${j}`, the input x at row `xr${j}`, column `s${j}` (see {@linkcode padded}). */
const readX = (j: number) => padded(j, { value: "xv", buf: "x", row: "xr", width: "u.w" });

/** Uniform fields of {@linkcode forwardSource}, in order. */
export const FORWARD_FIELDS = [
  "groups", // workgroups in this dispatch
  "kBlocks", // blocks of TC output channels
  "nq", // output pixels in this chunk: images * OH * OW
  "kb", // output channels in this chunk
  "cb", // input channels in this chunk
  "xBase",
  "wBase",
  "bBase",
  "yBase",
  "first", // 1: write; 0: add to the partial sum already in y
  "last", // 1: add the bias and apply the ReLU
  "relu",
  ...GEOM_FIELDS,
] as const;

/**
 * Forward: y `[N, K, OH, OW]` = w `[K, C*KH*KW]` @ im2col(x) `[C*KH*KW, N*OH*OW]` + b.
 * Bindings: x, w, (bias), y, uniforms.
 */
export function forwardSource(bias: boolean, tile: GenericTile = GENERIC_TILE): string {
  const { tc: TC, tp: TP, wg: WG } = tile;
  return `${opening(["x", "w", bias && "bias", "mut y"], FORWARD_FIELDS, WG)}
  let k0 = (g % u.kBlocks) * ${TC}u;
  let qs = (g / u.kBlocks) * ${WG * TP}u + lid.x;
${each(TC, (t) => `  let wr${t} = u.wBase + min(k0 + ${t}u, u.kb - 1u) * u.c * KK;`)}
${
    each(TP, (j) =>
      `  let q${j} = qs + ${j * WG}u;
  let v${j} = q${j} < u.nq;
  let n${j} = min(q${j}, u.nq - 1u) / P;
  let p${j} = min(q${j}, u.nq - 1u) % P;
  let xo${j} = u.xBase + n${j} * u.c * HW;
  let ih${j} = i32((p${j} / u.ow) * u.sh) - i32(u.ph);
  let iw${j} = i32((p${j} % u.ow) * u.sw) - i32(u.pw);`)
  }
${grid(TC, TP, (t, j) => `  var acc${t}_${j} = 0.0;`)}
  for (var ci = 0u; ci < u.cb; ci++) {
    for (var i = 0u; i < u.kh; i++) {
      let wi = ci * KK + i * u.kw;
${
    each(TP, (j) =>
      `      let r${j} = ih${j} + i32(i * u.dh);
      let rok${j} = v${j} && r${j} >= 0 && r${j} < i32(u.h);
      let xr${j} = i32(xo${j} + ci * HW) + r${j} * i32(u.w);`)
  }
      for (var jj = 0u; jj < u.kw; jj++) {
${
    each(TP, (j) =>
      `        let s${j} = iw${j} + i32(jj * u.dw);
        ${readX(j)}`)
  }
${each(TC, (t) => `        let wv${t} = w[wr${t} + wi + jj];`)}
${grid(TC, TP, (t, j) => `        acc${t}_${j} += wv${t} * xv${j};`)}
      }
    }
  }
${
    grid(TC, TP, (t, j) =>
      `  if (k0 + ${t}u < u.kb && v${j}) {
    let o = u.yBase + n${j} * u.k * P + (k0 + ${t}u) * P + p${j};
    var s = select(y[o], 0.0, u.first == 1u) + acc${t}_${j};
    if (u.last == 1u) {
      ${bias ? `s += bias[u.bBase + k0 + ${t}u];` : ""}
      if (u.relu == 1u) { s = max(s, 0.0); }
    }
    y[o] = s;
  }`)
  }
}`;
}

/** Uniform fields of {@linkcode gradInputSource}, in order. */
export const GRAD_INPUT_FIELDS = [
  "groups",
  "cBlocks", // blocks of TC input channels
  "nq", // pixels of one phase grid in this chunk: images * ceil(H / sh) * ceil(W / sw)
  "gw", // columns of a phase grid: ceil(W / sw)
  "cb", // input channels in this chunk
  "kb", // output channels (the reduction) in this chunk
  "dyBase",
  "wBase",
  "dxBase",
  "first",
  "stepH", // sh / gcd(sh, dh): rows between the taps that hit one phase
  "stepW", // sw / gcd(sw, dw)
  ...GEOM_FIELDS,
] as const;

/**
 * Backward-data as a gather: dx `[N, C, H, W]` = w^T `[C, K*KH*KW]` @ col(dy). Input pixels
 * are grouped by phase `(ih % sh, iw % sw)`: within a phase the taps that hit an output pixel
 * are the same for every pixel, so a workgroup (one phase) loops over those taps only, and
 * strided layers (FCN's upsamplers) cost no wasted multiply. Bindings: dy, w, dx, uniforms.
 */
export function gradInputSource(tile: GenericTile = GENERIC_TILE): string {
  const { tc: TC, tp: TP, wg: WG } = tile;
  return `${opening(["dy", "w", "mut dx"], GRAD_INPUT_FIELDS, WG)}
  let GH = (u.h + u.sh - 1u) / u.sh;
  let phases = u.sh * u.sw;
  let c0 = (g % u.cBlocks) * ${TC}u;
  let phase = (g / u.cBlocks) % phases;
  let fh = phase / u.sw;
  let fw = phase % u.sw;
  let qs = (g / u.cBlocks / phases) * ${WG * TP}u + lid.x;
${each(TC, (t) => `  let wc${t} = u.wBase + min(c0 + ${t}u, u.cb - 1u) * KK;`)}
${
    each(TP, (j) =>
      `  let q${j} = min(qs + ${j * WG}u, u.nq - 1u);
  let n${j} = q${j} / (GH * u.gw);
  let a${j} = (q${j} % (GH * u.gw)) / u.gw;
  let b${j} = q${j} % u.gw;
  let ih${j} = fh + a${j} * u.sh;
  let iw${j} = fw + b${j} * u.sw;
  let v${j} = qs + ${j * WG}u < u.nq && ih${j} < u.h && iw${j} < u.w;
  let dyo${j} = u.dyBase + n${j} * u.k * P;`)
  }
  // Tap i reaches input row ih from output row (ih + ph - i * dh) / sh when that divides
  // exactly, which depends on the phase only: the hitting taps are i0, i0 + stepH, ...
  // (loops with uniform bounds: llvmpipe runs a skipped branch anyway, masked).
  // offH/offW (multiples of the strides, at least the taps' reach) keep the operands of % and /
  // non-negative: signed remainders of negative values are undefined on some backends (GLSL).
  let offH = u.sh * u.kh * u.dh;
  let offW = u.sw * u.kw * u.dw;
  var i0 = u.kh;
  for (var i = 0u; i < u.stepH; i++) {
    let hit = (fh + u.ph + offH - i * u.dh) % u.sh == 0u;
    i0 = select(i0, i, hit && i0 == u.kh);
  }
  var j0 = u.kw;
  for (var jj = 0u; jj < u.stepW; jj++) {
    let hit = (fw + u.pw + offW - jj * u.dw) % u.sw == 0u;
    j0 = select(j0, jj, hit && j0 == u.kw);
  }
${grid(TC, TP, (t, j) => `  var acc${t}_${j} = 0.0;`)}
  for (var kk = 0u; kk < u.kb; kk++) {
    let wk = kk * u.c * KK;
    let dyk = kk * P;
    for (var i = i0; i < u.kh; i += u.stepH) {
      let oho = i32((fh + u.ph + offH - i * u.dh) / u.sh) - i32(u.kh * u.dh);
${
    each(TP, (j) =>
      `      let r${j} = i32(a${j}) + oho;
      let rok${j} = v${j} && r${j} >= 0 && r${j} < i32(u.oh);
      let dr${j} = i32(dyo${j} + dyk) + r${j} * i32(u.ow);`)
  }
      for (var jj = j0; jj < u.kw; jj += u.stepW) {
        let owo = i32((fw + u.pw + offW - jj * u.dw) / u.sw) - i32(u.kw * u.dw);
${
    each(TP, (j) =>
      `        let s${j} = i32(b${j}) + owo;
        ${padded(j, { value: "dv", buf: "dy", row: "dr", width: "u.ow" })}`)
  }
${each(TC, (t) => `        let wv${t} = w[wc${t} + wk + i * u.kw + jj];`)}
${grid(TC, TP, (t, j) => `        acc${t}_${j} += wv${t} * dv${j};`)}
      }
    }
  }
${
    grid(TC, TP, (t, j) =>
      `  if (c0 + ${t}u < u.cb && v${j}) {
    let o = u.dxBase + n${j} * u.c * HW + (c0 + ${t}u) * HW + ih${j} * u.w + iw${j};
    dx[o] = select(dx[o], 0.0, u.first == 1u) + acc${t}_${j};
  }`)
  }
}`;
}

/** Uniform fields of {@linkcode gradWeightSource}, in order. */
export const GRAD_WEIGHT_FIELDS = [
  "groups",
  "kBlocks", // blocks of TC output channels
  "rBlocks", // blocks of WG * TP taps
  "rb", // taps in this chunk: input channels * KH * KW
  "kb", // output channels in this chunk
  "rows", // output rows (images * OH) in this chunk
  "sliceRows", // output rows per slice of the reduction
  "sliceStride", // elements between the partial sums of two slices
  "dyBase",
  "xBase",
  "dwBase",
  "first",
  ...GEOM_FIELDS,
] as const;

/**
 * Backward-weight: dw `[K, C*KH*KW]` = dy `[K, N*OH*OW]` @ im2col(x)^T, the reduction over
 * N*OH*OW optionally cut into slices (workgroups along the grid's last axis) whose partial
 * sums land `sliceStride` apart. Bindings: dy, x, dw, uniforms.
 */
export function gradWeightSource(tile: GenericTile = GENERIC_TILE): string {
  const { tc: TC, tp: TP, wg: WG } = tile;
  return `${opening(["dy", "x", "mut dw"], GRAD_WEIGHT_FIELDS, WG)}
  let k0 = (g % u.kBlocks) * ${TC}u;
  let rBlk = (g / u.kBlocks) % u.rBlocks;
  let slice = g / u.kBlocks / u.rBlocks;
  let row0 = slice * u.sliceRows;
  let row1 = min(row0 + u.sliceRows, u.rows);
  let qs = rBlk * ${WG * TP}u + lid.x;
${each(TC, (t) => `  let dyo${t} = u.dyBase + min(k0 + ${t}u, u.kb - 1u) * P;`)}
${
    each(TP, (j) =>
      `  let v${j} = qs + ${j * WG}u < u.rb;
  let q${j} = min(qs + ${j * WG}u, u.rb - 1u);
  let xo${j} = u.xBase + (q${j} / KK) * HW;
  let dh${j} = i32(((q${j} % KK) / u.kw) * u.dh) - i32(u.ph);
  let dw${j} = i32((q${j} % u.kw) * u.dw) - i32(u.pw);`)
  }
${grid(TC, TP, (t, j) => `  var acc${t}_${j} = 0.0;`)}
  for (var row = row0; row < row1; row++) {
    let n = row / u.oh;
    let oh = row % u.oh;
    let dyr = n * u.k * P + oh * u.ow;
${
    each(TP, (j) =>
      `    let r${j} = i32(oh * u.sh) + dh${j};
    let rok${j} = r${j} >= 0 && r${j} < i32(u.h);
    let xr${j} = i32(xo${j} + n * u.c * HW) + r${j} * i32(u.w);`)
  }
    for (var o = 0u; o < u.ow; o++) {
${
    each(TP, (j) =>
      `      let s${j} = i32(o * u.sw) + dw${j};
      ${readX(j)}`)
  }
${each(TC, (t) => `      let dv${t} = dy[dyo${t} + dyr + o];`)}
${grid(TC, TP, (t, j) => `      acc${t}_${j} += dv${t} * xv${j};`)}
    }
  }
${
    grid(TC, TP, (t, j) =>
      `  if (k0 + ${t}u < u.kb && v${j}) {
    let o = u.dwBase + slice * u.sliceStride + (k0 + ${t}u) * u.c * KK + qs + ${j * WG}u;
    dw[o] = select(dw[o], 0.0, u.first == 1u) + acc${t}_${j};
  }`)
  }
}`;
}

/** Uniform fields of {@linkcode channelSumSource}, in order. */
export const CHANNEL_SUM_FIELDS = [
  "groups",
  "count", // channels in this chunk * slices
  "slices",
  "sliceLen", // pixels per slice
  "nb", // images in this chunk
  "c",
  "hw",
  "c0", // first channel of this chunk
  "xBase",
  "pBase",
  "first",
] as const;

/**
 * Partial channel sums: `p[s * C + c]` = the sum over the chunk's images and slice `s` of the
 * pixels of channel `c`. Bindings: x, p, uniforms.
 */
export function channelSumSource(): string {
  return `${bindings(["x", "mut p"], CHANNEL_SUM_FIELDS)}

${perGroup(WG)}
  let i = g * ${WG}u + lid.x;
  if (i >= u.count) { return; }
  let cl = i / u.slices;
  let s = i % u.slices;
  let p0 = min(s * u.sliceLen, u.hw);
  let p1 = min(p0 + u.sliceLen, u.hw);
  var acc = 0.0;
  for (var n = 0u; n < u.nb; n++) {
    let base = u.xBase + (n * u.c + cl) * u.hw;
    for (var q = p0; q < p1; q++) { acc += x[base + q]; }
  }
  let o = u.pBase + s * u.c + u.c0 + cl;
  p[o] = select(p[o], 0.0, u.first == 1u) + acc;
}`;
}

/** Uniform fields of {@linkcode sumSlicesSource}, in order. */
export const SUM_SLICES_FIELDS = ["groups", "len", "slices", "pBase", "yBase"] as const;

/** `y[i] = sum over s of p[s * len + i]`. Bindings: p, y, uniforms. */
export function sumSlicesSource(): string {
  return `${bindings(["p", "mut y"], SUM_SLICES_FIELDS)}

${perGroup(WG)}
  let i = g * ${WG}u + lid.x;
  if (i >= u.len) { return; }
  var acc = 0.0;
  for (var s = 0u; s < u.slices; s++) { acc += p[u.pBase + s * u.len + i]; }
  y[u.yBase + i] = acc;
}`;
}
