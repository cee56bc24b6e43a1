/**
 * Reference element-wise kernels: plain loops over typed arrays.
 *
 * @module
 */
import { type BinaryOp, dropoutKeep, type DType, type HostArray } from "../../device/backend.ts";

/** `length` copies of `value`. */
export function fill(length: number, dtype: DType, value: number): HostArray {
  return dtype === "i32"
    ? new Int32Array(length).fill(value)
    : new Float32Array(length).fill(value);
}

/** `a (op) b` with `b` of `a.length` or 1 elements. */
export function binary(op: BinaryOp, a: Float32Array, b: Float32Array): Float32Array {
  const y = new Float32Array(a.length);
  const step = b.length === 1 ? 0 : 1;
  for (let i = 0, j = 0; i < a.length; i++, j += step) {
    const u = a[i], v = b[j];
    y[i] = op === "add" ? u + v : op === "sub" ? u - v : op === "mul" ? u * v : u / v;
  }
  return y;
}

/** `alpha * a + beta * b`. */
export function axpby(a: Float32Array, b: Float32Array, alpha: number, beta: number): Float32Array {
  const y = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) y[i] = alpha * a[i] + beta * b[i];
  return y;
}

/** `alpha * x + beta`. */
export function affine(x: Float32Array, alpha: number, beta: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = alpha * x[i] + beta;
  return y;
}

/** `max(x, 0)`. */
export function relu(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = x[i] > 0 ? x[i] : 0;
  return y;
}

/** `y > 0 ? dy : 0`. */
export function reluGrad(dy: Float32Array, y: Float32Array): Float32Array {
  const dx = new Float32Array(dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
  return dx;
}

/**
 * Inverted dropout with the mask of {@linkcode dropoutKeep} per group of `group` elements; with
 * `seeds`, one seed per sample of `[seeds.length, ...]`, groups counted from each sample's start.
 */
export function dropout(
  x: Float32Array,
  p: number,
  seed: number,
  group: number,
  seeds: readonly number[] = [seed],
): Float32Array {
  const y = new Float32Array(x.length);
  const s = Math.fround(1 / (1 - p)), per = x.length / seeds.length;
  for (let i = 0; i < x.length; i++) {
    const n = Math.floor(i / per);
    y[i] = dropoutKeep(seeds[n], Math.floor((i - n * per) / group), p) ? x[i] * s : 0;
  }
  return y;
}

/** `x` rounded to the nearest f16 value (kept as f32); past f16's range: ±infinity. */
export function roundF16(x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.f16round(x[i]);
  return y;
}
