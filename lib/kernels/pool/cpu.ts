/**
 * The max pool kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The max pool slice of the reference backend. */
export const poolCpu: KernelSlice<HostRuntime, "pool"> = {
  maxPool2d: (rt, a) => {
    const r = ref.maxPool2d(onHost(a));
    return { y: rt.track(r.y), idx: rt.track(r.idx) };
  },
  maxPool2dGrad: (rt, a) => rt.track(ref.maxPool2dGrad(onHost(a))),
};
