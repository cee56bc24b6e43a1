/**
 * The convolution kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The convolution slice of the reference backend. */
export const convCpu: KernelSlice<HostRuntime, "conv"> = {
  conv2d: (rt, { x, w, b, geom, relu }) =>
    rt.track(ref.conv2d(f32of(x), f32of(w), b ? f32of(b) : null, geom, relu)),
  conv2dGradInput: (rt, { dy, w, geom }) =>
    rt.track(ref.conv2dGradInput(f32of(dy), f32of(w), geom)),
  conv2dGradWeight: (rt, { dy, x, geom }) =>
    rt.track(ref.conv2dGradWeight(f32of(dy), f32of(x), geom)),
  channelSum: (rt, { x, planes }) => rt.track(ref.channelSum(f32of(x), planes)),
};
