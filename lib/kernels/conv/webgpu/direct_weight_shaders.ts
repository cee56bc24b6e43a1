/**
 * WGSL of the direct (stride-1) backward-weight: dw `[K, C, KH, KW]` = the correlation of x
 * `[N, C, H, W]` with dy `[N, K, OH, OW]`. Same reasoning as `direct_shaders.ts`, with the
 * roles turned: each invocation owns one input channel and holds the `tk * kh * kw` weights of
 * a block of `tk` output channels in registers; the dy values (the same for every channel) come
 * from a 64 KiB uniform window of a packed copy, and one input row segment of `p + kw - 1`
 * values serves `kw` taps of `p` output columns.
 *
 * The output rows of a band (one uniform window) are split into `slices` runs handled by
 * different invocations when there are few channels; each slice sums into its own copy of dw,
 * added up afterwards.
 *
 * @module
 */
import { each } from "../../matmul/blocks.ts";
import { alongX, bindings, perGroup } from "../../_wgsl.ts";
import { UNIFORM_BLOCK } from "./scratch.ts";

/** Register tile of one invocation of the backward-weight kernel. */
export interface WeightTile {
  /** Output channels per invocation (a multiple of 4). */
  tk: number;
  /** Output columns per step (a multiple of 4). */
  p: number;
  /** Invocations per workgroup. */
  wg: number;
}

/** Uniform fields of {@linkcode weightSource}, in order. */
export const WEIGHT_FIELDS = [
  "groups",
  "lanes", // channels * slices
  "c",
  "slices",
  "rs", // output rows per slice
  "rb", // output rows in this band
  "oh0", // first output row of the band
  "n", // image (inside the x window)
  "k0", // first output channel of the block
  "k",
  "h",
  "w",
  "owp", // output columns padded to a multiple of p
  "ph",
  "pw",
  "xBase",
  "dBase", // offset of the band's first value inside the bound uniform window
  "oBase",
  "sliceStride", // elements between two slices' copies of dw
  "first", // 1: write; 0: add to the partial sums already there
] as const;

/**
 * Backward-weight over one band of output rows of one image for one block of output channels.
 * Bindings: x, the dy window (uniform, packed by {@linkcode dyPackSource}), out, uniforms.
 */
export function weightSource(kh: number, kw: number, t: WeightTile): string {
  const { tk, p, wg } = t;
  if (tk % 4 !== 0 || p % 4 !== 0) {
    throw new RangeError(
      `direct backward-weight: expected tk, p multiples of 4 but got ${tk}, ${p}`,
    );
  }
  const kk = kh * kw, nc = p + kw - 1;
  const accs: [number, number][] = [];
  for (let c = 0; c < tk; c++) for (let e = 0; e < kk; e++) accs.push([c, e]);
  const mac = ([c, e]: [number, number]) => {
    const i = Math.floor(e / kw), j = e % kw;
    const terms = Array.from({ length: p }, (_, b) => `d${c}_${b >> 2}[${b & 3}] * x${i}_${b + j}`);
    return `      a${c}_${e} += ${terms.join(" + ")};`;
  };
  return `${bindings(["x", `uniform du: ${UNIFORM_BLOCK}`, "mut out"], WEIGHT_FIELDS)}

${perGroup(wg)}
  let q = g * ${wg}u + lid.x;
  let valid = q < u.lanes;
  let qq = min(q, u.lanes - 1u);
  let c = qq % u.c;
  let s = qq / u.c;
  let W = i32(u.w);
  let HW = u.h * u.w;
  let xc = i32(u.xBase + (u.n * u.c + c) * HW);
  let r1 = min(u.rb, (s + 1u) * u.rs);
  let rowLen = ${tk / 4}u * u.owp; // vec4 words per packed row of the block
${accs.map(([c, e]) => `  var a${c}_${e} = 0.0;`).join("\n")}
  for (var rr = s * u.rs; rr < r1; rr++) {
    let r0 = i32(u.oh0 + rr) - i32(u.ph);
${each(kh, (i) => `    let rok${i} = valid && r0 + ${i} >= 0 && r0 + ${i} < i32(u.h);`)}
${each(kh, (i) => `    let xr${i} = xc + (r0 + ${i}) * W;`)}
    let dr = u.dBase / 4u + rr * rowLen;
    for (var o0 = 0u; o0 < u.owp; o0 += ${p}u) {
      let s0 = i32(o0) - i32(u.pw);
${
    each(kh, (i) =>
      each(nc, (b) =>
        `      let ok${i}_${b} = rok${i} && s0 + ${b} >= 0 && s0 + ${b} < W;
      let x${i}_${b} = select(0.0, x[select(0u, u32(xr${i} + s0 + ${b}), ok${i}_${b})], ok${i}_${b});`))
  }
${
    each(tk, (c) =>
      each(p / 4, (v) =>
        `      let d${c}_${v} = du[dr + ${c}u * u.owp / 4u + o0 / 4u + ${v}u];`))
  }
${accs.map(mac).join("\n")}
    }
  }
  if (!valid) { return; }
  let ob = u.oBase + s * u.sliceStride + c * ${kk}u;
${
    accs.map(([c, e]) =>
      `  if (u.k0 + ${c}u < u.k) {
    let o = ob + (u.k0 + ${c}u) * u.c * ${kk}u + ${e}u;
    var v = a${c}_${e};
    if (u.first == 0u) { v += out[o]; }
    out[o] = v;
  }`
    ).join("\n")
  }
}`;
}

/** Uniform fields of {@linkcode dyPackSource}, in order. */
export const DY_PACK_FIELDS = ["kBlocks", "k", "oh", "ow", "owp", "dyBase"] as const;

/**
 * Packs dy `[N, K, OH, OW]` as `[N, K / tk, OH, tk, owp]` (zeros past K and OW), so that a
 * band of rows of one block is one contiguous uniform window. One invocation writes 4 columns;
 * the grid is `[ceil(owp / 256), OH * tk, N * kBlocks]`. Bindings: dy, out (`vec4` words),
 * uniforms.
 */
export function dyPackSource(tk: number): string {
  return `${bindings(["dy", "mut out: vec4f"], DY_PACK_FIELDS)}

${alongX(64, "o4", "o4 * 4u >= u.owp")}
  let oh = wid.y / ${tk}u;
  let t = wid.y % ${tk}u;
  let n = wid.z / u.kBlocks;
  let k = (wid.z % u.kBlocks) * ${tk}u + t;
  let src = u.dyBase + ((n * u.k + min(k, u.k - 1u)) * u.oh + oh) * u.ow;
  var q = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    let ow = o4 * 4u + j;
    q[j] = select(0.0, dy[src + min(ow, u.ow - 1u)], k < u.k && ow < u.ow);
  }
  out[((wid.z * u.oh + oh) * ${tk}u + t) * u.owp / 4u + o4] = q;
}`;
}
