/**
 * Bilinear resize of a stream of rows: `[K, w]` rows of an `h`-row image in, `[K, width]` rows
 * of a `height`-row image out, as `F.interpolate(x, size, mode="bilinear", align_corners=False)`
 * computes them (the reference kernel's taps and arithmetic), holding only the two source rows
 * the current output row reads.
 *
 * @module
 */
import { axisTaps } from "./source.ts";

/** Sizes of {@linkcode resizeRows}: `[rows, columns]` in and out. */
export interface RowResize {
  /** Source `[h, w]`. */
  from: [number, number];
  /** Output `[height, width]`. */
  to: [number, number];
}

/** Resizes the rows of `rows` (each `[K, w]`) to `[K, width]` rows, `height` of them. */
export async function* resizeRows(
  rows: AsyncIterable<Float32Array>,
  sizes: RowResize,
): AsyncGenerator<Float32Array> {
  const [h, w] = sizes.from, [height, width] = sizes.to;
  if (h === height && w === width) {
    yield* rows;
    return;
  }
  const ty = axisTaps(h, height), tx = axisTaps(w, width);
  const source = rows[Symbol.asyncIterator]();
  const held = new Map<number, Float32Array>();
  let read = 0;
  for (let y = 0; y < height; y++) {
    for (; read <= ty.i1[y]; read++) {
      const r = await source.next();
      if (r.done) throw new RangeError(`resizeRows: expected ${h} rows but got ${read}`);
      held.set(read, r.value);
    }
    for (const i of held.keys()) if (i < ty.i0[y]) held.delete(i);
    const r0 = held.get(ty.i0[y])!, r1 = held.get(ty.i1[y])!, l0 = ty.l0[y], l1 = ty.l1[y];
    const k = r0.length / w, out = new Float32Array(k * width); // [K, width]
    for (let c = 0; c < k; c++) {
      const s = c * w, d = c * width;
      for (let x = 0; x < width; x++) {
        const a = s + tx.i0[x], b = s + tx.i1[x], m0 = tx.l0[x], m1 = tx.l1[x];
        out[d + x] = l0 * (m0 * r0[a] + m1 * r0[b]) + l1 * (m0 * r1[a] + m1 * r1[b]);
      }
    }
    yield out;
  }
  await source.return?.(); // rows past the last one read: no output row needs them
}
