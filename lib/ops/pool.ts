/**
 * Max pooling with `torch.nn.functional.max_pool2d` semantics (including `ceilMode`).
 *
 * @module
 */
import type { PoolGeom } from "../device/backend.ts";
import { isGradEnabled, record } from "../autograd.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, expectRank, pair } from "./_util.ts";

/** Options of {@linkcode maxPool2d}. */
export interface MaxPool2dOptions {
  /** Window size. */
  kernelSize: number | [number, number];
  /** Step between windows (default: kernelSize). */
  stride?: number | [number, number];
  /** Implicit -infinity padding on each side (default 0, at most half the window). */
  padding?: number | [number, number];
  /** Round the output size up instead of down (default false). */
  ceilMode?: boolean;
}

/** Output length of a pooling window along one axis, as PyTorch computes it. */
export function poolOutSize(
  size: number,
  kernel: number,
  stride: number,
  pad: number,
  ceil: boolean,
): number {
  let out = Math.floor((size + 2 * pad - kernel + (ceil ? stride - 1 : 0)) / stride) + 1;
  if (ceil && (out - 1) * stride >= size + pad) out--;
  return out;
}

/**
 * 2-D max pooling: `[N, C, H, W]` -> `[N, C, OH, OW]`.
 *
 * @example
 * ```ts
 * import { maxPool2d, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], device);
 * const y = maxPool2d(x, { kernelSize: 2, stride: 2, ceilMode: true });
 * assertEquals(Array.from(await y.toArray()), [5, 6, 8, 9]);
 * ```
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor {
  const op = "maxPool2d";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  expectF32(op, "input", x);
  const [kh, kw] = pair(options.kernelSize, "kernelSize", op);
  const [strideH, strideW] = pair(options.stride ?? options.kernelSize, "stride", op);
  const [padH, padW] = pair(options.padding ?? 0, "padding", op);
  if (kh < 1 || kw < 1 || strideH < 1 || strideW < 1) {
    throw new RangeError(`${op}: kernelSize and stride must be at least 1`);
  }
  if (padH * 2 > kh || padW * 2 > kw) {
    throw new RangeError(`${op}: padding must be at most half the kernel size`);
  }
  const ceil = options.ceilMode ?? false;
  const [n, c, h, w] = x.shape;
  const oh = poolOutSize(h, kh, strideH, padH, ceil);
  const ow = poolOutSize(w, kw, strideW, padW, ceil);
  if (oh < 1 || ow < 1) throw new RangeError(`${op}: input ${h}x${w} is smaller than the window`);
  const g: PoolGeom = { n, c, h, w, kh, kw, oh, ow, strideH, strideW, padH, padW };
  const indices = isGradEnabled() && x.requiresGrad;
  const { y, idx } = x.device.backend.maxPool2d({ x: x.storage, geom: g, indices });
  const out = new Tensor(y, [n, c, oh, ow], x.device);
  return idx ? record(out, "maxPool2d", [x], { g, idx }, [idx]) : out;
}
