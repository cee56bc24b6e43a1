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

/** Geometry of a 2-D max pool: input `[N, C, H, W]` -> output `[N, C, OH, OW]`. */
export interface PoolGeom extends Planes {
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

/**
 * Geometry of a 2-D convolution, shared by forward, backward-data and backward-weight: a pool's
 * window geometry plus K output channels and the dilations. Input `[N, C, H, W]`, weight
 * `[K, C, KH, KW]`, output `[N, K, OH, OW]`.
 */
export interface ConvGeom extends PoolGeom {
  /** Output channels K. */
  k: number;
  /** Vertical dilation. */
  dilH: number;
  /** Horizontal dilation. */
  dilW: number;
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

/** Arguments of the kernels that read an NCHW tensor as planes. */
export interface PlanesArgs {
  /** x `[N, C, H, W]` seen as N*C planes of H*W. */
  planes: Planes;
}

/** Arguments of the kernels that see a tensor as `[outer, len, inner]`. */
export interface AxisArgs {
  /** Input. */
  x: Storage;
  /** Product of the dimensions before the axis. */
  outer: number;
  /** Length of the axis. */
  len: number;
  /** Product of the dimensions after the axis. */
  inner: number;
}

/** Arguments of the kernels of a per-pixel class target `[N, HW]` (i32) over K classes. */
export interface ClassTargetArgs {
  /** `[N, HW]` (i32) class of each pixel. */
  target: Storage;
  /** `[K]` class weights, or null for 1. */
  weight: Storage | null;
  /** Batch size N. */
  n: number;
  /** Classes K. */
  k: number;
  /** Pixels per image. */
  hw: number;
  /** Target value whose pixels count for nothing. */
  ignoreIndex: number;
}

/** Arguments of the cross entropy kernels: logits `[N, K, HW]`, target `[N, HW]` (i32). */
export interface CrossEntropyArgs extends ClassTargetArgs {
  /** `[N, K, HW]`. */
  logits: Storage;
}

/** Arguments of the softmax kernels: x seen as `[outer, len, inner]`, softmax along len. */
export interface SoftmaxArgs {
  /** Product of the dimensions before the axis. */
  outer: number;
  /** Length of the axis. */
  len: number;
  /** Product of the dimensions after the axis. */
  inner: number;
  /** `log_softmax` instead of `softmax`. */
  log: boolean;
}

/**
 * The arguments object of every kernel, by name: each kernel takes exactly one. Every kernel
 * returns new storage (callers free inputs they no longer need) except `sgd`, which updates in
 * place.
 */
export interface KernelArgs {
  /** A new storage of `length` elements, all `value`. */
  fill: { length: number; dtype: DType; value: number };
  /**
   * `y = a (op) b`, `b` of `a.length` or 1 elements. f32 only. `relu`: then `y > 0 ? y : 0`
   * (NaN gives 0) in the same pass, for inference (no gradient is recorded for it).
   */
  binary: { op: BinaryOp; a: Storage; b: Storage; relu?: boolean };
  /** `y = alpha * a + beta * b` (same lengths). */
  axpby: { a: Storage; b: Storage; alpha: number; beta: number };
  /** `y = alpha * x + beta`. */
  affine: { x: Storage; alpha: number; beta: number };
  /** `y = max(x, 0)`. */
  relu: { x: Storage };
  /** `dx = y > 0 ? dy : 0`, given the ReLU's output `y`. */
  reluGrad: { dy: Storage; y: Storage };
  /**
   * Inverted dropout: `y = keep ? x / (1 - p) : 0`, where keep is drawn by the counter hash
   * {@linkcode dropoutKeep} from `seed` and `floor(i / group)` (group 1: element-wise;
   * H*W: whole channels, `dropout2d`). With `seeds` (one per sample of a batch `[N, ...]`,
   * N = `seeds.length`), sample n's mask is drawn from `seeds[n]` and its own indices (`i` counted
   * from the sample's first element), so a sample's mask does not depend on the batch around it;
   * `seed` is then unused. The same call on `dy` is the backward pass.
   */
  dropout: {
    x: Storage;
    p: number;
    seed: number;
    group: number;
    seeds?: readonly number[];
  };
  /**
   * `x` rounded to the nearest f16 value, kept in f32 (mixed precision's casts): values past
   * f16's range become ±infinity. Only where {@linkcode Backend.supportsF16}.
   */
  roundF16: { x: Storage };

  /** x `[N, C, H, W]`, w `[K, C, KH, KW]`, b `[K]` -> `[N, K, OH, OW]`, ReLU fused when asked. */
  conv2d: { x: Storage; w: Storage; b: Storage | null; geom: ConvGeom; relu: boolean };
  /** dy `[N, K, OH, OW]`, w `[K, C, KH, KW]` -> dx `[N, C, H, W]`. */
  conv2dGradInput: { dy: Storage; w: Storage; geom: ConvGeom };
  /** dy `[N, K, OH, OW]`, x `[N, C, H, W]` -> dw `[K, C, KH, KW]`. */
  conv2dGradWeight: { dy: Storage; x: Storage; geom: ConvGeom };
  /** x `[N, C, H, W]` -> `[C]`, the sum over N, H, W of each channel (bias gradient). */
  channelSum: PlanesArgs & { x: Storage };

  /**
   * x `[N, C, H, W]` -> y `[N, C, OH, OW]` and the flat `h * w + x` index (i32) of each max;
   * `indices: false` (inference, nothing to backpropagate): the index may be left out (null).
   */
  maxPool2d: { x: Storage; geom: PoolGeom; indices?: boolean };
  /** dy `[N, C, OH, OW]`, idx from `maxPool2d` -> dx `[N, C, H, W]`. */
  maxPool2dGrad: { dy: Storage; idx: Storage; geom: PoolGeom };

  /** x `[N, C, H, W]` -> per-channel mean and biased variance, both `[C]`. */
  batchNormStats: PlanesArgs & { x: Storage };
  /** `y = (x - mean[c]) / sqrt(variance[c] + eps) * gamma[c] + beta[c]`. */
  batchNorm: PlanesArgs & {
    x: Storage;
    mean: Storage;
    variance: Storage;
    gamma: Storage;
    beta: Storage;
    eps: number;
  };
  /**
   * Backward of `batchNorm`. With `training`, mean/variance are the batch statistics and dx
   * includes their gradient; otherwise they are constants.
   */
  batchNormGrad: PlanesArgs & {
    dy: Storage;
    x: Storage;
    mean: Storage;
    variance: Storage;
    gamma: Storage;
    eps: number;
    training: boolean;
  };

  /** Bilinear resize `[N, C, H, W]` -> `[N, C, oh, ow]` with PyTorch's coordinate rules. */
  interpolate: PlanesArgs & { x: Storage; oh: number; ow: number; alignCorners: boolean };
  /** Backward of `interpolate`: dy `[N, C, oh, ow]` -> dx `[N, C, H, W]`. */
  interpolateGrad: PlanesArgs & { dy: Storage; oh: number; ow: number; alignCorners: boolean };
  /** `x[:, :, top:top+oh, left:left+ow]` of x `[N, C, H, W]`. */
  crop: PlanesArgs & { x: Storage; oh: number; ow: number; top: number; left: number };
  /** Backward of crop: dy `[N, C, oh, ow]` placed into zeros `[N, C, H, W]`. */
  cropGrad: PlanesArgs & { dy: Storage; oh: number; ow: number; top: number; left: number };

  /**
   * Per-pixel cross entropy: `loss = -w[t] * log_softmax(x)[t]` and the weight `w[t]` (1
   * without `weight`), both 0 where `t == ignoreIndex`. Returns `[N, HW]` each.
   */
  crossEntropy: CrossEntropyArgs;
  /**
   * Gradient of `sum(g * loss)` w.r.t. the logits, `g` being `[N, HW]` or a single element:
   * `dx = g * w[t] * (softmax(x) - onehot(t))`, 0 on ignored pixels.
   */
  crossEntropyGrad: CrossEntropyArgs & { g: Storage };
  /**
   * Per-pixel negative log-likelihood of log-probabilities `[N, K, HW]`: `loss = -w[t] * x[t]`
   * and the weight `w[t]`, both 0 where `t == ignoreIndex`. Returns `[N, HW]` each.
   */
  nllLoss: ClassTargetArgs & { logProbs: Storage };
  /** Gradient of `sum(g * loss)` w.r.t. the log-probabilities: `-g * w[t]` at class t, else 0. */
  nllLossGrad: ClassTargetArgs & { g: Storage };
  /**
   * Raises a RangeError naming `op` when a target `[N, HW]` holds a class id outside `[0, K)`
   * that is not `ignoreIndex`. Host backends throw at once; WebGPU reads a flag back and throws
   * at the next `read()` or `flush()`.
   */
  checkTargets: { target: Storage; k: number; ignoreIndex: number; op: string };

  /** `softmax` (or `log_softmax`) of x along len, in `[outer, len, inner]`. */
  softmax: SoftmaxArgs & { x: Storage };
  /**
   * Backward of `softmax` from its output `y`: `dx = y * (dy - sum(dy * y))`, or for
   * `log_softmax` `dx = dy - exp(y) * sum(dy)`, the sums along len.
   */
  softmaxGrad: SoftmaxArgs & { y: Storage; dy: Storage };

  /** x seen as `[outer, len, inner]` -> `[outer, inner]` (i32) index of the max along len. */
  argmax: AxisArgs;
  /** x seen as `[outer, len, inner]` -> `[outer, inner]`, the sum along len. */
  sum: AxisArgs;
  /** x `[outer, inner]` -> `[outer, len, inner]`, repeated along len. */
  broadcast: AxisArgs;

  /** `a [M, K] @ b [K, N] -> [M, N]`, with a stored `[K, M]` if transA, b `[N, K]` if transB. */
  matmul: {
    a: Storage;
    b: Storage;
    m: number;
    k: number;
    n: number;
    transA: boolean;
    transB: boolean;
  };

  /** One in-place SGD update of `param` (and its momentum buffer `buf`) by `grad`. */
  sgd: { param: Storage; grad: Storage; buf: Storage | null; update: SgdUpdate };
}

/**
 * The results of the kernels that return more than one new storage, or nothing. Every other
 * kernel returns one new storage (its shape is documented with its {@link KernelArgs}).
 */
export interface SpecialResults {
  /** y `[N, C, OH, OW]` and the index of each max (i32; null where `indices: false` let go). */
  maxPool2d: { y: Storage; idx: Storage | null };
  /** Per-channel mean and biased variance, `[C]` each. */
  batchNormStats: { mean: Storage; var: Storage };
  /** dx `[N, C, H, W]`, dgamma and dbeta `[C]`. */
  batchNormGrad: { dx: Storage; dgamma: Storage; dbeta: Storage };
  /** Loss and weight per pixel, `[N, HW]` each. */
  crossEntropy: { loss: Storage; weight: Storage };
  /** Loss and weight per pixel, `[N, HW]` each. */
  nllLoss: { loss: Storage; weight: Storage };
  /** Nothing: it throws (or, on WebGPU, queues the throw) when a target is out of range. */
  checkTargets: void;
  /** Nothing: the update is in place. */
  sgd: void;
}

/** What each kernel returns: {@link SpecialResults}, else one new storage. */
export type KernelResult = {
  [P in KernelName]: P extends keyof SpecialResults ? SpecialResults[P] : Storage;
};

/** The kernels of each family (`lib/kernels/<family>/`), each family one slice per backend. */
export interface KernelFamilies {
  /** `lib/kernels/elementwise/`. */
  elementwise:
    | "fill"
    | "binary"
    | "axpby"
    | "affine"
    | "relu"
    | "reluGrad"
    | "dropout"
    | "roundF16";
  /** `lib/kernels/conv/`. */
  conv: "conv2d" | "conv2dGradInput" | "conv2dGradWeight" | "channelSum";
  /** `lib/kernels/pool/`. */
  pool: "maxPool2d" | "maxPool2dGrad";
  /** `lib/kernels/norm/`. */
  norm: "batchNormStats" | "batchNorm" | "batchNormGrad";
  /** `lib/kernels/resize/`. */
  resize: "interpolate" | "interpolateGrad" | "crop" | "cropGrad";
  /** `lib/kernels/loss/`. */
  loss: "crossEntropy" | "crossEntropyGrad" | "nllLoss" | "nllLossGrad" | "checkTargets";
  /** `lib/kernels/softmax/`. */
  softmax: "softmax" | "softmaxGrad";
  /** `lib/kernels/reduce/`. */
  reduce: "argmax" | "sum" | "broadcast";
  /** `lib/kernels/matmul/`. */
  matmul: "matmul";
  /** `lib/kernels/optim/`. */
  optim: "sgd";
}

/** Names of the kernels every backend runs. */
export type KernelName = keyof KernelArgs;

/**
 * The kernels every backend runs, one arguments object per call: `conv2d({ x, w, b, geom,
 * relu })`. Typed from {@link KernelArgs}, so that no backend can miss or misspell one.
 */
export type Kernels = { [P in KernelName]: (args: KernelArgs[P]) => KernelResult[P] };

/**
 * The kernels of family `F` on a runtime `R`: each takes the runtime and the kernel's
 * arguments. A backend spreads the slices of every family into a {@link KernelTable}.
 */
export type KernelSlice<R, F extends keyof KernelFamilies> = {
  [P in KernelFamilies[F]]: (rt: R, args: KernelArgs[P]) => KernelResult[P];
};

/** Every kernel on a runtime `R`: the compiler rejects a table that misses one. */
export type KernelTable<R> = {
  [P in KernelName]: (rt: R, args: KernelArgs[P]) => KernelResult[P];
};

/** A backend: memory, transfers and the kernels. */
export interface Backend extends Kernels {
  /** Which backend this is. */
  readonly kind: BackendKind;
  /** What it runs on, for people: the adapter or library. */
  readonly description: string;
  /** Whether the `roundF16` kernel (mixed precision) is available. */
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
  /**
   * Copy a storage back to the host at once, where the backend keeps storages in host memory
   * (cpu, blas); absent where a read must wait for a device (WebGPU).
   */
  readSync?(s: Storage): HostArray;
  /**
   * Runs `fn` on the host copies of `inputs` as they are at this point of the recorded work and
   * returns its results (f32, `lengths[i]` elements each) as new storages: how an op that needs
   * host values in the middle of a pass (synchronised batch norm across processes) records
   * without waiting. On cpu and blas `fn` runs at once and what it throws is thrown here; on
   * WebGPU the work recorded so far is submitted, the work recorded afterwards waits on the
   * device until `fn` has run on the inputs' data and its results are written, and what `fn`
   * throws is thrown by the next `read()` or `flush()`.
   */
  hostCall(
    inputs: Storage[],
    lengths: number[],
    fn: (data: HostArray[]) => Float32Array[],
  ): Storage[];
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
