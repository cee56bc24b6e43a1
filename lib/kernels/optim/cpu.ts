/**
 * The optimizer kernel of the reference backend: the plain loops of `./reference.ts` on host
 * storages, updating in place.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The optimizer slice of the reference backend. */
export const optimCpu: KernelSlice<HostRuntime, "optim"> = {
  sgd: (_rt, a) => ref.sgd(onHost(a)),
};
