/**
 * The one length check of the kernels: a buffer whose element count does not match the
 * geometry is refused before any kernel reads it.
 *
 * @module
 */

/**
 * Throws a RangeError unless `a` holds `want` elements: `${op}: expected ${name} of ${want}
 * elements ${shape} but got ${a.length}`, `shape` (e.g. `[N, C, H, W] = [1, 3, 8, 8]`) optional.
 *
 * @example A wrong size is refused
 * ```ts
 * import { expectLength } from "./_check.ts";
 * import { assertThrows } from "../../tests/assert.ts";
 *
 * expectLength("relu", "x", new Float32Array(4), 4);
 * assertThrows(() => expectLength("relu", "x", new Float32Array(3), 4), "expected x of 4");
 * ```
 */
export function expectLength(
  op: string,
  name: string,
  a: { readonly length: number },
  want: number,
  shape = "",
): void {
  if (a.length !== want) {
    const at = shape ? ` ${shape}` : "";
    throw new RangeError(`${op}: expected ${name} of ${want} elements${at} but got ${a.length}`);
  }
}
