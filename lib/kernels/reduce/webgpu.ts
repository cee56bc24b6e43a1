/**
 * Reduce kernels on WebGPU: `sum` and `argmax` along the middle axis of `[outer, len, inner]`,
 * and `broadcast`, its adjoint.
 *
 * `sum` runs in passes, each shrinking `len` by a block: long rows (`inner == 1`) are reduced by
 * a workgroup tree in workgroup memory, `SEG` elements per workgroup; columns (`inner > 1`) and
 * short rows by threads that each add `ROWS` rows of one column. Partial sums stay short, so the f32 error of a
 * sum of millions of elements grows with the logarithm of its length, not the length.
 *
 * Every kernel works on "boxes" of the index space whose window of each storage fits one binding
 * (`rt.maxBindingElements`): whole `[len, inner]` blocks when they fit, else runs of rows of one
 * block, else runs of columns of one row.
 *
 * @module
 */
import type { Storage } from "../../device/backend.ts";
import { linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { affine, fill } from "../elementwise/webgpu.ts";
import type { KernelSlice } from "../../device/backend.ts";

const WG = 256;
/** Elements one workgroup of the row kernel sums (a multiple of WG). */
const SEG = 2048;
/** Rows one thread of the column kernel sums. */
const ROWS = 64;

const ROW_SUM = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct U { count: u32, perO: u32, len: u32, seg: u32, rowsLeft: u32, xBase: u32, yBase: u32 }
@group(0) @binding(2) var<uniform> u: U;
var<workgroup> part: array<f32, ${WG}>;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  let g = wid.x + wid.y * nwg.x; // one workgroup per segment
  if (g >= u.count) { return; }
  let o = g / u.perO;
  let b = g % u.perO;
  let start = u.xBase + o * u.len + b * u.seg;
  let n = min(u.seg, u.rowsLeft - b * u.seg);
  var s = 0.0;
  for (var j = lid.x; j < n; j += ${WG}u) { s += x[start + j]; }
  part[lid.x] = s;
  workgroupBarrier();
  for (var w = ${WG / 2}u; w > 0u; w >>= 1u) {
    if (lid.x < w) { part[lid.x] += part[lid.x + w]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { y[u.yBase + g] = part[0]; }
}`;

const COL_SUM = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct U {
  count: u32, perO: u32, len: u32, inner: u32, rows: u32, rowsLeft: u32, xBase: u32, yBase: u32,
}
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let c = i % u.inner;
  let q = i / u.inner;
  let o = q / u.perO;
  let r0 = (q % u.perO) * u.rows;
  let n = min(u.rows, u.rowsLeft - r0);
  var p = u.xBase + (o * u.len + r0) * u.inner + c;
  var s = 0.0;
  for (var r = 0u; r < n; r++) {
    s += x[p];
    p += u.inner;
  }
  y[u.yBase + i] = s;
}`;

const ACCUMULATE = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct U { count: u32, first: u32, xBase: u32, yBase: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let prev = select(y[u.yBase + i], 0.0, u.first == 1u);
  y[u.yBase + i] = prev + x[u.xBase + i];
}`;

const BROADCAST = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct U { count: u32, cols: u32, perO: u32, xBase: u32, yBase: u32 }
@group(0) @binding(2) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let o = i / (u.perO * u.cols);
  y[u.yBase + i] = x[u.xBase + o * u.cols + i % u.cols];
}`;

/** argmax over `rows` rows; `staged` continues from the best value/index of earlier rows. */
function argmaxSource(staged: boolean): string {
  return `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
${staged ? "@group(0) @binding(2) var<storage, read_write> best: array<f32>;" : ""}
struct U {
  count: u32, cols: u32, oStride: u32, inner: u32, rows: u32, l0: u32, first: u32,
  xBase: u32, yBase: u32, bBase: u32,
}
@group(0) @binding(${staged ? 3 : 2}) var<uniform> u: U;
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let p = u.xBase + (i / u.cols) * u.oStride + i % u.cols;
  var bv = x[p];
  var bi = u.l0;
  ${staged ? "if (u.first == 0u) { bv = best[u.bBase + i]; bi = u32(y[u.yBase + i]); }" : ""}
  for (var r = 0u; r < u.rows; r++) {
    let v = x[p + r * u.inner];
    if (bv == bv && (v > bv || v != v)) { // NaN wins, like PyTorch
      bv = v;
      bi = u.l0 + r;
    }
  }
  y[u.yBase + i] = i32(bi);
  ${staged ? "best[u.bBase + i] = bv;" : ""}
}`;
}

/** `[outer, len, inner]` -> `[outer, inner]` index of the first max along len. */
export function argmax(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  const y = rt.alloc(outer * inner, "i32");
  if (outer * inner === 0) return y;
  if (len === 0) throw new RangeError("argmax: expected a non-empty axis but got len 0");
  const max = rt.maxBindingElements;
  if (len * inner <= max) {
    const k = rt.kernel("argmax", argmaxSource(false));
    const per = Math.floor(max / (len * inner));
    for (let o0 = 0; o0 < outer; o0 += per) {
      const oc = Math.min(per, outer - o0);
      const bx = rt.bind(x, o0 * len * inner, oc * len * inner);
      const by = rt.bind(y, o0 * inner, oc * inner);
      const count = oc * inner;
      const uni = [count, inner, len * inner, inner, len, 0, 1, bx.base, by.base, 0];
      rt.dispatch(k, [bx, by], uni, Math.ceil(count / WG));
    }
    return y;
  }
  // One block does not fit: runs of rows of column chunks, keeping the best value so far.
  const k = rt.kernel("argmax_staged", argmaxSource(true));
  const best = rt.alloc(outer * inner, "f32");
  const cols = Math.min(inner, max);
  const rows = Math.floor((max - cols) / inner) + 1;
  for (let o = 0; o < outer; o++) {
    for (let l0 = 0; l0 < len; l0 += rows) {
      const rc = Math.min(rows, len - l0);
      for (let i0 = 0; i0 < inner; i0 += cols) {
        const ic = Math.min(cols, inner - i0);
        const bx = rt.bind(x, (o * len + l0) * inner + i0, (rc - 1) * inner + ic);
        const by = rt.bind(y, o * inner + i0, ic);
        const bb = rt.bind(best, o * inner + i0, ic);
        const first = l0 === 0 ? 1 : 0;
        const uni = [ic, ic, 0, inner, rc, l0, first, bx.base, by.base, bb.base];
        rt.dispatch(k, [bx, by, bb], uni, Math.ceil(ic / WG));
      }
    }
  }
  rt.free(best);
  return y;
}

/** `[outer, len, inner]` -> `[outer, inner]` sums along len. */
export function sum(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  if (len === 0 || outer * inner === 0) return fill(rt, outer * inner, "f32", 0);
  if (len === 1) return affine(rt, x, 1, 0);
  if (inner > 1 && 2 * inner > rt.maxBindingElements) {
    return sumByRows(rt, x, outer, len, inner);
  }
  let cur = x;
  let curLen = len;
  while (curLen > 1) {
    // Workgroup trees pay off on long rows; short ones take a thread per block of ROWS.
    const next = inner === 1 && curLen >= SEG
      ? rowPass(rt, cur, outer, curLen)
      : colPass(rt, cur, outer, curLen, inner);
    if (cur !== x) rt.free(cur);
    cur = next.y;
    curLen = next.blocks;
  }
  return cur;
}

/** One pass over rows `[outer, len]` -> `[outer, blocks]`, a workgroup per segment. */
function rowPass(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
): { y: Storage; blocks: number } {
  const max = rt.maxBindingElements;
  const seg = Math.min(SEG, max);
  const blocks = Math.ceil(len / seg);
  const y = rt.alloc(outer * blocks, "f32");
  const k = rt.kernel("sum_rows", ROW_SUM);
  const run = (
    xStart: number,
    xLen: number,
    yStart: number,
    count: number,
    perO: number,
    left: number,
  ) => {
    const bx = rt.bind(x, xStart, xLen);
    const by = rt.bind(y, yStart, count);
    rt.dispatch(k, [bx, by], [count, perO, len, seg, left, bx.base, by.base], count);
  };
  if (len <= max) {
    const per = Math.floor(max / len);
    for (let o0 = 0; o0 < outer; o0 += per) {
      const oc = Math.min(per, outer - o0);
      run(o0 * len, oc * len, o0 * blocks, oc * blocks, blocks, len);
    }
  } else {
    const per = Math.floor(max / seg);
    for (let o = 0; o < outer; o++) {
      for (let b0 = 0; b0 < blocks; b0 += per) {
        const bc = Math.min(per, blocks - b0);
        const end = Math.min(len, (b0 + bc) * seg);
        run(o * len + b0 * seg, end - b0 * seg, o * blocks + b0, bc, bc, len - b0 * seg);
      }
    }
  }
  return { y, blocks };
}

/** One pass over `[outer, len, inner]` -> `[outer, blocks, inner]`, a thread per column block. */
function colPass(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): { y: Storage; blocks: number } {
  const max = rt.maxBindingElements;
  const rows = Math.min(ROWS, Math.floor(max / inner));
  const blocks = Math.ceil(len / rows);
  const y = rt.alloc(outer * blocks * inner, "f32");
  const k = rt.kernel("sum_cols", COL_SUM);
  const run = (
    xStart: number,
    xLen: number,
    yStart: number,
    perO: number,
    nO: number,
    left: number,
  ) => {
    const count = nO * perO * inner;
    const bx = rt.bind(x, xStart, xLen);
    const by = rt.bind(y, yStart, count);
    const uni = [count, perO, len, inner, rows, left, bx.base, by.base];
    rt.dispatch(k, [bx, by], uni, Math.ceil(count / WG));
  };
  if (len * inner <= max) {
    const per = Math.floor(max / (len * inner));
    for (let o0 = 0; o0 < outer; o0 += per) {
      const oc = Math.min(per, outer - o0);
      run(o0 * len * inner, oc * len * inner, o0 * blocks * inner, blocks, oc, len);
    }
  } else {
    const per = Math.floor(max / (rows * inner));
    for (let o = 0; o < outer; o++) {
      for (let b0 = 0; b0 < blocks; b0 += per) {
        const bc = Math.min(per, blocks - b0);
        const r0 = b0 * rows;
        const end = Math.min(len, r0 + bc * rows);
        run((o * len + r0) * inner, (end - r0) * inner, (o * blocks + b0) * inner, bc, 1, len - r0);
      }
    }
  }
  return { y, blocks };
}

/** Sums rows too wide for two to share a binding: adds them one by one into the result. */
function sumByRows(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  const y = rt.alloc(outer * inner, "f32");
  const k = rt.kernel("sum_accumulate", ACCUMULATE);
  const cols = rt.maxBindingElements;
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (let i0 = 0; i0 < inner; i0 += cols) {
        const ic = Math.min(cols, inner - i0);
        const bx = rt.bind(x, (o * len + l) * inner + i0, ic);
        const by = rt.bind(y, o * inner + i0, ic);
        rt.dispatch(k, [bx, by], [ic, l === 0 ? 1 : 0, bx.base, by.base], Math.ceil(ic / WG));
      }
    }
  }
  return y;
}

/** `[outer, inner]` -> `[outer, len, inner]`. */
export function broadcast(
  rt: WebGpuRuntime,
  x: Storage,
  outer: number,
  len: number,
  inner: number,
): Storage {
  const y = rt.alloc(outer * len * inner, "f32");
  if (y.length === 0) return y;
  const k = rt.kernel("broadcast", BROADCAST);
  const max = rt.maxBindingElements;
  const run = (
    xStart: number,
    xLen: number,
    yStart: number,
    count: number,
    cols: number,
    perO: number,
  ) => {
    const bx = rt.bind(x, xStart, xLen);
    const by = rt.bind(y, yStart, count);
    rt.dispatch(k, [bx, by], [count, cols, perO, bx.base, by.base], Math.ceil(count / WG));
  };
  if (len * inner <= max) {
    const per = Math.floor(max / (len * inner));
    for (let o0 = 0; o0 < outer; o0 += per) {
      const oc = Math.min(per, outer - o0);
      run(o0 * inner, oc * inner, o0 * len * inner, oc * len * inner, inner, len);
    }
  } else if (inner <= max) {
    const per = Math.floor(max / inner);
    for (let o = 0; o < outer; o++) {
      for (let l0 = 0; l0 < len; l0 += per) {
        const lc = Math.min(per, len - l0);
        run(o * inner, inner, (o * len + l0) * inner, lc * inner, inner, lc);
      }
    }
  } else {
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        for (let i0 = 0; i0 < inner; i0 += max) {
          const ic = Math.min(max, inner - i0);
          run(o * inner + i0, ic, (o * len + l) * inner + i0, ic, ic, 1);
        }
      }
    }
  }
  return y;
}

/** The reduction slice of the WebGPU backend. */
export const reduceWebGpu: KernelSlice<WebGpuRuntime, "reduce"> = {
  argmax: (rt, { x, outer, len, inner }) => argmax(rt, x, outer, len, inner),
  sum: (rt, { x, outer, len, inner }) => sum(rt, x, outer, len, inner),
  broadcast: (rt, { x, outer, len, inner }) => broadcast(rt, x, outer, len, inner),
};
