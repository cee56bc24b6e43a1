/**
 * The reduction kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The reduction slice of the reference backend. */
export const reduceCpu: KernelSlice<HostRuntime, "reduce"> = {
  argmax: (rt, a) => rt.track(ref.argmax(onHost(a))),
  sum: (rt, a) => rt.track(ref.sum(onHost(a))),
  broadcast: (rt, a) => rt.track(ref.broadcast(onHost(a))),
};
