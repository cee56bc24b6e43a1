/**
 * The resize and crop kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The resize and crop slice of the reference backend. */
export const resizeCpu: KernelSlice<HostRuntime, "resize"> = {
  interpolate: (rt, a) => rt.track(ref.interpolate(onHost(a))),
  interpolateGrad: (rt, a) => rt.track(ref.interpolateGrad(onHost(a))),
  crop: (rt, a) => rt.track(ref.crop(onHost(a))),
  cropGrad: (rt, a) => rt.track(ref.cropGrad(onHost(a))),
};
