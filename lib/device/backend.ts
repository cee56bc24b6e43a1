/**
 * The contract every backend (WebGPU, BLAS, plain TypeScript reference) fulfils.
 *
 * A backend is only a runtime: it owns memory and runs kernels on opaque {@link Storage}
 * handles. It knows nothing of tensors, shapes beyond what a kernel needs, or gradients; the
 * autograd layer (`lib/autograd.ts`) composes these kernels into forward and backward passes.
 *
 * Dimension letters are fixed across the code: N batch, C input channels, K output channels
 * (or classes), H/W input height/width, OH/OW output height/width.
 *
 * @module
 */

/** Element types a tensor can hold. */
export type DType = "f32" | "i32";

/** Names of the three backends. */
export type BackendKind = "webgpu" | "blas" | "cpu";

/** An opaque flat buffer of `length` elements owned by one backend. */
export interface Storage {
  /** Number of elements. */
  readonly length: number;
  /** Element type. */
  readonly dtype: DType;
}

/** Host-side typed array for a dtype. */
export type HostArray = Float32Array | Int32Array;

/**
 * Geometry of a 2-D convolution, shared by forward, backward-data and backward-weight.
 * input `[N, C, H, W]`, weight `[K, C, KH, KW]`, output `[N, K, OH, OW]`.
 */
export interface ConvGeom {
  /** Batch size N. */
  n: number;
  /** Input channels C (planes per image). */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Output channels K. */
  k: number;
  /** Window height. */
  kh: number;
  /** Window width. */
  kw: number;
  /** Output height. */
  oh: number;
  /** Output width. */
  ow: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Padding at top and bottom. */
  padH: number;
  /** Padding at left and right. */
  padW: number;
  /** Vertical dilation. */
  dilH: number;
  /** Horizontal dilation. */
  dilW: number;
}

/** Geometry of a 2-D max pool: input `[N, C, H, W]` -> output `[N, C, OH, OW]`. */
export interface PoolGeom {
  /** Batch size N. */
  n: number;
  /** Input channels C (planes per image). */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
  /** Window height. */
  kh: number;
  /** Window width. */
  kw: number;
  /** Output height. */
  oh: number;
  /** Output width. */
  ow: number;
  /** Vertical stride. */
  strideH: number;
  /** Horizontal stride. */
  strideW: number;
  /** Padding at top and bottom. */
  padH: number;
  /** Padding at left and right. */
  padW: number;
}

/** Planes of an NCHW tensor: `[N, C, H, W]` seen as N*C planes of H*W. */
export interface Planes {
  /** Batch size N. */
  n: number;
  /** Input channels C (planes per image). */
  c: number;
  /** Input height. */
  h: number;
  /** Input width. */
  w: number;
}

/** Options of one SGD update, PyTorch's `torch.optim.SGD` rule. */
export interface SgdUpdate {
  /** Learning rate of this step. */
  lr: number;
  /** Momentum factor (0: none). */
  momentum: number;
  /** Dampening of the momentum. */
  dampening: number;
  /** L2 penalty added to the gradient. */
  weightDecay: number;
  /** Nesterov momentum. */
  nesterov: boolean;
  /** True on the first step of this parameter: the momentum buffer is set to the gradient. */
  first: boolean;
}

/** Element-wise binary operations; `b` is either as long as `a` or a single element. */
export type BinaryOp = "add" | "sub" | "mul" | "div";

/**
 * Kernels every backend runs. Every kernel returns new storage (callers free inputs they no
 * longer need) except {@linkcode Kernels.sgd}, which updates in place.
 */
export interface Kernels {
  /** A new storage of `length` elements, all `value`. */
  fill(length: number, dtype: DType, value: number): Storage;
  /** `y = a (op) b`, `b` of `a.length` or 1 elements. f32 only. */
  binary(op: BinaryOp, a: Storage, b: Storage): Storage;
  /** `y = alpha * a + beta * b` (same lengths). */
  axpby(a: Storage, b: Storage, alpha: number, beta: number): Storage;
  /** `y = alpha * x + beta`. */
  affine(x: Storage, alpha: number, beta: number): Storage;
  /** `y = max(x, 0)`. */
  relu(x: Storage): Storage;
  /** `dx = y > 0 ? dy : 0`, given the ReLU's output `y`. */
  reluGrad(dy: Storage, y: Storage): Storage;

  /** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
  conv2d(x: Storage, w: Storage, b: Storage | null, g: ConvGeom, relu: boolean): Storage;
  /** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
  conv2dGradInput(dy: Storage, w: Storage, g: ConvGeom): Storage;
  /** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
  conv2dGradWeight(dy: Storage, x: Storage, g: ConvGeom): Storage;
  /** x `[N, C, H, W]` -> `[C]`, the sum over N, H, W of each channel (bias gradient). */
  channelSum(x: Storage, p: Planes): Storage;

  /** x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * w + x` index (i32) of each max. */
  maxPool2d(x: Storage, g: PoolGeom): { y: Storage; idx: Storage };
  /** dy `[N, C, OH, OW]`, idx from {@linkcode Kernels.maxPool2d} -> dx `[N, C, H, W]`. */
  maxPool2dGrad(dy: Storage, idx: Storage, g: PoolGeom): Storage;

  /**
   * Inverted dropout: `y = keep ? x / (1 - p) : 0`, where keep is drawn by the counter hash
   * {@linkcode dropoutKeep} from `seed` and `floor(i / group)` (group 1: element-wise;
   * H*W: whole channels, `dropout2d`). The same call on `dy` is the backward pass.
   */
  dropout(x: Storage, p: number, seed: number, group: number): Storage;
  /**
   * `x` rounded to the nearest f16 value, kept in f32 (mixed precision's casts): values past
   * f16's range become ±infinity. Only where {@linkcode Backend.supportsF16}.
   */
  roundF16(x: Storage): Storage;

  /** x `[N, C, H, W]` -> per-channel mean and biased variance, both `[C]`. */
  batchNormStats(x: Storage, p: Planes): { mean: Storage; var: Storage };
  /** `y = (x - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c]`. */
  batchNorm(
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    beta: Storage,
    p: Planes,
    eps: number,
  ): Storage;
  /**
   * Backward of {@linkcode Kernels.batchNorm}. With `training`, mean/var are the batch
   * statistics and dx includes their gradient; otherwise they are constants.
   */
  batchNormGrad(
    dy: Storage,
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    p: Planes,
    eps: number,
    training: boolean,
  ): { dx: Storage; dgamma: Storage; dbeta: Storage };

  /** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` with PyTorch's coordinate rules. */
  interpolate(x: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage;
  /** Backward of {@linkcode Kernels.interpolate}: dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
  interpolateGrad(dy: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage;

  /** `x[:, :, top:top+oh, left:left+ow]` of x `[N, C, H, W]`. */
  crop(x: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage;
  /** Backward of crop: dy `[N, C, oh, ow]` placed into zeros `[N, C, H, W]`. */
  cropGrad(dy: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage;

  /**
   * Per-pixel cross entropy of logits `[N, K, HW]` against target `[N, HW]` (i32):
   * `loss = -w[t] * log_softmax(x)[t]` and the weight `w[t]` (1 without `weight`),
   * both 0 where `t == ignoreIndex`. Returns `[N, HW]` each.
   */
  crossEntropy(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    /** Batch size N. */
    n: number,
    /** Output channels K. */
    k: number,
    hw: number,
    ignoreIndex: number,
  ): { loss: Storage; weight: Storage };
  /**
   * Gradient of `sum(g * loss)` w.r.t. the logits, `g` being `[N, HW]` or a single element:
   * `dx = g * w[t] * (softmax(x) - onehot(t))`, 0 on ignored pixels.
   */
  crossEntropyGrad(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    g: Storage,
    /** Batch size N. */
    n: number,
    /** Output channels K. */
    k: number,
    hw: number,
    ignoreIndex: number,
  ): Storage;

  /** x seen as `[outer, len, inner]` -> `[outer, inner]` (i32) index of the max along len. */
  argmax(x: Storage, outer: number, len: number, inner: number): Storage;
  /** x seen as `[outer, len, inner]` -> `[outer, inner]`, the sum along len. */
  sum(x: Storage, outer: number, len: number, inner: number): Storage;
  /** x `[outer, inner]` -> `[outer, len, inner]`, repeated along len. */
  broadcast(x: Storage, outer: number, len: number, inner: number): Storage;

  /** `a [M, K] @ b [K, N] -> [M, N]`, with a stored `[K, M]` if transA, b `[N, K]` if transB. */
  matmul(
    a: Storage,
    b: Storage,
    m: number,
    /** Output channels K. */
    k: number,
    /** Batch size N. */
    n: number,
    transA: boolean,
    transB: boolean,
  ): Storage;

  /** One in-place SGD update of `param` (and its momentum buffer `buf`) by `grad`. */
  sgd(param: Storage, grad: Storage, buf: Storage | null, o: SgdUpdate): void;
}

/** A backend: memory, transfers and the kernels. */
export interface Backend extends Kernels {
  /** Which backend this is. */
  readonly kind: BackendKind;
  /** What it runs on, for people: the adapter or library. */
  readonly description: string;
  /** Whether {@linkcode Kernels.roundF16} (mixed precision) is available. */
  readonly supportsF16: boolean;
  /** Upload host data into a new storage. */
  upload(data: HostArray): Storage;
  /**
   * Take `data` itself as a new storage, without a copy, where the backend keeps storages in
   * host memory (the caller must not touch `data` afterwards); absent elsewhere: use upload.
   */
  adopt?(data: HostArray): Storage;
  /** Copy a storage back to the host (waits for pending work). */
  read(s: Storage): Promise<HostArray>;
  /** Return a storage to the backend's pool. */
  free(s: Storage): void;
  /** Submit recorded work and wait for it to finish. */
  flush(): Promise<void>;
  /** Bytes held by storages not yet freed. */
  liveBytes(): number;
  /** Release every resource; the backend is unusable afterwards. */
  destroy(): void;
}

/**
 * Counter-based hash deciding whether dropout keeps element group `i` under `seed`.
 * Shared, bit for bit, by every backend's dropout kernel so that all backends draw the same mask.
 */
export function dropoutKeep(seed: number, i: number, p: number): boolean {
  return hash32(seed, i) / 4294967296 >= p;
}

/** A 32-bit integer hash of (seed, i), PCG-style; the WGSL kernels mirror it exactly. */
export function hash32(seed: number, i: number): number {
  let v = (Math.imul(i >>> 0, 747796405) + (seed >>> 0) + 2891336453) >>> 0;
  v = (v ^ Math.imul(seed >>> 0, 277803737)) >>> 0;
  const word = Math.imul(((v >>> ((v >>> 28) + 4)) ^ v) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}
