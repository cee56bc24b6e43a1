/**
 * The loss kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime, i32of } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The loss slice of the reference backend. */
export const lossCpu: KernelSlice<HostRuntime, "loss"> = {
  crossEntropy: (rt, { logits, target, weight, n, k, hw, ignoreIndex }) => {
    const w = weight ? f32of(weight) : null;
    const r = ref.crossEntropy(f32of(logits), i32of(target), w, n, k, hw, ignoreIndex);
    return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
  },
  crossEntropyGrad: (rt, { logits, target, weight, g, n, k, hw, ignoreIndex }) => {
    const [x, t, w] = [f32of(logits), i32of(target), weight ? f32of(weight) : null];
    return rt.track(ref.crossEntropyGrad(x, t, w, f32of(g), n, k, hw, ignoreIndex));
  },
  nllLoss: (rt, { logProbs, target, weight, n, k, hw, ignoreIndex }) => {
    const w = weight ? f32of(weight) : null;
    const r = ref.nllLoss(f32of(logProbs), i32of(target), w, n, k, hw, ignoreIndex);
    return { loss: rt.track(r.loss), weight: rt.track(r.weight) };
  },
  nllLossGrad: (rt, { target, weight, g, n, k, hw, ignoreIndex }) => {
    const w = weight ? f32of(weight) : null;
    return rt.track(ref.nllLossGrad(i32of(target), w, f32of(g), n, k, hw, ignoreIndex));
  },
  checkTargets: (_rt, { target, k, ignoreIndex, op }) =>
    ref.checkTargets(i32of(target), k, ignoreIndex, op),
};
