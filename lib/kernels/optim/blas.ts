/**
 * SGD for the BLAS backend: PyTorch's rule as a few BLAS level-1 passes (`saxpy`, `saxpby`),
 * which the library runs vectorised on all its threads. On fc6's 103M weights (two threads):
 * 290 ms against 425 for the reference's single loop; one thread: ~450 against ~560.
 *
 * The passes round in f32 after each operation where the reference rounds the f64 result of
 * a whole expression, so values differ from it by a few ulps. Nesterov momentum, rare in
 * segmentation recipes, goes through the reference loop.
 *
 * @module
 */
import type { KernelArgs, KernelSlice } from "../../device/backend.ts";
import type { Saxpby, Saxpy } from "../../device/blas_ffi.ts";
import { checkSgd, sgd as referenceSgd } from "./reference.ts";
import type { BlasRuntime } from "../../device/blas_runtime.ts";
import { type OnHost, onHost } from "../../device/host.ts";

/** The level-1 routines the update needs. */
export interface Axpby {
  /** `y = alpha * x + y`. */
  saxpy: Saxpy;
  /** `y = alpha * x + beta * y`. */
  saxpby: Saxpby;
}

/**
 * In-place SGD update of `param` (and `buf`) by `grad` (`torch.optim.SGD`'s rule, see
 * {@linkcode referenceSgd}), `grad` left as it was:
 * - no momentum: `param -= lr * wd * param`, `param -= lr * grad` (a factor `1 - lr * wd`
 *   would lose most of the decay to f32 rounding: 1 - 1e-7 rounds to 1 - 1.19e-7);
 * - momentum, first step: `buf = grad` (a copy), `buf += wd * param`, `param -= lr * buf`;
 * - momentum: `buf = momentum * buf + (1 - dampening) * grad`,
 *   `buf += (1 - dampening) * wd * param`, `param -= lr * buf`.
 */
export function sgd(blas: Axpby, a: OnHost<KernelArgs["sgd"]>): void {
  checkSgd(a);
  const { param, grad, buf, update: o } = a;
  const { lr, momentum, weightDecay: wd } = o, n = param.length;
  if (n === 0) return;
  if (momentum === 0) {
    if (wd !== 0) blas.saxpy(n, -lr * wd, param, param);
    blas.saxpy(n, -lr, grad, param);
    return;
  }
  if (o.nesterov) return referenceSgd(a);
  const b = buf!, c = o.first ? 1 : 1 - o.dampening;
  if (o.first) b.set(grad);
  else blas.saxpby(n, c, grad, momentum, b);
  if (wd !== 0) blas.saxpy(n, c * wd, param, b);
  blas.saxpy(n, -lr, b, param);
}

/** The SGD slice of the BLAS backend: level-1 passes where the library has them. */
export const optimBlas: KernelSlice<BlasRuntime, "optim"> = {
  sgd: (rt, a) => {
    const blas = rt.library.axpby, h = onHost(a);
    rt.changed(h.param); // in place: oneDNN's reordered copy of a conv weight is stale
    if (blas === null) referenceSgd(h);
    else sgd(blas, h);
  },
};
