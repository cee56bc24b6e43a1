/**
 * Class targets on WebGPU: the WGSL every loss kernel reads a pixel's target and class weight
 * with, and the check of the targets.
 *
 * `checkTargets` finds the first target outside `[0, K)` that is not the ignore index with an
 * `atomicMin` over chunks of the target, fetches its value in a second pass, and reads both
 * back at the next submission ({@linkcode WebGpuRuntime.checkLater}): the error is thrown by
 * the next `read()` or `flush()`, as a CUDA device assert surfaces at the next synchronisation.
 *
 * @module
 */
import type { ClassTargetArgs, KernelArgs, Storage } from "../../device/backend.ts";
import { type GpuKernel, i32, type WebGpuRuntime } from "../../device/webgpu.ts";
import { chunks } from "../elementwise/webgpu.ts";
import { bindings, perElement } from "../_wgsl.ts";
import { BOX_ELEMENT } from "../_boxes.ts";
import { badTargetError } from "./reference.ts";

const WG = 256;

/**
 * WGSL: the target `t` of pixel `px` (from `tgt` at `u.tBase`) and whether it names one of
 * `u.k` classes and is not `u.ignore` (`valid`).
 */
export function targetOf(px: string): string {
  return `let t = tgt[u.tBase + ${px}];
  let valid = t != u.ignore && t >= 0 && t < i32(u.k);`;
}

/**
 * WGSL: the class weight `w` of target `t` (from `cw`, clamped so that an invalid target reads
 * in bounds; 1 without weights).
 */
export function weightOf(hasWeight: boolean): string {
  return hasWeight ? "let w = cw[u32(clamp(t, 0, i32(u.k) - 1))];" : "let w = 1.0;";
}

/**
 * WGSL of a gradient over the elements of a box: the element's pixel `pp`, class `c`, image
 * `np`, pixel `px` of `[N, HW]`, its target and weight (see {@linkcode targetOf}) and `gv`, its `g`.
 */
export function gradElement(hasWeight: boolean, scalarG: boolean): string {
  return `${BOX_ELEMENT}
  let px = np * u.hw + pp;
  ${targetOf("px")}
  ${weightOf(hasWeight)}
  let gv = g[u.gBase${scalarG ? "" : " + px"}];`;
}

/**
 * The pipeline of gradient kernel `name` (suffixed `_weighted` and `_scalar` by variant) built
 * by `source(hasWeight, scalarG)`, and `scalarG`: whether one `g` serves every pixel.
 */
export function gradKernel(
  rt: WebGpuRuntime,
  a: ClassTargetArgs & { g: Storage },
  { name, source }: { name: string; source: (hasWeight: boolean, scalarG: boolean) => string },
): { kernel: GpuKernel; scalarG: boolean } {
  const hasWeight = a.weight !== null, scalarG = a.g.length === 1 && a.n * a.hw !== 1;
  const variant = `${name}${hasWeight ? "_weighted" : ""}${scalarG ? "_scalar" : ""}`;
  return { kernel: rt.kernel(variant, source(hasWeight, scalarG)), scalarG };
}

/** First pass: `flag[0] = min(flag[0], start + i)` over the bad targets of a chunk. */
const FIND_BAD = `
${
  bindings(
    ["tgt: i32", "mut flag: atomic<i32>"],
    "count: u32, k: u32, ignore: i32, tBase: u32, start: u32",
  )
}
${perElement(WG)}
  let t = tgt[u.tBase + i];
  if (t != u.ignore && (t < 0 || t >= i32(u.k))) { atomicMin(&flag[0], i32(u.start + i)); }
}`;

/** Second pass, one invocation per chunk: the chunk holding element `flag[0]` copies its value. */
const FETCH_BAD = `
${bindings(["tgt: i32", "mut flag: atomic<i32>"], "count: u32, tBase: u32, start: u32")}
@compute @workgroup_size(1)
fn main() {
  let j = atomicLoad(&flag[0]) - i32(u.start);
  if (j >= 0 && j < i32(u.count)) { atomicStore(&flag[1], tgt[u.tBase + u32(j)]); }
}`;

const NONE = 0x7fffffff;

/** Queues the check of a target `[N, HW]`: thrown by the next read or flush when it fails. */
export function checkTargets(
  rt: WebGpuRuntime,
  { target, k, ignoreIndex, op }: KernelArgs["checkTargets"],
): void {
  if (target.length === 0) return;
  const flag = rt.upload(Int32Array.of(NONE, 0));
  const find = rt.kernel("check_targets", FIND_BAD), fetch = rt.kernel("fetch_bad", FETCH_BAD);
  const parts = chunks(rt, target.length);
  for (const [start, count] of parts) {
    const bt = rt.bind(target, start, count);
    const uni = [count, k, i32(ignoreIndex), bt.base, start];
    rt.dispatch(find, [bt, rt.bind(flag)], uni, Math.ceil(count / WG));
  }
  for (const [start, count] of parts) {
    const bt = rt.bind(target, start, count);
    rt.dispatch(fetch, [bt, rt.bind(flag)], [count, bt.base, start], 1);
  }
  rt.checkLater(
    flag,
    ([index, value]) => index === NONE ? null : badTargetError(op, value, index, k, ignoreIndex),
  );
  rt.free(flag);
}
