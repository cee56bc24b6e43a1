/**
 * Matrix product on WebGPU.
 *
 * When `b` is not transposed and every operand fits one binding, `a @ b` is a 1x1 convolution
 * of `b` (`K` channels of an `N`-pixel image) by `a` (`M` output channels of `K` weights, read
 * transposed when `transA`): the direct conv kernel (`../conv/webgpu/direct.ts`) computes it with `a`
 * in uniform windows, `b` and the result moved 4 columns at a time, and a tile chosen by the
 * autotuner (family `matmul.direct`).
 *
 * Otherwise the general kernel below runs. One pipeline serves every size and layout: the sizes
 * and the strides of both operands (which encode `transA`/`transB`) travel in the uniform
 * block. Each invocation computes a register tile of {@linkcode TM} rows by {@linkcode TN}
 * columns without workgroup memory. The rows of a workgroup are shared by all its invocations;
 * the columns spread over the lanes. Operands or results larger than one binding are split into
 * blocks of rows, columns and (with accumulation into the result) of the reduction dimension.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";
import { choose, type Family } from "../autotune.ts";
import { directConv, directFits, type DirectProblem } from "../conv/webgpu/direct.ts";
import { directSource, type DirectTile, packSource } from "../conv/webgpu/direct_shaders.ts";
import { zeros } from "../elementwise/webgpu.ts";
import { each, grid, pack, planBlocks, ranges, type WindowSpec } from "./blocks.ts";
import { bindings, perGroup } from "../_wgsl.ts";

/** Invocations per workgroup. */
export const WG = 64;
/** Rows of the result per invocation (shared by the workgroup). */
export const TM = 16;
/** Columns of the result per invocation (strided by {@linkcode WG} across the lanes). */
export const TN = 8;

const FIELDS = [
  "groups", // workgroups in this dispatch
  "mBlocks", // row blocks of TM
  "mb", // rows in this chunk
  "nb", // columns in this chunk
  "kb", // reduction length in this chunk
  "aBase",
  "bBase",
  "cBase",
  "sAm", // a[i, p] = a[aBase + i * sAm + p * sAk]
  "sAk",
  "sBk", // b[p, j] = b[bBase + p * sBk + j * sBn]
  "sBn",
  "ldc", // c[i, j] = c[cBase + i * ldc + j]
  "first", // 1: write; 0: add to the partial sum already in c
] as const;

function source(): string {
  return `${bindings(["a", "b", "mut c"], FIELDS)}

${perGroup(WG)}
  let m0 = (g % u.mBlocks) * ${TM}u;
  let nStart = (g / u.mBlocks) * ${WG * TN}u + lid.x;
${each(TM, (t) => `  let ar${t} = u.aBase + min(m0 + ${t}u, u.mb - 1u) * u.sAm;`)}
${
    each(TN, (j) =>
      `  let n${j} = nStart + ${j * WG}u;
  let bc${j} = u.bBase + min(n${j}, u.nb - 1u) * u.sBn;`)
  }
${grid(TM, TN, (t, j) => `  var acc${t}_${j} = 0.0;`)}
  for (var p = 0u; p < u.kb; p++) {
${each(TM, (t) => `    let av${t} = a[ar${t} + p * u.sAk];`)}
${each(TN, (j) => `    let bv${j} = b[bc${j} + p * u.sBk];`)}
${grid(TM, TN, (t, j) => `    acc${t}_${j} += av${t} * bv${j};`)}
  }
${
    grid(TM, TN, (t, j) =>
      `  if (m0 + ${t}u < u.mb && n${j} < u.nb) {
    let o = u.cBase + (m0 + ${t}u) * u.ldc + n${j};
    c[o] = select(c[o], 0.0, u.first == 1u) + acc${t}_${j};
  }`)
  }
}`;
}

/** Tiles of the direct path (1x1 convolution), the first being the default. */
export const DIRECT_TILES: readonly DirectTile[] = [
  { tc: 32, r: 1, p: 16, wg: 8 },
  { tc: 16, r: 1, p: 16, wg: 8 },
  { tc: 24, r: 1, p: 8, wg: 8 },
];

/** The 1x1 convolution computing `a @ b` (b `[K, N]` as K channels of a 1 x N image). */
export function asConv(m: number, k: number, n: number): DirectProblem {
  return { n: 1, c: k, h: 1, w: n, k: m, kh: 1, kw: 1, oh: 1, ow: n, ph: 0, pw: 0 };
}

/** The tuned family of the direct path; problems are `[m, k, n, transA]`. */
export const directFamily: Family<DirectTile> = {
  name: "matmul.direct",
  candidates: DIRECT_TILES,
  fallback: DIRECT_TILES[0],
  sources: () =>
    DIRECT_TILES.flatMap((t) => [
      directSource(1, 1, t),
      directSource(1, 1, t, true),
      packSource(1, t.tc),
    ]),
  bench(rt, problem) {
    const [m, k, n, transA] = problem as [number, number, number, boolean];
    // Enough columns for a few milliseconds, as many as the real problem has at most.
    const cols = Math.min(n, Math.max(64, Math.ceil(5e7 / (m * k) / 16) * 16));
    const fill = (len: number) => rt.upload(new Float32Array(len).fill(0.5));
    const a = fill(m * k), b = fill(k * cols);
    const d = asConv(m, k, cols);
    return {
      run: (t) =>
        rt.free(directConv(rt, { x: b, w: a, b: null, d, relu: false, transposed: transA }, t)),
      dispose: () => [a, b].forEach((s) => rt.free(s)),
    };
  },
};

/** Shape class of a product for the autotuner. */
function shapeClass(m: number, k: number, n: number, transA: boolean): string {
  const c = (v: number) => (v < 64 ? `${v}` : v < 512 ? "<512" : ">=512");
  return `m${c(m)} k${c(k)} n${c(n)}${transA ? " transA" : ""}`;
}

/**
 * `a [M, K] @ b [K, N] -> [M, N]`, with `a` stored `[K, M]` when `transA` and `b` stored
 * `[N, K]` when `transB`.
 */
function matmul(rt: WebGpuRuntime, args: KernelArgs["matmul"]): Storage {
  const { a, b, m, k, n, transA, transB } = args;
  if (a.length !== m * k) {
    throw new RangeError(`matmul: expected a of ${m * k} elements but got ${a.length}`);
  }
  if (b.length !== k * n) {
    throw new RangeError(`matmul: expected b of ${k * n} elements but got ${b.length}`);
  }
  if (m * n === 0) return rt.alloc(0, "f32");
  if (k === 0) return zeros(rt, m * n); // an empty sum
  if (!transB) {
    const d = asConv(m, k, n);
    const fits = (t: DirectTile) => directFits(rt, d, t);
    const t = choose(rt, directFamily, shapeClass(m, k, n, transA), [m, k, n, transA], fits);
    if (fits(t)) {
      return directConv(rt, { x: b, w: a, b: null, d, relu: false, transposed: transA }, t);
    }
  }
  return generalMatmul(rt, args);
}

/**
 * The general kernel (any layout, operands of any size, chunked to the binding limit); `k` and
 * `m * n` must be positive.
 */
function generalMatmul(
  rt: WebGpuRuntime,
  { a, b, m, k, n, transA, transB }: KernelArgs["matmul"],
): Storage {
  const c = rt.alloc(m * n, "f32"); // [M, N]
  const [sAm, sAk] = transA ? [1, m] : [k, 1];
  const [sBk, sBn] = transB ? [1, k] : [n, 1];
  const windows: WindowSpec[] = [
    transA
      ? { name: "matmul a", outer: "k", stride: m, inner: "m", unit: 1 }
      : { name: "matmul a", outer: "m", stride: k, inner: "k", unit: 1 },
    transB
      ? { name: "matmul b", outer: "n", stride: k, inner: "k", unit: 1 }
      : { name: "matmul b", outer: "k", stride: n, inner: "n", unit: 1 },
    { name: "matmul result", outer: "m", stride: n, inner: "n", unit: 1 },
  ];
  const blk = planBlocks({ m, n, k }, windows, rt.maxBindingElements);
  const kernel = rt.kernel("matmul", source());
  for (const [m0, mb] of ranges(m, blk.m)) {
    for (const [n0, nb] of ranges(n, blk.n)) {
      ranges(k, blk.k).forEach(([k0, kb], i) => {
        const ba = rt.bind(a, m0 * sAm + k0 * sAk, transA ? (kb - 1) * m + mb : (mb - 1) * k + kb);
        const bb = rt.bind(b, k0 * sBk + n0 * sBn, transB ? (nb - 1) * k + kb : (kb - 1) * n + nb);
        const bc = rt.bind(c, m0 * n + n0, (mb - 1) * n + nb);
        const mBlocks = Math.ceil(mb / TM);
        const groups = mBlocks * Math.ceil(nb / (WG * TN));
        const u = pack(FIELDS, {
          groups,
          mBlocks,
          mb,
          nb,
          kb,
          aBase: ba.base,
          bBase: bb.base,
          cBase: bc.base,
          sAm,
          sAk,
          sBk,
          sBn,
          ldc: n,
          first: i === 0 ? 1 : 0,
        });
        rt.dispatch(kernel, [ba, bb, bc], u, groups);
      });
    }
  }
  return c;
}

/** The matrix product slice of the WebGPU backend. */
export const matmulWebGpu: KernelSlice<WebGpuRuntime, "matmul"> = { matmul };
