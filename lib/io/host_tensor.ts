/**
 * Host tensors: the plain form in which weights move between files and devices.
 *
 * @module
 */

/** A tensor in host memory, as read from a checkpoint (f32 or i32 after conversion). */
export interface HostTensor {
  /** Element type after conversion. */
  dtype: "f32" | "i32";
  /** Dimensions, outermost first. */
  shape: number[];
  /** Row-major values. */
  data: Float32Array | Int32Array;
}

/** A state dict: parameter and buffer names (PyTorch's keys) to host tensors. */
export type StateDict = Record<string, HostTensor>;
