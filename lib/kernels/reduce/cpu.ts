/**
 * The reduction kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The reduction slice of the reference backend. */
export const reduceCpu: KernelSlice<HostRuntime, "reduce"> = {
  argmax: (rt, { x, outer, len, inner }) => rt.track(ref.argmax(f32of(x), outer, len, inner)),
  sum: (rt, { x, outer, len, inner }) => rt.track(ref.sum(f32of(x), outer, len, inner)),
  broadcast: (rt, { x, outer, len, inner }) => rt.track(ref.broadcast(f32of(x), outer, len, inner)),
};
