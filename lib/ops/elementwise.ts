/**
 * Element-wise ops: ReLU, arithmetic, scaling and dropout.
 *
 * @module
 */
import type { BinaryOp } from "../device/backend.ts";
import { isGradEnabled, record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, sameDevice } from "./_util.ts";

/**
 * `max(x, 0)`.
 *
 * @example
 * ```ts
 * import { relu, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * assertEquals(Array.from(await relu(tensor([-1, 2], [2], device)).toArray()), [0, 2]);
 * ```
 */
export function relu(x: Tensor): Tensor {
  expectF32("relu", "input", x);
  const y = new Tensor(x.device.backend.relu({ x: x.storage }), x.shape, x.device);
  return record(y, "relu", [x], {});
}

function binary(op: BinaryOp, a: Tensor, b: Tensor, withRelu = false): Tensor {
  expectF32(op, "a", a);
  expectF32(op, "b", b);
  sameDevice(op, a, b);
  const scalarB = b.size === 1 && a.size !== 1;
  if (!scalarB && a.shape.join() !== b.shape.join()) {
    throw new RangeError(
      `${op}: expected shapes to match (or b to have one element) but got [${a.shape}] and [${b.shape}]`,
    );
  }
  const y = new Tensor(
    a.device.backend.binary({
      op,
      a: a.storage,
      b: b.storage,
      ...(withRelu ? { relu: true } : {}),
    }),
    a.shape,
    a.device,
  );
  return record(y, "binary", [a, b], { op, scalarB });
}

/**
 * `a + b`; `b` has `a`'s shape or one element.
 *
 * @example
 * ```ts
 * import { add, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const y = add(tensor([1, 2], [2], device), tensor([10, 20], [2], device));
 * assertEquals(Array.from(await y.toArray()), [11, 22]);
 * ```
 */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary("add", a, b);
}

/**
 * `relu(a + b)` (ResNet's residual join): one kernel where no graph is recorded (inference),
 * else `add` then `relu`.
 *
 * @example
 * ```ts
 * import { noGrad, requestDevice, tensor } from "@x/fcn";
 * import { addRelu } from "./elementwise.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const y = noGrad(() => addRelu(tensor([1, -2], [2], device), tensor([1, 1], [2], device)));
 * assertEquals(Array.from(await y.toArray()), [2, 0]);
 * ```
 */
export function addRelu(a: Tensor, b: Tensor): Tensor {
  return isGradEnabled() ? relu(add(a, b)) : binary("add", a, b, true);
}

/** `a - b`; `b` has `a`'s shape or one element. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary("sub", a, b);
}

/** `a * b`; `b` has `a`'s shape or one element. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary("mul", a, b);
}

/** `a / b`; `b` has `a`'s shape or one element. */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary("div", a, b);
}

/** `alpha * x`. */
export function scale(x: Tensor, alpha: number): Tensor {
  expectF32("scale", "input", x);
  const y = new Tensor(
    x.device.backend.affine({ x: x.storage, alpha, beta: 0 }),
    x.shape,
    x.device,
  );
  return record(y, "affine", [x], { alpha });
}

/** Options of {@linkcode dropout} and {@linkcode dropout2d}. */
export interface DropoutOptions {
  /** Probability of zeroing an element (or channel), in [0, 1) (default 0.5). */
  p?: number;
  /** Only drop in training; in evaluation the input is returned as it is (default true). */
  training?: boolean;
  /** Seed of the mask; the same seed gives the same mask on every backend (default 0). */
  seed?: number;
  /**
   * One seed per sample along the first dimension (`x.shape[0]` of them), instead of `seed`:
   * each sample's mask then depends only on its own seed, not on the batch it is in.
   */
  seeds?: readonly number[];
}

function dropoutImpl(x: Tensor, options: DropoutOptions, perChannel: boolean): Tensor {
  const op = perChannel ? "dropout2d" : "dropout";
  const p = options.p ?? 0.5;
  if (!(p >= 0 && p < 1)) throw new RangeError(`${op}: expected p in [0, 1) but got ${p}`);
  if (!(options.training ?? true) || p === 0) return x;
  if (perChannel && x.shape.length !== 4) {
    throw new RangeError(`${op}: expected [N, C, H, W] but got shape [${x.shape}]`);
  }
  const group = perChannel ? x.shape[2] * x.shape[3] : 1;
  const seed = (options.seed ?? 0) >>> 0;
  const seeds = options.seeds?.map((v) => v >>> 0);
  if (seeds && seeds.length !== x.shape[0]) {
    throw new RangeError(
      `${op}: expected one seed per sample (${x.shape[0]} for shape [${x.shape}]) but got ` +
        `${seeds.length}`,
    );
  }
  const y = new Tensor(
    x.device.backend.dropout({ x: x.storage, p, seed, group, seeds }),
    x.shape,
    x.device,
  );
  return record(y, "dropout", [x], { p, seed, group, seeds });
}

/**
 * Inverted dropout of single elements: zeroes each with probability `p` and scales the rest by
 * `1 / (1 - p)`.
 *
 * @example
 * ```ts
 * import { dropout, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const y = await dropout(tensor(new Float32Array(1000).fill(1), [1000], device), { p: 0.5, seed: 7 }).toArray();
 * assertEquals(y.every((v) => v === 0 || v === 2), true);
 * ```
 */
export function dropout(x: Tensor, options: DropoutOptions = {}): Tensor {
  return dropoutImpl(x, options, false);
}

/** Dropout of whole channels of `[N, C, H, W]` (as `nn.Dropout2d`). */
export function dropout2d(x: Tensor, options: DropoutOptions = {}): Tensor {
  return dropoutImpl(x, options, true);
}
