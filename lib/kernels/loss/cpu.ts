/**
 * The cross entropy kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime, i32of } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The cross entropy slice of the reference backend. */
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
};
