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
import type { AxisArgs, KernelSlice, Storage } from "../../device/backend.ts";
import { MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import { affine, zeros } from "../elementwise/webgpu.ts";
import { ranges } from "../matmul/blocks.ts";
import { bindings, dispatchWindows, perElement } from "../_wgsl.ts";

const WG = 256;
/** Elements one workgroup of the row kernel sums (a multiple of WG). */
const SEG = 2048;
/** Rows one thread of the column kernel sums. */
const ROWS = 64;

const ROW_SUM = `
${
  bindings(
    ["x", "mut y"],
    "count: u32, perO: u32, len: u32, seg: u32, rowsLeft: u32, xBase: u32, yBase: u32",
  )
}
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
${
  bindings(
    ["x", "mut y"],
    "count: u32, perO: u32, len: u32, inner: u32, rows: u32, rowsLeft: u32, xBase: u32, yBase: u32",
  )
}
${perElement(WG)}
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
${bindings(["x", "mut y"], "count: u32, first: u32, xBase: u32, yBase: u32")}
${perElement(WG)}
  let prev = select(y[u.yBase + i], 0.0, u.first == 1u);
  y[u.yBase + i] = prev + x[u.xBase + i];
}`;

const BROADCAST = `
${bindings(["x", "mut y"], "count: u32, cols: u32, perO: u32, xBase: u32, yBase: u32")}
${perElement(WG)}
  let o = i / (u.perO * u.cols);
  y[u.yBase + i] = x[u.xBase + o * u.cols + i % u.cols];
}`;

/** argmax over `rows` rows; `staged` continues from the best value/index of earlier rows. */
function argmaxSource(staged: boolean): string {
  return `
${
    bindings(
      ["x", "mut y: i32", staged && "mut best"],
      "count: u32, cols: u32, oStride: u32, inner: u32, rows: u32, l0: u32, first: u32, " +
        `xBase: u32, yBase: u32${staged ? ", bBase: u32" : ""}`,
    )
  }
${perElement(WG)}
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
function argmax(rt: WebGpuRuntime, { x, outer, len, inner }: AxisArgs): Storage {
  const y = rt.alloc(outer * inner, "i32");
  if (outer * inner === 0) return y;
  if (len === 0) throw new RangeError("argmax: expected a non-empty axis but got len 0");
  const max = rt.maxBindingElements;
  if (len * inner <= max) {
    const k = rt.kernel("argmax", argmaxSource(false));
    for (const [o0, oc] of ranges(outer, Math.floor(max / (len * inner)))) {
      const count = oc * inner;
      dispatchWindows(rt, k, {
        windows: [[x, o0 * len * inner, oc * len * inner], [y, o0 * inner, count]],
        uniforms: [count, inner, len * inner, inner, len, 0, 1],
        groups: Math.ceil(count / WG),
      });
    }
    return y;
  }
  // One block does not fit: runs of rows of column chunks, keeping the best value so far.
  const k = rt.kernel("argmax_staged", argmaxSource(true));
  const best = rt.alloc(outer * inner, "f32");
  const cols = Math.min(inner, max);
  const rows = Math.floor((max - cols) / inner) + 1;
  for (let o = 0; o < outer; o++) {
    for (const [l0, rc] of ranges(len, rows)) {
      for (const [i0, ic] of ranges(inner, cols)) {
        const at = o * inner + i0;
        dispatchWindows(rt, k, {
          windows: [[x, (o * len + l0) * inner + i0, (rc - 1) * inner + ic], [y, at, ic], [
            best,
            at,
            ic,
          ]],
          uniforms: [ic, ic, 0, inner, rc, l0, l0 === 0 ? 1 : 0],
          groups: Math.ceil(ic / WG),
        });
      }
    }
  }
  rt.free(best);
  return y;
}

/** `[outer, len, inner]` -> `[outer, inner]` sums along len. */
function sum(rt: WebGpuRuntime, a: AxisArgs): Storage {
  const { x, outer, len, inner } = a;
  if (len === 0 || outer * inner === 0) return zeros(rt, outer * inner);
  if (len === 1) return affine(rt, { x, alpha: 1, beta: 0 });
  if (inner > 1 && 2 * inner > rt.maxBindingElements) return sumByRows(rt, a);
  let cur = x;
  let curLen = len;
  while (curLen > 1) {
    // Workgroup trees pay off on long rows; short ones take a thread per block of ROWS.
    const pass = { x: cur, outer, len: curLen, inner };
    const next = inner === 1 && curLen >= SEG ? rowPass(rt, pass) : colPass(rt, pass);
    if (cur !== x) rt.free(cur);
    cur = next.y;
    curLen = next.blocks;
  }
  return cur;
}

/** One pass over rows `[outer, len]` -> `[outer, blocks]`, a workgroup per segment. */
function rowPass(rt: WebGpuRuntime, { x, outer, len }: AxisArgs): { y: Storage; blocks: number } {
  const max = rt.maxBindingElements;
  const seg = Math.min(SEG, max);
  const blocks = Math.ceil(len / seg);
  const y = rt.alloc(outer * blocks, "f32");
  const k = rt.kernel("sum_rows", ROW_SUM);
  /** Segments of `[xs, xs + xl)` of x into `[ys, ys + count)` of y, `left` elements from xs on. */
  const run = (xs: number, xl: number, ys: number, [count, perO, left]: number[]) =>
    dispatchWindows(rt, k, {
      windows: [[x, xs, xl], [y, ys, count]],
      uniforms: [count, perO, len, seg, left],
      groups: count,
    });
  if (len <= max) {
    for (const [o0, oc] of ranges(outer, Math.floor(max / len))) {
      run(o0 * len, oc * len, o0 * blocks, [oc * blocks, blocks, len]);
    }
    return { y, blocks };
  }
  for (let o = 0; o < outer; o++) {
    for (const [b0, bc] of ranges(blocks, Math.floor(max / seg))) {
      const end = Math.min(len, (b0 + bc) * seg);
      run(o * len + b0 * seg, end - b0 * seg, o * blocks + b0, [bc, bc, len - b0 * seg]);
    }
  }
  return { y, blocks };
}

/** One pass over `[outer, len, inner]` -> `[outer, blocks, inner]`, a thread per column block. */
function colPass(rt: WebGpuRuntime, a: AxisArgs): { y: Storage; blocks: number } {
  const { x, outer, len, inner } = a;
  const max = rt.maxBindingElements;
  const rows = Math.min(ROWS, Math.floor(max / inner));
  const blocks = Math.ceil(len / rows);
  const y = rt.alloc(outer * blocks * inner, "f32");
  const k = rt.kernel("sum_cols", COL_SUM);
  /** Rows of `[xs, xs + xl)` of x into blocks from ys on: `perO` per outer, `nO` outers. */
  const run = (xs: number, xl: number, ys: number, [perO, nO, left]: number[]) => {
    const count = nO * perO * inner;
    dispatchWindows(rt, k, {
      windows: [[x, xs, xl], [y, ys, count]],
      uniforms: [count, perO, len, inner, rows, left],
      groups: Math.ceil(count / WG),
    });
  };
  if (len * inner <= max) {
    for (const [o0, oc] of ranges(outer, Math.floor(max / (len * inner)))) {
      run(o0 * len * inner, oc * len * inner, o0 * blocks * inner, [blocks, oc, len]);
    }
    return { y, blocks };
  }
  for (let o = 0; o < outer; o++) {
    for (const [b0, bc] of ranges(blocks, Math.floor(max / (rows * inner)))) {
      const r0 = b0 * rows;
      const end = Math.min(len, r0 + bc * rows);
      run((o * len + r0) * inner, (end - r0) * inner, (o * blocks + b0) * inner, [bc, 1, len - r0]);
    }
  }
  return { y, blocks };
}

/** Sums rows too wide for two to share a binding: adds them one by one into the result. */
function sumByRows(rt: WebGpuRuntime, { x, outer, len, inner }: AxisArgs): Storage {
  const y = rt.alloc(outer * inner, "f32");
  const k = rt.kernel("sum_accumulate", ACCUMULATE);
  for (let o = 0; o < outer; o++) {
    for (let l = 0; l < len; l++) {
      for (const [i0, ic] of ranges(inner, rt.maxBindingElements)) {
        dispatchWindows(rt, k, {
          windows: [[x, (o * len + l) * inner + i0, ic], [y, o * inner + i0, ic]],
          uniforms: [ic, l === 0 ? 1 : 0],
          groups: Math.ceil(ic / WG),
        });
      }
    }
  }
  return y;
}

/** `[outer, inner]` -> `[outer, len, inner]`. */
function broadcast(rt: WebGpuRuntime, { x, outer, len, inner }: AxisArgs): Storage {
  const y = rt.alloc(outer * len * inner, "f32");
  if (y.length === 0) return y;
  const k = rt.kernel("broadcast", BROADCAST);
  const max = rt.maxBindingElements;
  /** `[xs, xs + xl)` of x into `count` elements of y from ys on, rows of `cols`, `perO` per outer. */
  const run = (xs: number, xl: number, ys: number, [count, cols, perO]: number[]) =>
    dispatchWindows(rt, k, {
      windows: [[x, xs, xl], [y, ys, count]],
      uniforms: [count, cols, perO],
      groups: Math.ceil(count / WG),
    });
  if (len * inner <= max) {
    for (const [o0, oc] of ranges(outer, Math.floor(max / (len * inner)))) {
      run(o0 * inner, oc * inner, o0 * len * inner, [oc * len * inner, inner, len]);
    }
  } else if (inner <= max) {
    for (let o = 0; o < outer; o++) {
      for (const [l0, lc] of ranges(len, Math.floor(max / inner))) {
        run(o * inner, inner, (o * len + l0) * inner, [lc * inner, inner, lc]);
      }
    }
  } else {
    for (let o = 0; o < outer; o++) {
      for (let l = 0; l < len; l++) {
        for (const [i0, ic] of ranges(inner, max)) {
          run(o * inner + i0, ic, (o * len + l) * inner + i0, [ic, ic, 1]);
        }
      }
    }
  }
  return y;
}

/** The reduction slice of the WebGPU backend. */
export const reduceWebGpu: KernelSlice<WebGpuRuntime, "reduce"> = { argmax, sum, broadcast };
