/**
 * Sliding-window geometry along one axis, as mmsegmentation's "slide" inference lays it out:
 * windows of `min(tile, size)` every `stride` pixels, the last one flush with the border.
 *
 * @module
 */

/**
 * The stride of windows of `tile` pixels overlapping by the fraction `overlap`:
 * `floor(tile * (1 - overlap))`, at least 1 (a tiny epsilon absorbs `1 - 0.9 = 0.0999…`).
 */
export function strideOf(tile: number, overlap: number): number {
  return Math.max(1, Math.floor(tile * (1 - overlap) + 1e-9));
}

/**
 * Start of each window along an axis of `size` pixels: windows of `window = min(tile, size)`
 * pixels at `i * stride`, the last moved back to end at `size`; mmsegmentation's
 * `max(size - window + stride - 1, 0) // stride + 1` windows.
 */
export function windowStarts(size: number, window: number, stride: number): number[] {
  const count = Math.floor(Math.max(size - window + stride - 1, 0) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.min(i * stride, size - window));
}

/** How many windows of `window` pixels starting at `starts` cover each of `size` pixels. */
export function coverage(starts: readonly number[], window: number, size: number): Int32Array {
  const count = new Int32Array(size);
  for (const s of starts) for (let i = s; i < s + window; i++) count[i]++;
  return count;
}
