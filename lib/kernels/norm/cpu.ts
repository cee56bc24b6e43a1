/**
 * The batch norm kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The batch norm slice of the reference backend. */
export const normCpu: KernelSlice<HostRuntime, "norm"> = {
  batchNormStats: (rt, { x, planes }) => {
    const r = ref.batchNormStats(f32of(x), planes);
    return { mean: rt.track(r.mean), var: rt.track(r.var) };
  },
  batchNorm: (rt, { x, mean, variance, gamma, beta, planes, eps }) =>
    rt.track(
      ref.batchNorm(f32of(x), f32of(mean), f32of(variance), f32of(gamma), f32of(beta), planes, eps),
    ),
  batchNormGrad: (rt, { dy, x, mean, variance, gamma, planes, eps, training }) => {
    const [d, xs, m, v, g] = [f32of(dy), f32of(x), f32of(mean), f32of(variance), f32of(gamma)];
    const r = ref.batchNormGrad(d, xs, m, v, g, planes, eps, training);
    return { dx: rt.track(r.dx), dgamma: rt.track(r.dgamma), dbeta: rt.track(r.dbeta) };
  },
};
