/**
 * The max pool kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime, i32of } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The max pool slice of the reference backend. */
export const poolCpu: KernelSlice<HostRuntime, "pool"> = {
  maxPool2d: (rt, { x, geom }) => {
    const r = ref.maxPool2d(f32of(x), geom);
    return { y: rt.track(r.y), idx: rt.track(r.idx) };
  },
  maxPool2dGrad: (rt, { dy, idx, geom }) =>
    rt.track(ref.maxPool2dGrad(f32of(dy), i32of(idx), geom)),
};
