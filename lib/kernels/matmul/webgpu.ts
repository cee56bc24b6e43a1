/**
 * Matrix product on WebGPU. One pipeline serves every size and layout: the sizes and the
 * strides of both operands (which encode `transA`/`transB`) travel in the uniform block.
 *
 * Each invocation computes a register tile of {@linkcode TM} rows by {@linkcode TN} columns
 * without workgroup memory. The rows of a workgroup are shared by all its invocations, so the
 * loads of `a` are uniform (one scalar load on llvmpipe); the columns spread over the lanes.
 * Operands or results larger than one binding are split into blocks of rows, columns and (with
 * accumulation into the result) of the reduction dimension.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";
import { fill } from "../elementwise/webgpu.ts";
import { each, grid, pack, planBlocks, ranges, uniformStruct, type WindowSpec } from "./blocks.ts";

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
  return `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
${uniformStruct(FIELDS)}
@group(0) @binding(3) var<uniform> u: U;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= u.groups) { return; }
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

/**
 * `a [M, K] @ b [K, N] -> [M, N]`, with `a` stored `[K, M]` when `transA` and `b` stored
 * `[N, K]` when `transB`.
 */
export function matmul(
  rt: WebGpuRuntime,
  a: Storage,
  b: Storage,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): Storage {
  if (a.length !== m * k) {
    throw new RangeError(`matmul: expected a of ${m * k} elements but got ${a.length}`);
  }
  if (b.length !== k * n) {
    throw new RangeError(`matmul: expected b of ${k * n} elements but got ${b.length}`);
  }
  const c = rt.alloc(m * n, "f32"); // [M, N]
  if (c.length === 0) return c;
  if (k === 0) {
    rt.free(c);
    return fill(rt, m * n, "f32", 0); // an empty sum
  }
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
