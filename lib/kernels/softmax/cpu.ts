/**
 * The softmax kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The softmax slice of the reference backend. */
export const softmaxCpu: KernelSlice<HostRuntime, "softmax"> = {
  softmax: (rt, { x, outer, len, inner, log }) =>
    rt.track(ref.softmax(f32of(x), outer, len, inner, log)),
  softmaxGrad: (rt, { y, dy, outer, len, inner, log }) =>
    rt.track(ref.softmaxGrad(f32of(y), f32of(dy), outer, len, inner, log)),
};
