/**
 * Scratch buffers the conv kernels own: packed copies of weights, dy or im2col columns that
 * are bound as 64 KiB uniform windows (pooled storages cannot be: they lack the UNIFORM
 * usage). One growing buffer per runtime and purpose; every buffer has one window of slack past
 * its end so that a window starting anywhere inside it can be bound whole.
 *
 * Reusing a buffer from call to call is safe: dispatches run in the order they are recorded,
 * and a call records its packing and all the dispatches that read it before the next call
 * packs again.
 *
 * @module
 */
import type { WebGpuRuntime } from "../../../device/webgpu.ts";

/** Floats of a uniform window (`array<vec4f, 4096>`, 64 KiB). */
export const UNIFORM_WINDOW = 16384;

/** The WGSL type of one uniform window: {@linkcode UNIFORM_WINDOW} floats as `vec4f`s. */
export const UNIFORM_BLOCK = `array<vec4f, ${UNIFORM_WINDOW / 4}>`;

const buffers = new WeakMap<WebGpuRuntime, Map<string, GPUBuffer>>();

/** A storage-and-uniform buffer named `name` of at least `elems` floats plus one window. */
export function uniformScratch(rt: WebGpuRuntime, name: string, elems: number): GPUBuffer {
  let mine = buffers.get(rt);
  if (!mine) buffers.set(rt, mine = new Map());
  const bytes = elems * 4 + UNIFORM_WINDOW * 4;
  const have = mine.get(name);
  if (have && have.size >= bytes) return have;
  // Grow by at least an eighth, in whole MiB, so that growing layer by layer stays rare.
  const size = Math.ceil(Math.max(bytes, (have?.size ?? 0) * 1.125) / 2 ** 20) * 2 ** 20;
  const buffer = rt.device.createBuffer({
    label: `conv ${name}`,
    size,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM,
  });
  mine.set(name, buffer);
  return buffer;
}

/** Floats a window can hold after aligning its start down to the uniform offset alignment. */
export function windowRoom(rt: WebGpuRuntime): number {
  return UNIFORM_WINDOW - rt.device.limits.minUniformBufferOffsetAlignment / 4;
}

/**
 * The uniform window of `buffer` holding the floats from `start` on: the binding and the offset
 * of `start` inside it (in floats).
 */
export function uniformWindow(
  rt: WebGpuRuntime,
  buffer: GPUBuffer,
  start: number,
): { binding: GPUBufferBinding; base: number } {
  const align = rt.device.limits.minUniformBufferOffsetAlignment;
  const bytes = start * 4;
  const offset = bytes - bytes % align;
  return {
    binding: { buffer, offset, size: UNIFORM_WINDOW * 4 },
    base: (bytes - offset) / 4,
  };
}
