/**
 * The ONNX counterparts of the ops a model's `forward` calls between layers: `add`, `relu`,
 * padding to a multiple, `crop` and bilinear `interpolate`. Sizes that follow the input are
 * computed in the graph (Shape, Add, Div, Mul, Sub, Concat), so height and width stay dynamic.
 *
 * @module
 */
import type { OnnxGraph } from "./graph.ts";

/** `[H, W]` of a `[N, C, H, W]` value, as an int64 `[2]` value (Shape with start 2, end 4). */
export function spatialSize(g: OnnxGraph, x: string): string {
  return g.op("Shape", [x], { start: 2, end: 4 });
}

/** `a + b` (same shapes). */
export function add(g: OnnxGraph, a: string, b: string): string {
  return g.op("Add", [a, b]);
}

/** `max(x, 0)`. */
export function relu(g: OnnxGraph, x: string): string {
  return g.op("Relu", [x]);
}

/**
 * Zero-pads `[N, C, H, W]` at the bottom/right to `[N, C, ceil(H/m)*m, ceil(W/m)*m]`, as the
 * VGG FCNs' `pad(x, ph, pw)` (a Pad of zero rows when the sides are already multiples).
 */
export function padToMultiple(g: OnnxGraph, x: string, m: number): string {
  const hw = spatialSize(g, x); // [H, W]
  const up = g.op("Mul", [
    g.op("Div", [g.op("Add", [hw, g.ints([m - 1])]), g.ints([m])]),
    g.ints([m]),
  ]);
  const extra = g.op("Sub", [up, hw]); // [ph - H, pw - W]
  // Pad's pads: begins of N, C, H, W then ends of N, C, H, W.
  const pads = g.op("Concat", [g.ints([0, 0, 0, 0, 0, 0]), extra], { axis: 0 });
  return g.op("Pad", [x, pads], { mode: "constant" });
}

/** `crop(x, H', W')` with `[H', W']` those of `like`: `x[:, :, :H', :W']` (a Slice). */
export function cropTo(g: OnnxGraph, x: string, like: string): string {
  return g.op("Slice", [x, g.ints([0, 0]), spatialSize(g, like), g.ints([2, 3])]);
}

/**
 * `interpolate(x, { size: [H', W'], alignCorners })` with `[H', W']` those of `like`: a linear
 * Resize to `sizes`, "half_pixel" (PyTorch's `align_corners=False`: `src = (dst + 0.5) * in /
 * out - 0.5`, clamped at the borders as our kernel does) or "align_corners".
 */
export function interpolateTo(
  g: OnnxGraph,
  x: string,
  like: string,
  alignCorners: boolean,
): string {
  const nc = g.op("Shape", [x], { start: 0, end: 2 });
  const sizes = g.op("Concat", [nc, spatialSize(g, like)], { axis: 0 });
  return g.op("Resize", [x, "", "", sizes], {
    mode: "linear",
    coordinate_transformation_mode: alignCorners ? "align_corners" : "half_pixel",
  });
}
