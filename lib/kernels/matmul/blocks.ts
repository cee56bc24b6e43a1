/**
 * Splitting GEMM-like work into blocks whose bound windows fit one binding, and small helpers
 * for the register-tiled WGSL the matmul and conv kernels generate.
 *
 * A kernel binds, per tensor, a window `[start, start + span)` of a row-major buffer. When a
 * chunk covers `b[outer]` rows of `stride` elements and `b[inner]` units of `unit` elements
 * inside each row, its span is `(b[outer] - 1) * stride + b[inner] * unit`.
 * {@linkcode planBlocks} shrinks the block sizes until every window fits.
 *
 * @module
 */
import type { UniformValue } from "../../device/webgpu.ts";

/** How one bound window grows with the block sizes (see the module doc). */
export interface WindowSpec {
  /** The tensor, for error messages. */
  name: string;
  /** The dimension whose block counts rows of `stride` elements, if any. */
  outer: string | null;
  /** Elements between consecutive rows of the outer dimension. */
  stride: number;
  /** The dimension whose block counts contiguous units of `unit` elements. */
  inner: string;
  /** Elements per unit of the inner dimension. */
  unit: number;
}

/** Elements a window spans for block sizes `b`. */
export function span(win: WindowSpec, b: Record<string, number>): number {
  return (win.outer === null ? 0 : (b[win.outer] - 1) * win.stride) + b[win.inner] * win.unit;
}

/**
 * The largest block sizes (at most the full `sizes`, at least 1) such that every window spans
 * at most `maxElems` elements. Outer dimensions shrink first, as they multiply the larger
 * strides.
 *
 * @example
 * ```ts
 * import { planBlocks } from "./blocks.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * // A [6, 100] matrix bound in windows of at most 250 elements: two rows at a time.
 * const b = planBlocks({ m: 6, k: 100 }, [
 *   { name: "a", outer: "m", stride: 100, inner: "k", unit: 1 },
 * ], 250);
 * assertEquals(b, { m: 2, k: 100 });
 * ```
 */
export function planBlocks(
  sizes: Record<string, number>,
  windows: WindowSpec[],
  maxElems: number,
): Record<string, number> {
  const b: Record<string, number> = {};
  for (const [d, s] of Object.entries(sizes)) b[d] = Math.max(1, s);
  for (let changed = true; changed;) {
    changed = false;
    for (const win of windows) {
      if (span(win, b) <= maxElems) continue;
      changed = true;
      if (win.outer !== null && b[win.outer] > 1) {
        const fit = Math.floor((maxElems - b[win.inner] * win.unit) / win.stride) + 1;
        b[win.outer] = Math.max(1, Math.min(fit, b[win.outer] - 1));
      } else {
        const fit = Math.floor(maxElems / win.unit);
        if (fit < 1) {
          throw new RangeError(
            `${win.name}: one unit of ${win.unit} elements exceeds the binding limit of ` +
              `${maxElems} elements; expected a smaller tensor or a device with larger bindings`,
          );
        }
        b[win.inner] = Math.min(fit, b[win.inner] - 1);
      }
    }
  }
  return b;
}

/**
 * `[start, count]` pieces of `[0, size)` of at most `block` elements. An empty range gives one
 * empty piece, so that reductions over it still run once (and write their zeros or bias).
 */
export function ranges(size: number, block: number): [number, number][] {
  if (size === 0) return [[0, 0]];
  const out: [number, number][] = [];
  for (let s = 0; s < size; s += block) out.push([s, Math.min(block, size - s)]);
  return out;
}

/**
 * The uniform flags of chunk `i` of `count` along a split reduction: `first` (1: write the
 * result, 0: add to what earlier chunks wrote) and `last` (1: finish it: bias, ReLU).
 */
export function chunkFlags(i: number, count: number): { first: number; last: number } {
  return { first: i === 0 ? 1 : 0, last: i === count - 1 ? 1 : 0 };
}

/** Lines `f(0) ... f(n - 1)` joined by newlines (unrolled WGSL). */
export function each(n: number, f: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => f(i)).join("\n");
}

/** Lines `f(t, j)` for every `t < a`, `j < b` (unrolled WGSL over a register tile). */
export function grid(a: number, b: number, f: (t: number, j: number) => string): string {
  return each(a, (t) => each(b, (j) => f(t, j)));
}

/**
 * The uniform values of `fields` in their order (every field must be given), for a struct `U`
 * of u32 fields as `bindings()` (`../_wgsl.ts`) declares it from the same list.
 */
export function pack<F extends string>(
  fields: readonly F[],
  values: Record<F, number>,
): UniformValue[] {
  return fields.map((f) => {
    const v = values[f];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`uniform ${f}: expected a u32 but got ${v}`);
    }
    return v;
  });
}
