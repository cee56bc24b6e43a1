/**
 * The loss kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** Loss and weight per pixel, each tracked as a storage. */
function tracked(rt: HostRuntime, r: { loss: Float32Array; weight: Float32Array }) {
  return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
}

/** The loss slice of the reference backend. */
export const lossCpu: KernelSlice<HostRuntime, "loss"> = {
  crossEntropy: (rt, a) => tracked(rt, ref.crossEntropy(onHost(a))),
  crossEntropyGrad: (rt, a) => rt.track(ref.crossEntropyGrad(onHost(a))),
  nllLoss: (rt, a) => tracked(rt, ref.nllLoss(onHost(a))),
  nllLossGrad: (rt, a) => rt.track(ref.nllLossGrad(onHost(a))),
  checkTargets: (_rt, a) => ref.checkTargets(onHost(a)),
};
