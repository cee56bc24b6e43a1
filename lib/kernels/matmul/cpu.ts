/**
 * The matrix product kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The matrix product slice of the reference backend. */
export const matmulCpu: KernelSlice<HostRuntime, "matmul"> = {
  matmul: (rt, a) => rt.track(ref.matmul(onHost(a))),
};
