/**
 * Reductions and shape ops: `sum`, `mean`, `argmax`, `matmul`, `reshape`.
 *
 * @module
 */
import { record, round16 } from "../autograd.ts";
import { castInputs } from "./conv.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, expectRank, sameDevice, split } from "./_util.ts";

function reduceImpl(x: Tensor, dim: number | undefined, op: string, isMean: boolean): Tensor {
  expectF32(op, "input", x);
  const [outer, len, inner] = dim === undefined ? [1, x.size, 1] : split(x.shape, dim, op);
  const shape = dim === undefined
    ? []
    : x.shape.filter((_, i) => i !== (dim < 0 ? dim + x.shape.length : dim));
  const b = x.device.backend;
  let s = b.sum({ x: x.storage, outer, len, inner });
  const scale = isMean ? 1 / len : 1;
  if (isMean) {
    const m = b.affine({ x: s, alpha: scale, beta: 0 });
    b.free(s);
    s = m;
  }
  return record(new Tensor(s, shape, x.device), "sum", [x], { outer, len, inner, scale });
}

/**
 * Sum of all elements (a scalar), or along `dim`.
 *
 * @example
 * ```ts
 * import { requestDevice, sum, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, 2, 3, 4], [2, 2], device);
 * assertEquals(await sum(x).item(), 10);
 * assertEquals(Array.from(await sum(x, 0).toArray()), [4, 6]);
 * ```
 */
export function sum(x: Tensor, dim?: number): Tensor {
  return reduceImpl(x, dim, "sum", false);
}

/** Mean of all elements (a scalar), or along `dim`. */
export function mean(x: Tensor, dim?: number): Tensor {
  return reduceImpl(x, dim, "mean", true);
}

/**
 * Index (i32) of the largest value along `dim`; the first one on ties. Not differentiable.
 *
 * @example
 * ```ts
 * import { argmax, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const logits = tensor([0, 5, 3, 1], [1, 2, 2], device); // [N, K, HW]
 * assertEquals(Array.from(await argmax(logits, 1).toArray()), [1, 0]);
 * ```
 */
export function argmax(x: Tensor, dim: number): Tensor {
  expectF32("argmax", "input", x);
  const [outer, len, inner] = split(x.shape, dim, "argmax");
  const d = dim < 0 ? dim + x.shape.length : dim;
  const s = x.device.backend.argmax({ x: x.storage, outer, len, inner });
  return new Tensor(s, x.shape.filter((_, i) => i !== d), x.device);
}

/**
 * Matrix product `[M, K] @ [K, N] -> [M, N]`.
 *
 * @example
 * ```ts
 * import { matmul, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const a = tensor([1, 2, 3, 4], [2, 2], device);
 * const b = tensor([1, 0, 0, 1], [2, 2], device);
 * assertEquals(Array.from(await matmul(a, b).toArray()), [1, 2, 3, 4]);
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const op = "matmul";
  expectRank(op, "a", a, 2, "[M, K]");
  expectRank(op, "b", b, 2, "[K, N]");
  expectF32(op, "a", a);
  expectF32(op, "b", b);
  sameDevice(op, a, b);
  const [m, k] = a.shape;
  const [k2, n] = b.shape;
  if (k !== k2) throw new RangeError(`${op}: inner sizes differ: [${a.shape}] @ [${b.shape}]`);
  const be = a.device.backend;
  const f16 = castInputs(be, a, b);
  const s = be.matmul({
    a: f16?.x ?? a.storage,
    b: f16?.w ?? b.storage,
    m,
    k,
    n,
    transA: false,
    transB: false,
  });
  const y = new Tensor(round16(be, s, f16 !== null), [m, n], a.device);
  return record(y, op, [a, b], { m, k, n, f16 }, f16 ? [f16.x, f16.w] : []);
}

/**
 * The same elements in a new shape (a copy).
 *
 * @example
 * ```ts
 * import { requestDevice, reshape, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * assertEquals(reshape(tensor([1, 2, 3, 4], [4], device), [2, 2]).shape, [2, 2]);
 * ```
 */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== x.size) {
    throw new RangeError(`reshape: cannot view [${x.shape}] (${x.size} elements) as [${shape}]`);
  }
  const b = x.device.backend;
  if (x.dtype !== "f32") throw new TypeError(`reshape: expected an f32 tensor but got ${x.dtype}`);
  const s = b.affine({ x: x.storage, alpha: 1, beta: 0 });
  return record(new Tensor(s, shape, x.device), "reshape", [x], {});
}
