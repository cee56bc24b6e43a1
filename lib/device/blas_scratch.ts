/**
 * The BLAS runtime's scratch buffer: column matrices and wide outputs of the GEMM
 * convolutions, reused from call to call.
 *
 * @module
 */

/** Default scratch budget: 16M floats (64 MB) of column matrix. */
export const SCRATCH_ELEMS = 16 * 1024 * 1024;

/** One reusable scratch buffer, grown on demand up to what a call needs. */
export class Scratch {
  #buf = new Float32Array(0);
  /** Largest band the conv kernels plan for, in elements. */
  readonly budget: number;

  /** A scratch planning bands of at most `budget` elements (one output row at least). */
  constructor(budget: number = SCRATCH_ELEMS) {
    if (!(budget >= 1)) throw new RangeError(`Expected budget >= 1 but found ${budget}`);
    this.budget = budget;
  }

  /** A view of `n` elements (contents undefined). */
  get(n: number): Float32Array {
    if (this.#buf.length < n) this.#buf = new Float32Array(n);
    return this.#buf.subarray(0, n);
  }

  /** Views of consecutive regions of `sizes` elements each (contents undefined). */
  regions(...sizes: number[]): Float32Array[] {
    const buf = this.get(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    return sizes.map((n) => buf.subarray(off, off += n));
  }

  /** Elements held. */
  get size(): number {
    return this.#buf.length;
  }

  /** Drops the buffer. */
  release(): void {
    this.#buf = new Float32Array(0);
  }
}
