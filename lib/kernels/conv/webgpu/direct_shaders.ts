/**
 * WGSL of the direct (stride-1) convolution: each invocation owns a register tile of `tc`
 * output channels by `r` output rows by `p` output columns, and loops over the input channels
 * with the `kh * kw` taps unrolled. Written for llvmpipe's JIT, where (measured on Mesa 22.3):
 *
 * - every storage-buffer load becomes a loop over the 8 SIMD lanes with a bounds check and a
 *   branch per lane (~20 instructions per lane), whether or not the address is uniform;
 * - a uniform-buffer load is an unrolled 8-lane gather, about twice as cheap, so the weights
 *   (the same for every lane) come from a 64 KiB uniform window of a packed copy;
 * - arithmetic is cheap (`fma` becomes a multiply and an add), but every write to a variable
 *   inside a loop is blended with the execution mask, so the taps are unrolled and each
 *   accumulator is written once per input channel;
 * - an input row segment of `p + kw - 1` values serves all `kw` taps of `p` outputs, and
 *   `r + kh - 1` rows serve `r` output rows: `(r + kh - 1) * (p + kw - 1)` input loads and
 *   `tc * kh * kw / 4` weight loads feed `tc * r * p * kh * kw` multiply-adds per channel.
 *
 * Shapes, paddings and window offsets travel in the uniform block; only the tile and the
 * kernel size are baked into the source.
 *
 * @module
 */
import { each } from "../../matmul/blocks.ts";
import { alongX, bindings, perGroup } from "../../_wgsl.ts";
import { UNIFORM_BLOCK } from "./scratch.ts";

/** Register tile of one invocation of the direct kernel. */
export interface DirectTile {
  /** Output channels per invocation (a multiple of 4; shared by the workgroup). */
  tc: number;
  /** Output rows per invocation. */
  r: number;
  /** Output columns per invocation. */
  p: number;
  /** Invocations per workgroup. */
  wg: number;
}

/** Uniform fields of {@linkcode directSource}, in order. */
export const DIRECT_FIELDS = [
  "groups", // workgroups in this dispatch
  "kBlocks", // blocks of tc output channels in this weight window
  "kb0", // first block of the window
  "tiles", // tiles of r x p outputs: images * ohb * owb
  "ohb", // tiles down a plane: ceil(oh / r)
  "owb", // tiles across a plane: ceil(ow / p)
  "c", // input channels of x
  "cb", // input channels in this chunk
  "c0", // first input channel of the chunk
  "h",
  "w",
  "k", // output channels
  "oh",
  "ow",
  "ph",
  "pw",
  "xBase",
  "wBase", // offset of the window's first weight inside the bound uniform window
  "bBase",
  "yBase",
  "first", // 1: write; 0: add to the partial sum already in y
  "last", // 1: add the bias (when hasBias) and apply the ReLU (when relu)
  "relu",
  "hasBias",
] as const;

/**
 * Direct convolution, stride 1 and dilation 1: y `[N, K, OH, OW]` (+)= w * x `[N, C, H, W]`
 * with weights packed `[K / tc, C, kh * kw, tc]` (see {@linkcode packSource}). With `v4` (`p`
 * and OW multiples of 4, y's window aligned), y is written 4 columns per store: stores are a
 * loop over the lanes as loads are, and the first layers (3 input channels) spend most of their
 * time writing. Bindings: x, the weight window (uniform), bias (any read-only buffer when there
 * is none), y, uniforms.
 */
export function directSource(kh: number, kw: number, t: DirectTile, v4 = false): string {
  const { tc, r, p, wg } = t;
  // 1x1 kernels read no halo: their rows of p inputs are p / 4 whole vec4 loads when y's are.
  const x4 = v4 && kh * kw === 1;
  if (tc % 4 !== 0) throw new RangeError(`direct conv: expected tc a multiple of 4 but got ${tc}`);
  if (v4 && p % 4 !== 0) throw new RangeError(`direct conv: v4 needs p a multiple of 4, not ${p}`);
  const kk = kh * kw, nr = r + kh - 1, nc = p + kw - 1;
  const tiles: [number, number, number][] = []; // [t, row, col]
  for (let c = 0; c < tc; c++) {
    for (let a = 0; a < r; a++) for (let b = 0; b < p; b++) tiles.push([c, a, b]);
  }
  const acc = ([c, a, b]: [number, number, number]) => `a${c}_${a}_${b}`;
  const taps: [number, number][] = [];
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push([i, j]);
  const mac = (tl: [number, number, number]) => {
    const [c, a, b] = tl;
    const terms = taps.map(([i, j]) => `w${i * kw + j}_${c >> 2}[${c & 3}] * x${a + i}_${b + j}`);
    return `    ${acc(tl)} += ${terms.join(" + ")};`;
  };
  const buffers = [
    `x: ${x4 ? "vec4f" : "f32"}`,
    `uniform wu: ${UNIFORM_BLOCK}`,
    "bias",
    `mut y: ${v4 ? "vec4f" : "f32"}`,
  ];
  return `${bindings(buffers, DIRECT_FIELDS)}

${perGroup(wg)}
  let kbl = g % u.kBlocks;
  let k0 = (u.kb0 + kbl) * ${tc}u;
  let q = (g / u.kBlocks) * ${wg}u + lid.x;
  let valid = q < u.tiles;
  let qq = min(q, u.tiles - 1u);
  let n = qq / (u.ohb * u.owb);
  let oh0 = ((qq / u.owb) % u.ohb) * ${r}u;
  let ow0 = (qq % u.owb) * ${p}u;
  let r0 = i32(oh0) - i32(u.ph);
  let s0 = i32(ow0) - i32(u.pw);
  let W = i32(u.w);
  let HW = u.h * u.w;
${each(nr, (a) => `  let rok${a} = valid && r0 + ${a} >= 0 && r0 + ${a} < i32(u.h);`)}
${each(nc, (b) => `  let cok${b} = s0 + ${b} >= 0 && s0 + ${b} < W;`)}
${each(nr, (a) => each(nc, (b) => `  let ok${a}_${b} = rok${a} && cok${b};`))}
${each(nr, (a) => `  let ro${a} = ${a} * W;`)}
  let xb = i32(u.xBase + (n * u.c + u.c0) * HW) + r0 * W + s0;
  let wb = (u.wBase + kbl * u.cb * ${kk * tc}u) / 4u;
${tiles.map((tl) => `  var ${acc(tl)} = 0.0;`).join("\n")}
  for (var ci = 0u; ci < u.cb; ci++) {
    let xc = xb + i32(ci * HW);
${x4 ? loadRows4(nr, nc) : loadRows(nr, nc)}
    let wc = wb + ci * ${kk * tc / 4}u;
${
    each(tc / 4, (v) =>
      each(kk, (e) => `    let w${e}_${v} = wu[wc + ${e * tc / 4 + v}u];`) + "\n" +
      tiles.filter(([c]) => c >> 2 === v).map(mac).join("\n"))
  }
  }
  let P = u.oh * u.ow;
  let yo = u.yBase + n * u.k * P + oh0 * u.ow + ow0;
${
    each(tc, (c) =>
      `  let kc${c} = k0 + ${c}u;
  var b${c} = 0.0;
  if (u.last == 1u && u.hasBias == 1u && kc${c} < u.k) { b${c} = bias[u.bBase + kc${c}]; }`)
  }
${v4 ? store4(tc, r, p, acc) : tiles.map(([c, a, b]) => store1(c, a, b, acc([c, a, b]))).join("\n")}
}`;
}

/** Loads the input rows, one value at a time (with zeros in the padding). */
function loadRows(nr: number, nc: number): string {
  return each(
    nr,
    (a) =>
      each(
        nc,
        (b) =>
          `    let x${a}_${b} = select(0.0, x[select(0u, u32(xc + ro${a} + ${b}), ok${a}_${b})], ok${a}_${b});`,
      ),
  );
}

/** Loads the input rows 4 values at a time (no padding, rows 16-byte aligned). */
function loadRows4(nr: number, nc: number): string {
  return each(nr, (a) =>
    each(nc / 4, (v) =>
      `    let q${a}_${v} = select(vec4f(0.0),
      x[select(0u, u32(xc + ro${a} + ${4 * v}) / 4u, ok${a}_${4 * v})], ok${a}_${4 * v});
${each(4, (j) => `    let x${a}_${4 * v + j} = q${a}_${v}[${j}];`)}`));
}

/** Writes one output value. */
function store1(c: number, a: number, b: number, acc: string): string {
  return `  if (kc${c} < u.k && valid && oh0 + ${a}u < u.oh && ow0 + ${b}u < u.ow) {
    let o = yo + kc${c} * P + ${a}u * u.ow + ${b}u;
    var s = ${acc} + b${c};
    if (u.first == 0u) { s += y[o]; }
    if (u.last == 1u && u.relu == 1u) { s = max(s, 0.0); }
    y[o] = s;
  }`;
}

/** Writes 4 output columns at a time (OW a multiple of 4: all or none are in the plane). */
function store4(
  tc: number,
  r: number,
  p: number,
  acc: (t: [number, number, number]) => string,
): string {
  const out: string[] = [];
  for (let c = 0; c < tc; c++) {
    for (let a = 0; a < r; a++) {
      for (let b = 0; b < p; b += 4) {
        const v = [0, 1, 2, 3].map((j) => acc([c, a, b + j])).join(", ");
        out.push(`  if (kc${c} < u.k && valid && oh0 + ${a}u < u.oh && ow0 + ${b}u < u.ow) {
    let o = (yo + kc${c} * P + ${a}u * u.ow + ${b}u) / 4u;
    var s = vec4f(${v}) + b${c};
    if (u.first == 0u) { s += y[o]; }
    if (u.last == 1u && u.relu == 1u) { s = max(s, vec4f(0.0)); }
    y[o] = s;
  }`);
      }
    }
  }
  return out.join("\n");
}

/** Uniform fields of {@linkcode packSource}, in order. */
export const PACK_FIELDS = [
  "ck", // input channels * taps: the grid's first axis
  "kBlocks",
  "ko", // output channels of the direct conv
  "ci", // input channels of the direct conv
  "cb", // input channels per chunk
  "transposed", // 1: w is [ci, ko, KH, KW] and the taps are flipped (backward-data)
  "wBase",
] as const;

/**
 * Packs conv weights for {@linkcode directSource}, chunk by chunk of `cb` input channels: the
 * chunk starting at channel `c0` with `n` channels holds, from `c0 * kBlocks * kk * tc` on,
 * `[kBlocks, n, kk, tc]` weights: output channel `kb * tc + t` (0 past `ko`), input channel
 * `c0 + c`, tap `e`. Any run of output blocks of one chunk is then one contiguous window. With
 * `transposed`, w `[ci, ko, KH, KW]` is read as the flipped kernel of the transposed conv
 * (backward-data as a convolution of dy). One invocation writes 4 output channels of one
 * (channel, tap); the grid is `[ceil(ci * kk / 64), kBlocks * tc / 4, 1]`, so that only one
 * division by a runtime value remains. Bindings: w, out (`vec4` words), uniforms.
 */
export function packSource(kk: number, tc: number): string {
  return `${bindings(["w", "mut out: vec4f"], PACK_FIELDS)}

${alongX(64, "ce", "ce >= u.ck")}
  let c = ce / ${kk}u;
  let e = ce % ${kk}u;
  let kb = wid.y / ${tc / 4}u;
  let v = wid.y % ${tc / 4}u;
  let c0 = c - c % u.cb;
  let n = min(u.cb, u.ci - c0);
  var q = vec4f(0.0);
  for (var j = 0u; j < 4u; j++) {
    let o = kb * ${tc}u + v * 4u + j;
    let oc = min(o, u.ko - 1u);
    let src = select((oc * u.ci + c) * ${kk}u + e, (c * u.ko + oc) * ${kk}u + ${kk - 1}u - e,
                     u.transposed == 1u);
    q[j] = select(0.0, w[u.wBase + src], o < u.ko);
  }
  out[((c0 * u.kBlocks + kb * n + c - c0) * ${kk}u + e) * ${tc / 4}u + v] = q;
}`;
}
