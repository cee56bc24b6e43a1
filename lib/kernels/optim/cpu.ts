/**
 * The optimizer kernel of the reference backend: the plain loops of `./reference.ts` on host
 * storages, updating in place.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The optimizer slice of the reference backend. */
export const optimCpu: KernelSlice<HostRuntime, "optim"> = {
  sgd: (_rt, { param, grad, buf, update }) =>
    ref.sgd(f32of(param), f32of(grad), buf ? f32of(buf) : null, update),
};
