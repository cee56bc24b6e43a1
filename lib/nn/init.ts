/**
 * PyTorch's weight initialisers, drawing from the project's seeded {@linkcode Rng}.
 *
 * @module
 */
import type { Rng } from "../random.ts";

let skipping = 0;

/**
 * Runs `fn` (typically `createModel`) with the random initialisers switched off: they return
 * zeros without drawing, and {@linkcode hostTensor} allocates zeroed storages without a copy.
 * For weights that are about to be loaded (a full-size VGG16 draws 134M values: 3.6 s).
 *
 * @example Building a model whose weights come from a file
 * ```ts
 * import { createModel, requestDevice } from "../../mod.ts";
 * import { skipInit } from "./init.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const model = skipInit(() => createModel("fcn8s", { numClasses: 3, width: 1 / 16 }, device));
 * console.assert(model.parameters()[0].size > 0); // zeros until loadStateDict
 * ```
 */
export function skipInit<T>(fn: () => T): T {
  skipping++;
  try {
    return fn();
  } finally {
    skipping--;
  }
}

/** Whether the initialisers are switched off ({@linkcode skipInit}). */
export function initSkipped(): boolean {
  return skipping > 0;
}

/** Fan-in and fan-out of a conv weight `[K, C, KH, KW]` (or a linear `[K, C]`). */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const rf = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * rf, fanOut: shape[0] * rf };
}

/** U(-bound, bound) values. */
export function uniform(size: number, bound: number, rng: Rng): Float32Array {
  const out = new Float32Array(size);
  if (skipping) return out;
  for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** `kaiming_normal_(mode, nonlinearity="relu")`: N(0, 2 / fan). */
export function kaimingNormal(
  shape: readonly number[],
  rng: Rng,
  mode: "fanIn" | "fanOut" = "fanOut",
): Float32Array {
  const std = Math.sqrt(2 / fans(shape)[mode]);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  if (skipping) return out;
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}

/** PyTorch's default Conv2d init: weight and bias U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export function defaultConvInit(
  shape: readonly number[],
  rng: Rng,
): { weight: Float32Array; bias: Float32Array } {
  const bound = 1 / Math.sqrt(fans(shape).fanIn);
  const size = shape.reduce((a, b) => a * b, 1);
  return { weight: uniform(size, bound, rng), bias: uniform(shape[0], bound, rng) };
}

/**
 * The bilinear upsampling kernel on the diagonal channel pairs of a transposed-conv weight
 * `[C, C, k, k]`, as the FCN paper initialises its upsamplers.
 */
export function bilinearKernel(channels: number, k: number): Float32Array {
  const factor = Math.floor((k + 1) / 2);
  const center = k % 2 === 1 ? factor - 1 : factor - 0.5;
  const w = new Float32Array(channels * channels * k * k);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        const v = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
        w[((c * channels + c) * k + i) * k + j] = v;
      }
    }
  }
  return w;
}
