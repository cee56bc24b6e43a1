import type { Tensor } from "../tensor.ts";

/** Throws unless `t` has `rank` dimensions. */
export function expectRank(
  op: string,
  name: string,
  t: Tensor,
  rank: number,
  layout: string,
): void {
  if (t.shape.length !== rank) {
    throw new RangeError(
      `${op}: expected ${name} of rank ${rank} ${layout} but got shape [${t.shape}]`,
    );
  }
}

/** Throws unless `t` holds f32. */
export function expectF32(op: string, name: string, t: Tensor): void {
  if (t.dtype !== "f32") {
    throw new TypeError(`${op}: expected ${name} of dtype f32 but got ${t.dtype}`);
  }
}

/** Throws unless all tensors are on the same device. */
export function sameDevice(op: string, ...ts: (Tensor | null | undefined)[]): void {
  const d = ts.find((t) => t)?.device;
  for (const t of ts) {
    if (t && t.device !== d) throw new Error(`${op}: tensors live on different devices`);
  }
}

/** A number or a [h, w] pair as a pair. */
export function pair(
  v: number | readonly [number, number],
  name: string,
  op: string,
): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new RangeError(
      `${op}: expected ${name} to be a non-negative integer or pair but got ${v}`,
    );
  }
  return p;
}

/** `shape` seen as `[outer, len, inner]` around axis `dim` (negative counts from the end). */
export function split(shape: readonly number[], dim: number, op: string): [number, number, number] {
  const d = dim < 0 ? dim + shape.length : dim;
  if (!Number.isInteger(d) || d < 0 || d >= shape.length) {
    throw new RangeError(`${op}: dim ${dim} is out of range for shape [${shape}]`);
  }
  const outer = shape.slice(0, d).reduce((a, b) => a * b, 1);
  const inner = shape.slice(d + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[d], inner];
}
