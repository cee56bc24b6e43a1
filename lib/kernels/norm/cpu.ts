/**
 * The batch norm kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelResult, KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** Batch statistics, each tracked as a storage. */
export function trackStats(
  rt: HostRuntime,
  r: { mean: Float32Array; var: Float32Array },
): KernelResult["batchNormStats"] {
  return { mean: rt.track(r.mean), var: rt.track(r.var) };
}

/** The gradients of batch norm, each tracked as a storage. */
export function trackGrads(
  rt: HostRuntime,
  r: { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array },
): KernelResult["batchNormGrad"] {
  return { dx: rt.track(r.dx), dgamma: rt.track(r.dgamma), dbeta: rt.track(r.dbeta) };
}

/** The batch norm slice of the reference backend. */
export const normCpu: KernelSlice<HostRuntime, "norm"> = {
  batchNormStats: (rt, a) => trackStats(rt, ref.batchNormStats(onHost(a))),
  batchNorm: (rt, a) => rt.track(ref.batchNorm(onHost(a))),
  batchNormGrad: (rt, a) => trackGrads(rt, ref.batchNormGrad(onHost(a))),
};
