/**
 * The resize and crop kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The resize and crop slice of the reference backend. */
export const resizeCpu: KernelSlice<HostRuntime, "resize"> = {
  interpolate: (rt, { x, planes, oh, ow, alignCorners }) =>
    rt.track(ref.interpolate(f32of(x), planes, oh, ow, alignCorners)),
  interpolateGrad: (rt, { dy, planes, oh, ow, alignCorners }) =>
    rt.track(ref.interpolateGrad(f32of(dy), planes, oh, ow, alignCorners)),
  crop: (rt, { x, planes, oh, ow, top, left }) =>
    rt.track(ref.crop(f32of(x), planes, oh, ow, top, left)),
  cropGrad: (rt, { dy, planes, oh, ow, top, left }) =>
    rt.track(ref.cropGrad(f32of(dy), planes, oh, ow, top, left)),
};
