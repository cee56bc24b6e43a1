/**
 * Splitting NCHW work over planes so that every binding fits the adapter's limit. Shared by the
 * pool, resize and norm families' WebGPU kernels.
 *
 * @module
 */
import type { WebGpuRuntime } from "../../device/webgpu.ts";

/**
 * Splits `planes` planes into runs `[first, count]` such that `count * perPlane` elements fit
 * one binding; `perPlane` is the largest plane (in elements) of any storage the kernel binds.
 */
export function planeChunks(
  rt: WebGpuRuntime,
  planes: number,
  perPlane: number,
  op: string,
): [number, number][] {
  const fit = Math.floor(rt.maxBindingElements / Math.max(perPlane, 1));
  if (fit < 1) {
    throw new RangeError(
      `${op}: a plane of ${perPlane} elements exceeds the binding limit of ` +
        `${rt.maxBindingElements} elements`,
    );
  }
  const out: [number, number][] = [];
  for (let first = 0; first < planes; first += fit) {
    out.push([first, Math.min(fit, planes - first)]);
  }
  return out;
}
