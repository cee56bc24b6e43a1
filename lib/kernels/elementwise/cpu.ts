/**
 * The elementwise kernels of the reference backend: the plain loops of `./reference.ts` on host
 * storages, each output tracked by the host runtime.
 *
 * @module
 */
import type { KernelSlice } from "../../device/backend.ts";
import { f32of, type HostRuntime, onHost } from "../../device/host.ts";
import * as ref from "./reference.ts";

/** The elementwise slice of the reference backend. */
export const elementwiseCpu: KernelSlice<HostRuntime, "elementwise"> = {
  fill: (rt, { length, dtype, value }) => rt.track(ref.fill(length, dtype, value)),
  binary: (rt, { op, a, b, relu }) => {
    const y = ref.binary(op, f32of(a), f32of(b));
    return rt.track(relu ? ref.relu(y) : y);
  },
  axpby: (rt, { a, b, alpha, beta }) => rt.track(ref.axpby(f32of(a), f32of(b), alpha, beta)),
  affine: (rt, { x, alpha, beta }) => rt.track(ref.affine(f32of(x), alpha, beta)),
  relu: (rt, { x }) => rt.track(ref.relu(f32of(x))),
  reluGrad: (rt, { dy, y }) => rt.track(ref.reluGrad(f32of(dy), f32of(y))),
  dropout: (rt, a) => rt.track(ref.dropout(onHost(a))),
  roundF16: (rt, { x }) => rt.track(ref.roundF16(f32of(x))),
};
