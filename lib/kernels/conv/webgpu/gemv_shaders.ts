/**
 * WGSL of the few-pixel convolution path: layers whose output has at most a handful of pixels
 * in all (FCN's fc6 and fc7 on small inputs: a 7x7 kernel over a 7x7 map gives one pixel). The
 * pixel-parallel kernels would leave all but one lane idle; here the invocations run over the
 * weights instead, each reading its own `vec4` of weights per step, and the few pixels' values,
 * the same for every invocation, come from uniform windows of packed copies:
 *
 * - forward: one invocation per output channel, `y[k, s] = sum over r of w[k, r] * col[s, r]`;
 * - backward-data: one invocation per 4 reduction indices, `dcol[s, r] = sum over k of
 *   w[k, r] * dy[s, k]`, then a gather `col2im` into dx;
 * - backward-weight: one invocation per 4 reduction indices, `dw[k, r] = sum over s of
 *   dy[s, k] * col[s, r]`.
 *
 * `r` runs over `C * KH * KW` (a multiple of 4 on this path), `s` over the `np` output pixels
 * of all images (at most `nps`, baked into the source).
 *
 * @module
 */
import { each } from "../../matmul/blocks.ts";
import { alongX, bindings, perGroup } from "../../_wgsl.ts";
import { GEOM_FIELDS } from "./generic_shaders.ts";
import { UNIFORM_BLOCK } from "./scratch.ts";

function main(wg: number): string {
  return `${perGroup(wg)}
  let q = g * ${wg}u + lid.x;`;
}

/** Uniform fields of {@linkcode colSource}, in order. */
export const COL_FIELDS = [
  "rr", // reduction length C * KH * KW
  "np", // output pixels in all: images * OH * OW
  "rw", // reduction indices per window (a multiple of 4)
  "p", // output pixels per image
  ...GEOM_FIELDS,
  "xBase",
] as const;

/**
 * im2col of the `np` output pixels, window by window of `rw` reduction indices: the window
 * starting at `r0` holds `[np, min(rw, rr - r0)]` values from `r0 * np` on. Grid:
 * `[ceil(rr / 64), np, 1]`. Bindings: x, out, uniforms.
 */
export function colSource(): string {
  return `${bindings(["x", "mut out"], COL_FIELDS)}

${alongX(64, "r", "r >= u.rr")}
  let s = wid.y;
  let n = s / u.p;
  let oh = (s % u.p) / u.ow;
  let ow = s % u.ow;
  let kk = u.kh * u.kw;
  let c = r / kk;
  let ih = i32(oh * u.sh + ((r % kk) / u.kw) * u.dh) - i32(u.ph);
  let iw = i32(ow * u.sw + (r % u.kw) * u.dw) - i32(u.pw);
  let ok = ih >= 0 && ih < i32(u.h) && iw >= 0 && iw < i32(u.w);
  let src = u.xBase + ((n * u.c + c) * u.h + u32(max(ih, 0))) * u.w + u32(max(iw, 0));
  let r0 = r - r % u.rw;
  out[r0 * u.np + s * min(u.rw, u.rr - r0) + r - r0] = select(0.0, x[select(0u, src, ok)], ok);
}`;
}

/** Uniform fields of {@linkcode gemvSource}, in order. */
export const GEMV_FIELDS = [
  "groups",
  "kb", // output channels in this chunk
  "k0", // first output channel of the chunk
  "k",
  "rr",
  "r0", // first reduction index of the window
  "rw", // reduction indices in this window
  "np",
  "p",
  "wBase", // in vec4 words
  "cBase", // offset of the window's first value inside the bound uniform window
  "bBase",
  "yBase",
  "first",
  "last",
  "relu",
  "hasBias",
] as const;

/**
 * Forward over one window of the reduction for one chunk of output channels. Bindings: w
 * (`vec4` words), the column window (uniform), bias (any read-only buffer when there is none),
 * y, uniforms.
 */
export function gemvSource(nps: number, wg: number): string {
  return `${bindings(["w: vec4f", `uniform col: ${UNIFORM_BLOCK}`, "bias", "mut y"], GEMV_FIELDS)}

${main(wg)}
  if (q >= u.kb) { return; }
  let wr = u.wBase + (q * u.rr + u.r0) / 4u;
  let cb = u.cBase / 4u;
  let cs = u.rw / 4u;
${each(nps, (s) => `  var a${s} = vec4f(0.0);`)}
  for (var i = 0u; i < cs; i++) {
    let wv = w[wr + i];
${each(nps, (s) => `    a${s} += wv * col[cb + ${s}u * cs + i];`)}
  }
  let k = u.k0 + q;
  var b = 0.0;
  if (u.last == 1u && u.hasBias == 1u) { b = bias[u.bBase + k]; }
${
    each(nps, (s) =>
      `  if (${s}u < u.np) {
    let o = u.yBase + ((${s}u / u.p) * u.k + k) * u.p + ${s}u % u.p;
    var v = a${s}.x + a${s}.y + a${s}.z + a${s}.w + b;
    if (u.first == 0u) { v += y[o]; }
    if (u.last == 1u && u.relu == 1u) { v = max(v, 0.0); }
    y[o] = v;
  }`)
  }
}`;
}

/** Uniform fields of {@linkcode dyPackSource}, in order. */
export const DY_FIELDS = ["total", "k", "p", "dyBase"] as const;

/**
 * dy `[N, K, P]` -> `[N * P, K]` (pixel-major), for uniform windows. Bindings: dy, out,
 * uniforms.
 */
export function dyPackSource(): string {
  return `${bindings(["dy", "mut out"], DY_FIELDS)}

${alongX(64, "i", "i >= u.total")}
  let s = i / u.k;
  let k = i % u.k;
  out[i] = dy[u.dyBase + ((s / u.p) * u.k + k) * u.p + s % u.p];
}`;
}

/** Uniform fields of {@linkcode gemvTSource} and {@linkcode outerSource}, in order. */
export const GEMVT_FIELDS = [
  "groups",
  "kb", // output channels (rows of w) in this chunk
  "k0",
  "k",
  "rr",
  "np",
  "wBase", // in vec4 words
  "dBase", // offset of dy's first value inside the bound uniform window
  "cBase", // (outer) offset of the column window's first value
  "r0", // (outer) first reduction index of the column window
  "rw", // (outer) reduction indices in the column window
  "oBase",
  "first",
] as const;

/**
 * Backward-data columns: `dcol[s, r..r+3] (+)= sum over the chunk's k of w[k, r..r+3] *
 * dy[s, k]`, one invocation per 4 reduction indices. Bindings: w (`vec4` words), dy
 * (uniform, `[np, K]`), dcol (`vec4` words, `[np, rr]`), uniforms.
 */
export function gemvTSource(nps: number, wg: number): string {
  return `${
    bindings(["w: vec4f", `uniform dyu: ${UNIFORM_BLOCK}`, "mut dcol: vec4f"], GEMVT_FIELDS)
  }

${main(wg)}
  let r4 = u.rr / 4u;
  if (q >= r4) { return; }
${each(nps, (s) => `  var a${s} = vec4f(0.0);`)}
  for (var kl = 0u; kl < u.kb; kl++) {
    let wv = w[u.wBase + kl * r4 + q];
    let d = u.dBase + u.k0 + kl;
${each(nps, (s) => `    a${s} += wv * dyu[(d + ${s}u * u.k) / 4u][(d + ${s}u * u.k) % 4u];`)}
  }
${
    each(nps, (s) =>
      `  if (${s}u < u.np) {
    let o = u.oBase / 4u + ${s}u * r4 + q;
    var v = a${s};
    if (u.first == 0u) { v += dcol[o]; }
    dcol[o] = v;
  }`)
  }
}`;
}

/**
 * Backward-weight: `dw[k, r..r+3] = sum over s of dy[s, k] * col[s, r..r+3]` for the chunk's
 * rows and one window of columns, one invocation per 4 reduction indices of the window.
 * Bindings: dy (uniform, `[np, K]`), the column window (uniform), dw (`vec4` words), uniforms.
 */
export function outerSource(nps: number, wg: number): string {
  return `${
    bindings(
      [`uniform dyu: ${UNIFORM_BLOCK}`, `uniform col: ${UNIFORM_BLOCK}`, "mut dw: vec4f"],
      GEMVT_FIELDS,
    )
  }

${main(wg)}
  let cs = u.rw / 4u;
  if (q >= cs) { return; }
  let cb = u.cBase / 4u;
${each(nps, (s) => `  let c${s} = col[cb + ${s}u * cs + q];`)}
  for (var kl = 0u; kl < u.kb; kl++) {
    let d = u.dBase + u.k0 + kl;
    var v = vec4f(0.0);
${
    each(nps, (s) =>
      `    if (${s}u < u.np) { v += c${s} * dyu[(d + ${s}u * u.k) / 4u][(d + ${s}u * u.k) % 4u]; }`)
  }
    dw[u.oBase / 4u + kl * (u.rr / 4u) + u.r0 / 4u + q] = v;
  }
}`;
}

/**
 * dx `[N, C, H, W]` from the columns `[np, rr]` (plain layout, not windowed): each input pixel
 * sums the taps of every output pixel of its image that reach it. Uniforms: those of
 * {@linkcode colSource} (`rw` unused, `xBase` locating dx). Bindings: dcol, dx, uniforms.
 */
export function col2imSource(): string {
  return `${bindings(["dcol", "mut dx"], COL_FIELDS)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let i = (wid.x + wid.y * nwg.x) * 64u + lid.x;
  let hw = u.h * u.w;
  let images = u.np / u.p;
  if (i >= images * u.c * hw) { return; }
  let n = i / (u.c * hw);
  let c = (i / hw) % u.c;
  let ih = i32((i % hw) / u.w);
  let iw = i32(i % u.w);
  var acc = 0.0;
  for (var p = 0u; p < u.p; p++) {
    let a = ih + i32(u.ph) - i32((p / u.ow) * u.sh);
    let b = iw + i32(u.pw) - i32((p % u.ow) * u.sw);
    let ti = a / i32(u.dh);
    let tj = b / i32(u.dw);
    let ok = a >= 0 && b >= 0 && a % i32(u.dh) == 0 && b % i32(u.dw) == 0 &&
      ti < i32(u.kh) && tj < i32(u.kw);
    let r = (c * u.kh + u32(max(ti, 0))) * u.kw + u32(max(tj, 0));
    acc += select(0.0, dcol[select(0u, (n * u.p + p) * u.rr + r, ok)], ok);
  }
  dx[u.xBase + i] = acc;
}`;
}
