/**
 * Reference optim kernels: plain loops over typed arrays.
 *
 * @module
 */
import type { SgdUpdate } from "../../device/backend.ts";

/**
 * In-place SGD update with PyTorch's rule (`torch.optim.SGD`):
 * `d = grad + wd * param`; with momentum, `buf = first ? d : momentum * buf + (1 - dampening) * d`
 * and `d = nesterov ? d + momentum * buf : buf`; then `param -= lr * d`.
 * `buf` may be null only when `momentum` is 0.
 */
export function sgd(
  param: Float32Array,
  grad: Float32Array,
  buf: Float32Array | null,
  o: SgdUpdate,
): void {
  checkSgd(param.length, grad.length, buf?.length ?? null, o);
  const { lr, momentum, dampening, weightDecay, nesterov, first } = o;
  for (let i = 0; i < param.length; i++) {
    let d = Math.fround(grad[i] + weightDecay * param[i]);
    if (momentum !== 0) {
      const b = first ? d : Math.fround(momentum * buf![i] + (1 - dampening) * d);
      buf![i] = b;
      d = nesterov ? Math.fround(d + momentum * b) : b;
    }
    param[i] = param[i] - lr * d;
  }
}

/** Throws unless the lengths agree and a momentum buffer is given when needed. */
export function checkSgd(
  param: number,
  grad: number,
  buf: number | null,
  o: SgdUpdate,
): void {
  if (grad !== param) {
    throw new RangeError(`sgd: expected a gradient of ${param} elements but got ${grad}`);
  }
  if (o.momentum !== 0 && buf === null) {
    throw new RangeError(`sgd: momentum ${o.momentum} needs a momentum buffer but got null`);
  }
  if (buf !== null && o.momentum !== 0 && buf !== param) {
    throw new RangeError(`sgd: expected a momentum buffer of ${param} elements but got ${buf}`);
  }
}
