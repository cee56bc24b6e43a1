/**
 * Convolutions: `conv2d` and `convTranspose2d` with `torch.nn.functional` semantics.
 *
 * @module
 */
import type { ConvGeom } from "../device/backend.ts";
import { type F16Inputs, isAutocast, record, round16 } from "../autograd.ts";
import type { Backend } from "../device/backend.ts";
import { Tensor } from "../tensor.ts";
import { expectF32, expectRank, pair, sameDevice } from "./_util.ts";

/** Options of {@linkcode conv2d}. */
export interface Conv2dOptions {
  /** Step between windows (default 1). */
  stride?: number | [number, number];
  /** Zero padding on each side (default 0). */
  padding?: number | [number, number];
  /** Spacing between kernel taps (default 1). */
  dilation?: number | [number, number];
  /** Apply ReLU to the output in the same kernel (default false). */
  relu?: boolean;
}

/**
 * 2-D convolution: x `[N, C, H, W]`, weight `[K, C, KH, KW]`, bias `[K]` -> `[N, K, OH, OW]`
 * with `OH = floor((H + 2 * padding - dilation * (KH - 1) - 1) / stride) + 1`.
 *
 * @example
 * ```ts
 * import { conv2d, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor(new Float32Array(2 * 3 * 8 * 8).fill(1), [2, 3, 8, 8], device);
 * const w = tensor(new Float32Array(4 * 3 * 3 * 3).fill(1), [4, 3, 3, 3], device);
 * const y = conv2d(x, w, null, { stride: 2, padding: 1 });
 * assertEquals(y.shape, [2, 4, 4, 4]);
 * assertEquals((await y.toArray())[5], 27); // an interior window sums 3 * 3 * 3 ones
 * ```
 */
export function conv2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: Conv2dOptions = {},
): Tensor {
  const op = "conv2d";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  expectRank(op, "weight", weight, 4, "[K, C, KH, KW]");
  expectF32(op, "input", x);
  sameDevice(op, x, weight, bias);
  const [n, c, h, w] = x.shape;
  const [k, cw, kh, kw] = weight.shape;
  if (cw !== c) {
    throw new RangeError(
      `${op}: input has ${c} channels but weight [${weight.shape}] expects ${cw}`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== k)) {
    throw new RangeError(`${op}: expected bias of shape [${k}] but got [${bias.shape}]`);
  }
  const [strideH, strideW] = pair(options.stride ?? 1, "stride", op);
  const [padH, padW] = pair(options.padding ?? 0, "padding", op);
  const [dilH, dilW] = pair(options.dilation ?? 1, "dilation", op);
  if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1) {
    throw new RangeError(`${op}: stride and dilation must be at least 1`);
  }
  const oh = Math.floor((h + 2 * padH - dilH * (kh - 1) - 1) / strideH) + 1;
  const ow = Math.floor((w + 2 * padW - dilW * (kw - 1) - 1) / strideW) + 1;
  if (oh < 1 || ow < 1) {
    throw new RangeError(
      `${op}: input ${h}x${w} is too small for a ${kh}x${kw} kernel (dilation ${dilH}, padding ${padH})`,
    );
  }
  const g: ConvGeom = { n, c, h, w, k, kh, kw, oh, ow, strideH, strideW, padH, padW, dilH, dilW };
  const relu = options.relu ?? false;
  const b = x.device.backend;
  const f16 = castInputs(b, x, weight);
  const s = b.conv2d({
    x: f16?.x ?? x.storage,
    w: f16?.w ?? weight.storage,
    b: bias?.storage ?? null,
    geom: g,
    relu,
  });
  const y = new Tensor(round16(b, s, f16 !== null), [n, k, oh, ow], x.device);
  return record(y, "conv2d", bias ? [x, weight, bias] : [x, weight], {
    g,
    bias: !!bias,
    relu,
    f16,
  }, f16 ? [f16.x, f16.w] : []);
}

/** Under autocast (and f16 support): f16-rounded copies of the two inputs, else null. */
export function castInputs(b: Backend, x: Tensor, w: Tensor): F16Inputs | null {
  if (!isAutocast() || !b.supportsF16) return null;
  return { x: b.roundF16({ x: x.storage }), w: b.roundF16({ x: w.storage }) };
}

/** Options of {@linkcode convTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Step of the scattered windows (default 1). */
  stride?: number | [number, number];
  /** Rows/columns removed from each side of the full output (default 0). */
  padding?: number | [number, number];
  /** Extra rows/columns added to one side of the output (default 0). */
  outputPadding?: number | [number, number];
  /** Spacing between kernel taps (default 1). */
  dilation?: number | [number, number];
}

/**
 * Transposed 2-D convolution: x `[N, C, H, W]`, weight `[C, K, KH, KW]` (PyTorch's layout),
 * bias `[K]` -> `[N, K, OH, OW]` with
 * `OH = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + outputPadding + 1`.
 *
 * @example
 * ```ts
 * import { convTranspose2d, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor(new Float32Array(1 * 2 * 5 * 5), [1, 2, 5, 5], device);
 * const w = tensor(new Float32Array(2 * 2 * 4 * 4), [2, 2, 4, 4], device);
 * assertEquals(convTranspose2d(x, w, null, { stride: 2, padding: 1 }).shape, [1, 2, 10, 10]);
 * ```
 */
export function convTranspose2d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: ConvTranspose2dOptions = {},
): Tensor {
  const op = "convTranspose2d";
  expectRank(op, "input", x, 4, "[N, C, H, W]");
  expectRank(op, "weight", weight, 4, "[C, K, KH, KW]");
  expectF32(op, "input", x);
  sameDevice(op, x, weight, bias);
  const [n, cin, h, w] = x.shape;
  const [cw, k, kh, kw] = weight.shape;
  if (cw !== cin) {
    throw new RangeError(
      `${op}: input has ${cin} channels but weight [${weight.shape}] expects ${cw}`,
    );
  }
  if (bias && (bias.shape.length !== 1 || bias.shape[0] !== k)) {
    throw new RangeError(`${op}: expected bias of shape [${k}] but got [${bias.shape}]`);
  }
  const [strideH, strideW] = pair(options.stride ?? 1, "stride", op);
  const [padH, padW] = pair(options.padding ?? 0, "padding", op);
  const [opH, opW] = pair(options.outputPadding ?? 0, "outputPadding", op);
  const [dilH, dilW] = pair(options.dilation ?? 1, "dilation", op);
  if (opH >= Math.max(strideH, dilH) || opW >= Math.max(strideW, dilW)) {
    throw new RangeError(`${op}: outputPadding must be smaller than stride or dilation`);
  }
  const oh = (h - 1) * strideH - 2 * padH + dilH * (kh - 1) + opH + 1;
  const ow = (w - 1) * strideW - 2 * padW + dilW * (kw - 1) + opW + 1;
  if (oh < 1 || ow < 1) throw new RangeError(`${op}: output size ${oh}x${ow} is empty`);
  // The conv that maps the output [N, K, OH, OW] back to the input [N, C, H, W].
  const g: ConvGeom = {
    n,
    c: k,
    h: oh,
    w: ow,
    k: cin,
    kh,
    kw,
    oh: h,
    ow: w,
    strideH,
    strideW,
    padH,
    padW,
    dilH,
    dilW,
  };
  const b = x.device.backend;
  const f16 = castInputs(b, x, weight);
  let s = b.conv2dGradInput({ dy: f16?.x ?? x.storage, w: f16?.w ?? weight.storage, geom: g });
  if (bias) {
    // Add the bias per output channel: reuse batchNorm's affine form y = x * 1 + bias.
    const ones = b.fill({ length: k, dtype: "f32", value: 1 });
    const zeros = b.fill({ length: k, dtype: "f32", value: 0 });
    const biased = b.batchNorm({
      x: s,
      mean: zeros,
      variance: ones,
      gamma: ones,
      beta: bias.storage,
      planes: { n, c: k, h: oh, w: ow },
      eps: 0,
    });
    for (const t of [s, ones, zeros]) b.free(t);
    s = biased;
  }
  const y = new Tensor(round16(b, s, f16 !== null), [n, k, oh, ow], x.device);
  return record(y, "convTranspose2d", bias ? [x, weight, bias] : [x, weight], {
    g,
    bias: !!bias,
    f16,
  }, f16 ? [f16.x, f16.w] : []);
}
