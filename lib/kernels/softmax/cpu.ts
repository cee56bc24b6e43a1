/**
 * The softmax kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The softmax slice of the reference backend. */
export const softmaxCpu: KernelSlice<HostRuntime, "softmax"> = {
  softmax: (rt, a) => rt.track(ref.softmax(onHost(a))),
  softmaxGrad: (rt, a) => rt.track(ref.softmaxGrad(onHost(a))),
};
