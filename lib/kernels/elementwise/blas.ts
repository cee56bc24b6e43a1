/**
 * Branch-free ReLU kernels for the BLAS backend, working on the float bits as int32.
 *
 * Half the signs of an activation are negative at random, so `x > 0 ? x : 0` mispredicts a
 * branch on every other element; masks built from the sign bit do not. On [64, 224, 224]
 * random values: relu 5.6 ms against 18.5 for the reference loop, reluGrad 4.9 against 17.9;
 * on [2048, 60, 60], with every intermediate kept in int32, relu 9.6 ms against 40.
 * The binary operations and the affine map have one loop per operation instead of a choice per
 * element. Every kernel writes each element of its output, so `out` may hold anything (the
 * backend passes recycled arrays); without it a new array is allocated.
 *
 * @module
 */
import { type BinaryOp, dropoutKeep } from "../../device/backend.ts";
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import type { BlasRuntime, Blocked } from "../../device/blas_runtime.ts";
import { f32of, type OnHost, onHost } from "../../device/host.ts";
import { elementwiseCpu } from "./cpu.ts";
import * as ref from "./reference.ts";
import { expectLength } from "../_check.ts";

/** Int32 view of the same memory. */
function bits(a: Float32Array): Int32Array {
  return new Int32Array(a.buffer, a.byteOffset, a.length);
}

/** Bits of +Infinity plus one: int views of positive floats below it are numbers, above NaNs. */
const NAN_FLOOR = 0x7f800001;

/**
 * `y = max(y, 0)` in place: a set sign bit clears the word, everything else is kept (a NaN
 * stays NaN unless its sign bit is set, like PyTorch's fused conv + ReLU).
 */
export function reluInPlace(y: Float32Array): void {
  const b = bits(y);
  for (let i = 0; i < b.length; i++) {
    const v = b[i];
    b[i] = v & ~(v >> 31);
  }
}

/** Throws unless `a` holds `n` elements. */

/** `out`, checked to hold `n` elements, or a new array. */
function output(op: string, n: number, out: Float32Array | undefined): Float32Array {
  if (out === undefined) return new Float32Array(n);
  expectLength(op, "out", out, n);
  return out;
}

/** `x > 0 ? x : 0` (NaN gives 0, as the reference does). */
export function relu(x: Float32Array, out?: Float32Array): Float32Array {
  const y = output("relu", x.length, out);
  const xb = bits(x), yb = bits(y);
  for (let i = 0; i < xb.length; i++) {
    // p: the bits with negatives cleared; kept where p < NaN_FLOOR (not NaN). Neither step
    // leaves int32 (v - NAN_FLOOR would for negative v: a deopt to doubles, twice as slow).
    const v = xb[i], p = v & ~(v >> 31);
    yb[i] = p & ((p - NAN_FLOOR) >> 31);
  }
  return y;
}

/** `y > 0 ? dy : 0`, given the ReLU's output `y`. */
export function reluGrad(dy: Float32Array, y: Float32Array, out?: Float32Array): Float32Array {
  expectLength("reluGrad", "y", y, dy.length);
  const dx = output("reluGrad", dy.length, out);
  const db = bits(dy), yb = bits(y), xb = bits(dx);
  for (let i = 0; i < db.length; i++) {
    // With p the bits of y, negatives cleared: the sign of (-p & (p - NAN_FLOOR)) is set
    // exactly when y > 0 and y is not NaN; no step leaves int32.
    const v = yb[i], p = v & ~(v >> 31);
    xb[i] = db[i] & (((0 - p) & (p - NAN_FLOOR)) >> 31);
  }
  return dx;
}

/**
 * `y = a (op) b`, `b` of `a.length` or 1 elements: the reference's arithmetic (one f32
 * rounding of the f64 result), bit for bit.
 */
export function binary(
  op: BinaryOp,
  a: Float32Array,
  b: Float32Array,
  out?: Float32Array,
): Float32Array {
  if (b.length !== a.length && b.length !== 1) {
    throw new RangeError(
      `binary ${op}: expected b of ${a.length} or 1 elements but got ${b.length}`,
    );
  }
  const y = output(`binary ${op}`, a.length, out), n = a.length;
  if (b.length === 1 && n !== 1) {
    const v = b[0];
    if (op === "add") { for (let i = 0; i < n; i++) y[i] = a[i] + v; }
    else if (op === "sub") { for (let i = 0; i < n; i++) y[i] = a[i] - v; }
    else if (op === "mul") { for (let i = 0; i < n; i++) y[i] = a[i] * v; }
    else for (let i = 0; i < n; i++) y[i] = a[i] / v;
  } else if (op === "add") { for (let i = 0; i < n; i++) y[i] = a[i] + b[i]; }
  else if (op === "sub") { for (let i = 0; i < n; i++) y[i] = a[i] - b[i]; }
  else if (op === "mul") { for (let i = 0; i < n; i++) y[i] = a[i] * b[i]; }
  else for (let i = 0; i < n; i++) y[i] = a[i] / b[i];
  return y;
}

/**
 * `y = max(a + b, 0)` (NaN gives 0, as the reference's relu), one pass: ResNet's residual join
 * in inference. On [2048, 60, 60]: 5.5 ms, against 9.6 for the sum and the bit-trick ReLU
 * one after the other.
 */
export function addRelu(a: Float32Array, b: Float32Array, out?: Float32Array): Float32Array {
  expectLength("addRelu", "b", b, a.length);
  const y = output("addRelu", a.length, out);
  for (let i = 0; i < a.length; i++) {
    const s = a[i] + b[i];
    y[i] = s > 0 ? s : 0;
  }
  return y;
}

/** `y = alpha * x + beta`, as the reference computes it. */
export function affine(
  x: Float32Array,
  alpha: number,
  beta: number,
  out?: Float32Array,
): Float32Array {
  const y = output("affine", x.length, out);
  for (let i = 0; i < x.length; i++) y[i] = alpha * x[i] + beta;
  return y;
}

/**
 * Inverted dropout with the reference's mask ({@linkcode dropoutKeep} per group of `group`
 * elements, per sample with `seeds`), the hash drawn once per group instead of once per element.
 */
export function dropout(a: OnHost<KernelArgs["dropout"]>, out?: Float32Array): Float32Array {
  const { x, p, seed, group, seeds = [seed] } = a;
  const y = output("dropout", x.length, out), s = Math.fround(1 / (1 - p));
  const per = x.length / seeds.length;
  if (!Number.isInteger(group) || group < 1 || !Number.isInteger(per)) {
    y.set(ref.dropout(a));
    return y;
  }
  seeds.forEach((sd, n) => {
    const base = n * per;
    for (let start = 0, gi = 0; start < per; start += group, gi++) {
      const end = base + Math.min(per, start + group);
      if (!dropoutKeep(sd, gi, p)) y.fill(0, base + start, end);
      else for (let i = base + start; i < end; i++) y[i] = x[i] * s;
    }
  });
  return y;
}

/** The blocked buffers of `a` and `b` where both are held in the same oneDNN layout. */
function heldPair(rt: BlasRuntime, a: Storage, b: Storage): [Blocked, Blocked] | null {
  const ha = rt.blocked.get(a), hb = rt.blocked.get(b);
  return ha && hb && a.length === b.length && ha.buffer.length === hb.buffer.length &&
      ha.layout.same(hb.layout)
    ? [ha, hb]
    : null;
}

/**
 * The element-wise slice of the BLAS backend: one loop per operation into pooled arrays; a sum
 * or difference of equal lengths as a copy and a `saxpy` (the same f32 rounding, 2x as fast).
 */
export const elementwiseBlas: KernelSlice<BlasRuntime, "elementwise"> = {
  ...elementwiseCpu,
  fill: (rt, { length, dtype, value }) => rt.track(rt.pool.filled(dtype, length, value)),
  binary: (rt, { op, a, b, relu: withRelu }) => {
    const held = op === "add" ? heldPair(rt, a, b) : null;
    if (held) {
      // Both in one oneDNN layout (a residual join of two conv outputs): add there, padding too.
      const [ha, hb] = held, sum = rt.pool.f32(ha.buffer.length);
      ha.layout.add(ha.buffer, hb.buffer, sum, !!withRelu);
      return rt.trackBlocked(a.length, { buffer: sum, layout: ha.layout });
    }
    const out = rt.pool.f32(a.length), blas = rt.library.axpby;
    if (withRelu && op === "add" && a.length === b.length) {
      return rt.track(addRelu(f32of(a), f32of(b), out));
    }
    if (withRelu) return rt.track(relu(binary(op, f32of(a), f32of(b), out), out));
    if (blas && (op === "add" || op === "sub") && a.length === b.length && a.length > 0) {
      out.set(f32of(a));
      blas.saxpy(a.length, op === "add" ? 1 : -1, f32of(b), out);
      return rt.track(out);
    }
    return rt.track(binary(op, f32of(a), f32of(b), out));
  },
  affine: (rt, { x, alpha, beta }) =>
    rt.track(affine(f32of(x), alpha, beta, rt.pool.f32(x.length))),
  relu: (rt, { x }) => rt.track(relu(f32of(x), rt.pool.f32(x.length))),
  reluGrad: (rt, { dy, y }) => rt.track(reluGrad(f32of(dy), f32of(y), rt.pool.f32(dy.length))),
  dropout: (rt, a) => rt.track(dropout(onHost(a), rt.pool.f32(a.x.length))),
};
