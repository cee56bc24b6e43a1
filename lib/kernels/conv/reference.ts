/**
 * Reference conv kernels: plain loops over typed arrays, PyTorch's semantics (zero padding,
 * cross-correlation). They are the oracle every other backend is tested against.
 *
 * Output coordinate `(oh, ow)` reads input `(oh * strideH - padH + kh * dilH,
 * ow * strideW - padW + kw * dilW)`; taps falling outside the input read zero.
 *
 * @module
 */
import type { ConvGeom, Planes } from "../../device/backend.ts";
import { expectLength } from "../_check.ts";

/** A conv kernel's operands (arrays or storages, as given) and geometry. */
interface ConvOperands {
  dy?: { readonly length: number };
  x?: { readonly length: number };
  w?: { readonly length: number };
  b?: { readonly length: number } | null;
  geom: ConvGeom;
}

/**
 * Throws unless each operand given holds the elements its geometry says: dy
 * `[N, K, OH, OW]`, input x `[N, C, H, W]`, weight `[K, C, KH, KW]`, bias `[K]`, in that order.
 *
 * @example
 * ```ts
 * import { expectConvOperands } from "./reference.ts";
 * import { assertThrows } from "../../../tests/assert.ts";
 *
 * const geom = { n: 1, c: 1, h: 2, w: 2, k: 1, kh: 2, kw: 2, oh: 1, ow: 1,
 *   strideH: 1, strideW: 1, padH: 0, padW: 0, dilH: 1, dilW: 1 };
 * assertThrows(() => expectConvOperands("conv2d", { x: new Float32Array(3), geom }), "input of 4");
 * ```
 */
export function expectConvOperands(op: string, { dy, x, w, b, geom: g }: ConvOperands): void {
  if (dy) expectLength(op, "dy", dy, g.n * g.k * g.oh * g.ow, "[N, K, OH, OW]");
  if (x) expectLength(op, "input", x, g.n * g.c * g.h * g.w, "[N, C, H, W]");
  if (w) expectLength(op, "weight", w, g.k * g.c * g.kh * g.kw, "[K, C, KH, KW]");
  if (b) expectLength(op, "bias", b, g.k, "[K]");
}

/**
 * The input column read by output column `o` through tap `t`: `o * stride - pad + t * dil`,
 * or -1 when it falls in the padding.
 */
function inputIndex(o: number, t: number, size: number, stride: number, pad: number, dil: number) {
  const i = o * stride - pad + t * dil;
  return i >= 0 && i < size ? i : -1;
}

/**
 * 2-D convolution: x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`,
 * with the ReLU applied to the result when `relu` is set.
 *
 * @example
 * ```ts
 * import { conv2d } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * // A 1x1 input, a 3x3 kernel and padding 1: each output sees one weight.
 * const g = { n: 1, c: 1, h: 1, w: 1, k: 1, kh: 3, kw: 3, oh: 1, ow: 1,
 *   strideH: 1, strideW: 1, padH: 1, padW: 1, dilH: 1, dilW: 1 };
 * const w = Float32Array.from({ length: 9 }, (_, i) => i);
 * assertEquals(conv2d(new Float32Array([2]), w, new Float32Array([1]), g, false), new Float32Array([9]));
 * ```
 */
export function conv2d(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  relu: boolean,
): Float32Array {
  expectConvOperands("conv2d", { x, w, b, geom: g });
  const { n, c, h, k, kh, kw, oh, ow } = g;
  const y = new Float32Array(n * k * oh * ow); // [N, K, OH, OW]
  const acc = new Float64Array(oh * ow);
  for (let ni = 0; ni < n; ni++) {
    for (let ki = 0; ki < k; ki++) {
      acc.fill(b ? b[ki] : 0);
      for (let ci = 0; ci < c; ci++) {
        const xPlane = (ni * c + ci) * h * g.w;
        const wTaps = (ki * c + ci) * kh * kw;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wv = w[wTaps + i * kw + j];
            for (let y0 = 0; y0 < oh; y0++) {
              const ih = inputIndex(y0, i, h, g.strideH, g.padH, g.dilH);
              if (ih < 0) continue;
              const xRow = xPlane + ih * g.w;
              for (let x0 = 0; x0 < ow; x0++) {
                const iw = inputIndex(x0, j, g.w, g.strideW, g.padW, g.dilW);
                if (iw >= 0) acc[y0 * ow + x0] += wv * x[xRow + iw];
              }
            }
          }
        }
      }
      const out = (ni * k + ki) * oh * ow;
      for (let p = 0; p < oh * ow; p++) y[out + p] = relu ? Math.max(acc[p], 0) : acc[p];
    }
  }
  return y;
}

/**
 * Gradient of {@linkcode conv2d} with respect to its input: dy `[N, K, OH, OW]`,
 * w `[K, C, KH, KW]` -> dx `[N, C, H, W]` (every tap scatters `dy * w` back to the input
 * element it read; padding taps are dropped).
 *
 * @example
 * ```ts
 * import { conv2dGradInput } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * // A 2x2 input, a 2x2 kernel, one output: dx is dy times the kernel.
 * const g = { n: 1, c: 1, h: 2, w: 2, k: 1, kh: 2, kw: 2, oh: 1, ow: 1,
 *   strideH: 1, strideW: 1, padH: 0, padW: 0, dilH: 1, dilW: 1 };
 * const dx = conv2dGradInput(new Float32Array([2]), new Float32Array([1, 2, 3, 4]), g);
 * assertEquals(dx, new Float32Array([2, 4, 6, 8]));
 * ```
 */
export function conv2dGradInput(dy: Float32Array, w: Float32Array, g: ConvGeom): Float32Array {
  expectConvOperands("conv2dGradInput", { dy, w, geom: g });
  const { n, c, h, k, kh, kw, oh, ow } = g;
  const dx = new Float64Array(n * c * h * g.w); // [N, C, H, W]
  for (let ni = 0; ni < n; ni++) {
    for (let ki = 0; ki < k; ki++) {
      const dyPlane = (ni * k + ki) * oh * ow;
      for (let ci = 0; ci < c; ci++) {
        const dxPlane = (ni * c + ci) * h * g.w;
        const wTaps = (ki * c + ci) * kh * kw;
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const wv = w[wTaps + i * kw + j];
            for (let y0 = 0; y0 < oh; y0++) {
              const ih = inputIndex(y0, i, h, g.strideH, g.padH, g.dilH);
              if (ih < 0) continue;
              const dxRow = dxPlane + ih * g.w;
              for (let x0 = 0; x0 < ow; x0++) {
                const iw = inputIndex(x0, j, g.w, g.strideW, g.padW, g.dilW);
                if (iw >= 0) dx[dxRow + iw] += wv * dy[dyPlane + y0 * ow + x0];
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(dx);
}

/**
 * Gradient of {@linkcode conv2d} with respect to its weight: dy `[N, K, OH, OW]`,
 * x `[N, C, H, W]` -> dw `[K, C, KH, KW]`, each tap's sum over N, OH, OW of `dy * x`.
 *
 * @example
 * ```ts
 * import { conv2dGradWeight } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * // A 2x2 input, a 2x2 kernel, one output: dw is dy times the input.
 * const g = { n: 1, c: 1, h: 2, w: 2, k: 1, kh: 2, kw: 2, oh: 1, ow: 1,
 *   strideH: 1, strideW: 1, padH: 0, padW: 0, dilH: 1, dilW: 1 };
 * const dw = conv2dGradWeight(new Float32Array([3]), new Float32Array([1, 2, 3, 4]), g);
 * assertEquals(dw, new Float32Array([3, 6, 9, 12]));
 * ```
 */
export function conv2dGradWeight(dy: Float32Array, x: Float32Array, g: ConvGeom): Float32Array {
  expectConvOperands("conv2dGradWeight", { dy, x, geom: g });
  const { n, c, h, k, kh, kw, oh, ow } = g;
  const dw = new Float32Array(k * c * kh * kw); // [K, C, KH, KW]
  for (let ki = 0; ki < k; ki++) {
    for (let ci = 0; ci < c; ci++) {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          let acc = 0;
          for (let ni = 0; ni < n; ni++) {
            const dyPlane = (ni * k + ki) * oh * ow;
            const xPlane = (ni * c + ci) * h * g.w;
            for (let y0 = 0; y0 < oh; y0++) {
              const ih = inputIndex(y0, i, h, g.strideH, g.padH, g.dilH);
              if (ih < 0) continue;
              for (let x0 = 0; x0 < ow; x0++) {
                const iw = inputIndex(x0, j, g.w, g.strideW, g.padW, g.dilW);
                if (iw >= 0) acc += dy[dyPlane + y0 * ow + x0] * x[xPlane + ih * g.w + iw];
              }
            }
          }
          dw[((ki * c + ci) * kh + i) * kw + j] = acc;
        }
      }
    }
  }
  return dw;
}

/**
 * Per-channel sums over N, H and W: x `[N, C, H, W]` -> `[C]` (the bias gradient).
 *
 * @example
 * ```ts
 * import { channelSum } from "./reference.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 *
 * // [N=2, C=2, H=1, W=2]
 * const x = new Float32Array([1, 2, 10, 20, 3, 4, 30, 40]);
 * assertEquals(channelSum(x, { n: 2, c: 2, h: 1, w: 2 }), new Float32Array([10, 100]));
 * ```
 */
export function channelSum(x: Float32Array, p: Planes): Float32Array {
  const hw = p.h * p.w;
  expectLength("channelSum", "input", x, p.n * p.c * hw, "[N, C, H, W]");
  const y = new Float32Array(p.c); // [C]
  for (let ci = 0; ci < p.c; ci++) {
    let acc = 0;
    for (let ni = 0; ni < p.n; ni++) {
      const plane = (ni * p.c + ci) * hw;
      for (let i = 0; i < hw; i++) acc += x[plane + i];
    }
    y[ci] = acc;
  }
  return y;
}
