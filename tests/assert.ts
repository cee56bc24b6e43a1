/**
 * Small assertion helpers (JSR's @std/assert cannot be installed here).
 *
 * @module
 */

/** Error thrown by failed assertions. */
export class AssertionError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "AssertionError";
  }
}

/** Throws unless `cond` is truthy. */
export function assert(cond: unknown, msg = "Assertion failed"): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/** Deep equality by JSON-like structure (typed arrays compared element-wise). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  const a = stringify(actual), e = stringify(expected);
  if (a !== e) {
    let i = 0;
    while (i < a.length && a[i] === e[i]) i++;
    const at = (s: string) => (i > 40 ? "..." : "") + s.slice(Math.max(0, i - 40), i + 160);
    throw new AssertionError(
      `${msg ? msg + ": " : ""}values differ at character ${i}: expected ${at(e)} but got ${at(a)}`,
    );
  }
}

function stringify(v: unknown): string {
  return JSON.stringify(v, (_k, x) => {
    if (ArrayBuffer.isView(x) && !(x instanceof DataView)) {
      return Array.from(x as unknown as ArrayLike<number>);
    }
    if (typeof x === "number" && !Number.isFinite(x)) return String(x);
    return x;
  });
}

/** Equality bit for bit of two f32 arrays, so that NaNs and signed zeros compare exactly. */
export function assertBitsEqual(actual: Float32Array, expected: Float32Array, msg?: string): void {
  const bits = (a: Float32Array) => new Uint32Array(a.slice().buffer);
  assertEquals(bits(actual), bits(expected), msg);
}

/** `|actual - expected| <= tol`. */
export function assertAlmostEquals(
  actual: number,
  expected: number,
  tol = 1e-7,
  msg?: string,
): void {
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new AssertionError(
      `${msg ? msg + ": " : ""}expected ${expected} ± ${tol} but got ${actual}`,
    );
  }
}

/**
 * Element-wise `|a - r| <= atol + rtol * |r|`, reporting the first mismatches and their indices.
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4, name = "values" }: { atol?: number; rtol?: number; name?: string } =
    {},
): void {
  if (actual.length !== expected.length) {
    throw new AssertionError(
      `${name}: expected ${expected.length} values but got ${actual.length}`,
    );
  }
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], r = expected[i];
    const ok = a === r || Math.abs(a - r) <= atol + rtol * Math.abs(r) ||
      (Number.isNaN(a) && Number.isNaN(r));
    if (!ok) {
      count++;
      if (bad.length < 5) bad.push(`[${i}] got ${a}, want ${r}`);
    }
  }
  if (count > 0) {
    throw new AssertionError(
      `${name}: ${count} of ${actual.length} mismatches (atol ${atol}, rtol ${rtol}): ${
        bad.join("; ")
      }`,
    );
  }
}

/** Expects `fn` to throw (or reject) an error whose message includes `includes`. */
export async function assertRejects(
  fn: () => unknown,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    return expectedError(e, includes);
  }
  throw new AssertionError("expected an error but none was thrown");
}

/** Synchronous form of {@linkcode assertRejects}. */
export function assertThrows(fn: () => unknown, includes?: string): Error {
  try {
    fn();
  } catch (e) {
    return expectedError(e, includes);
  }
  throw new AssertionError("expected an error but none was thrown");
}

/** The error `e`, unless its message lacks `includes`. */
function expectedError(e: unknown, includes?: string): Error {
  const err = e as Error;
  if (includes && !String(err?.message).includes(includes)) {
    throw new AssertionError(`expected an error including "${includes}" but got "${err?.message}"`);
  }
  return err;
}
