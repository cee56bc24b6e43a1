/**
 * Resizing: bilinear `interpolate` and `crop`.
 *
 * @module
 */
import { record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, expectRank } from "./_util.ts";

/** Options of {@linkcode interpolate}. */
export interface InterpolateOptions {
  /** Output `[height, width]`. */
  size: [number, number];
  /** Only "bilinear" is supported. */
  mode?: "bilinear";
  /** Align the corner pixels' centres (default false, as torchvision's FCN). */
  alignCorners?: boolean;
}

/**
 * Bilinear resize of `[N, C, H, W]` to `[N, C, size[0], size[1]]`, as
 * `F.interpolate(x, size, mode="bilinear", align_corners=...)`.
 *
 * @example
 * ```ts
 * import { interpolate, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([0, 1], [1, 1, 1, 2], device);
 * const y = interpolate(x, { size: [1, 4] });
 * assertEquals(Array.from(await y.toArray()), [0, 0.25, 0.75, 1]);
 * ```
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  const op = "interpolate";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  expectF32(op, "input", x);
  if ((options.mode ?? "bilinear") !== "bilinear") {
    throw new RangeError(`${op}: only mode "bilinear" is supported, got "${options.mode}"`);
  }
  const [oh, ow] = options.size;
  if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh > 0 && ow > 0)) {
    throw new RangeError(`${op}: expected a positive integer size but got [${options.size}]`);
  }
  const [n, c, h, w] = x.shape;
  const p = { n, c, h, w };
  const alignCorners = options.alignCorners ?? false;
  const s = x.device.backend.interpolate({ x: x.storage, planes: p, oh, ow, alignCorners });
  return record(new Tensor(s, [n, c, oh, ow], x.device), op, [x], { p, oh, ow, alignCorners });
}

/**
 * `x[:, :, top:top+height, left:left+width]` of `[N, C, H, W]` (FCN crops skip scores and the
 * output with `top = left = 0`).
 *
 * @example
 * ```ts
 * import { crop, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3], device);
 * assertEquals(Array.from(await crop(x, 1, 2).toArray()), [1, 2]);
 * ```
 */
export function crop(x: Tensor, height: number, width: number, top = 0, left = 0): Tensor {
  const op = "crop";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  const [n, c, h, w] = x.shape;
  if (top < 0 || left < 0 || top + height > h || left + width > w || height < 1 || width < 1) {
    throw new RangeError(
      `${op}: window ${height}x${width} at (${top}, ${left}) does not fit in ${h}x${w}`,
    );
  }
  const p = { n, c, h, w };
  const s = x.device.backend.crop({ x: x.storage, planes: p, oh: height, ow: width, top, left });
  return record(new Tensor(s, [n, c, height, width], x.device), op, [x], {
    p,
    oh: height,
    ow: width,
    top,
    left,
  });
}

/**
 * Zero-pads `[N, C, H, W]` to `[N, C, height, width]`, placing x at (top, left): the adjoint of
 * {@linkcode crop}.
 *
 * @example
 * ```ts
 * import { pad, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const y = pad(tensor([1, 2], [1, 1, 1, 2], device), 2, 2);
 * assertEquals(Array.from(await y.toArray()), [1, 2, 0, 0]);
 * ```
 */
export function pad(x: Tensor, height: number, width: number, top = 0, left = 0): Tensor {
  const op = "pad";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  const [n, c, h, w] = x.shape;
  if (top < 0 || left < 0 || top + h > height || left + w > width) {
    throw new RangeError(
      `${op}: ${h}x${w} at (${top}, ${left}) does not fit in ${height}x${width}`,
    );
  }
  const p = { n, c, h: height, w: width };
  const s = x.device.backend.cropGrad({ dy: x.storage, planes: p, oh: h, ow: w, top, left });
  return record(new Tensor(s, [n, c, height, width], x.device), "pad", [x], {
    p,
    oh: h,
    ow: w,
    top,
    left,
  });
}
