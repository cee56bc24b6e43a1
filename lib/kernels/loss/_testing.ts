/**
 * Helpers shared by the cross entropy and negative log-likelihood tests.
 *
 * @module
 */
import { crossEntropy, nllLoss, type Tensor } from "../../../mod.ts";
import type { Backend, ClassTargetArgs, Storage } from "../../device/backend.ts";
import type { OnHost } from "../../device/host.ts";
import type { CrossEntropyOptions } from "../../ops/loss.ts";
import { checkOp, randn, rng, uploaded } from "../../../tests/harness.ts";
import { assertClose } from "../../../tests/assert.ts";
import * as ref from "./reference.ts";

/** `count` class ids in `[0, k)`, about a fifth of them replaced by `ignore`. */
export function targets(count: number, k: number, ignore: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: count }, () => r() < 0.2 ? ignore : Math.floor(r() * k));
}

/** A loss kernel's host arguments, its input (logits or log-probabilities) as `x`. */
type Host = OnHost<ClassTargetArgs> & { x: Float32Array };

/** A forward kernel's loss and weight per pixel on the backend and in the reference. */
type Forward = [{ loss: Storage; weight: Storage }, { loss: Float32Array; weight: Float32Array }];

/**
 * How each loss is tested: its op and its input's range there, and its kernels (on a backend
 * and in the reference, from the same arguments) with their input's range and tolerance.
 */
const LOSSES = {
  crossEntropy: {
    op: crossEntropy,
    opRange: [-3, 3],
    kernelRange: [-40, 40], // wide logits: needs the max subtracted
    tol: { atol: 1e-4, rtol: 1e-5 },
    forward: (b: Backend, { x, ...a }: Host): Forward => [
      b.crossEntropy(uploaded(b, { ...a, logits: x })),
      ref.crossEntropy({ ...a, logits: x }),
    ],
    grad: (b: Backend, { x, ...a }: Host, g: Float32Array): [Storage, Float32Array] => [
      b.crossEntropyGrad(uploaded(b, { ...a, g, logits: x })),
      ref.crossEntropyGrad({ ...a, g, logits: x }),
    ],
  },
  nllLoss: {
    op: nllLoss,
    opRange: [-4, 0],
    kernelRange: [-5, 0],
    tol: {},
    forward: (b: Backend, { x, ...a }: Host): Forward => [
      b.nllLoss(uploaded(b, { ...a, logProbs: x })),
      ref.nllLoss({ ...a, logProbs: x }),
    ],
    grad: (b: Backend, { x: _, ...a }: Host, g: Float32Array): [Storage, Float32Array] => [
      b.nllLossGrad(uploaded(b, { ...a, g })),
      ref.nllLossGrad({ ...a, g }),
    ],
  },
} as const;

/** The losses {@linkcode checkLoss} and {@linkcode compareKernels} test. */
export type Loss = keyof typeof LOSSES;

/** checkOp over a loss op on `[n, k, h, w]`, with targets and weights given as data. */
export function checkLoss(
  loss: Loss,
  name: string,
  o: CrossEntropyOptions & { shape: number[]; seed?: number; weighted?: boolean },
): Promise<unknown> {
  const { op, opRange } = LOSSES[loss];
  const [n, k, h, w] = o.shape, seed = o.seed ?? 1;
  const specs = [
    { shape: [n, k, h, w], data: randn(n * k * h * w, seed, ...opRange) },
    { shape: [n, h, w], data: targets(n * h * w, k, o.ignoreIndex ?? 255, seed) },
  ];
  if (o.weighted) specs.push({ shape: [k], data: randn(k, seed + 1, 0.2, 2) });
  const options = { reduction: o.reduction, ignoreIndex: o.ignoreIndex };
  const fn = ([x, t, wt]: Tensor[]) =>
    op(x, t, { ...options, weight: o.weighted ? wt : undefined });
  return checkOp(name, specs, fn, { finiteDifferences: n * k * h * w <= 48 });
}

/**
 * A loss's forward and gradient kernels on `b` against the reference on `[n, k, hw]`, the
 * gradient with g per pixel and with a single g.
 */
export async function compareKernels(
  b: Backend,
  loss: Loss,
  { n, k, hw, weighted }: { n: number; k: number; hw: number; weighted: boolean },
): Promise<void> {
  const { forward, grad, kernelRange, tol } = LOSSES[loss];
  const name = `[${n}, ${k}, ${hw}]${weighted ? " weighted" : ""}`;
  const a = {
    x: randn(n * k * hw, n + k + hw, ...kernelRange),
    target: targets(n * hw, k, 255, hw),
    weight: weighted ? randn(k, 3, 0.5, 2) : null,
    n,
    k,
    hw,
    ignoreIndex: 255,
  };
  const [got, want] = forward(b, a);
  assertClose(await b.read(got.loss), want.loss, { ...tol, name: `loss ${name}` });
  assertClose(await b.read(got.weight), want.weight, { ...tol, name: `weight ${name}` });
  for (const g of [randn(n * hw, 4), Float32Array.of(0.7)]) {
    const [dx, dxRef] = grad(b, a, g);
    assertClose(await b.read(dx), dxRef, { ...tol, name: `grad ${name}, g of ${g.length}` });
  }
}
