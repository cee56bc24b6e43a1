/**
 * What is measured: the kernel shapes (VGG16 layers, FCN-8s upsamplers, pooling, loss, GEMM) and
 * the model configurations. Plain data, shared by our backends and the peers (TensorFlow.js,
 * PyTorch through `scripts/bench_torch.py`), so every implementation runs the same list.
 *
 * @module
 */
import type { ConvGeom, PoolGeom } from "../lib/device/backend.ts";

/** Passes of a kernel: forward, backward-data (input gradient), backward-weight. */
export type Pass = "fwd" | "bwd_data" | "bwd_weight";

/** Fields every kernel case has. */
interface CaseBase {
  /** Stable key across implementations and runs, e.g. `conv/64-64@224/fwd`. */
  id: string;
  /** For people, e.g. `conv 64->64 3x3 @224`. */
  label: string;
  /** Which pass. */
  pass: Pass;
  /** Floating-point operations of one call (a multiply-add counts 2); 0 for memory-bound ones. */
  flops: number;
  /** Bytes read and written at least once by one call (for GB/s of memory-bound kernels). */
  bytes: number;
}

/** A convolution: x `[N, C, H, W]`, w `[K, C, KH, KW]` -> `[N, K, OH, OW]`. */
export interface ConvCase extends CaseBase {
  kind: "conv";
  g: ConvGeom;
}

/**
 * A transposed convolution x `[N, CIN, H, W]`, w `[CIN, COUT, KH, KW]` -> `[N, COUT, OH, OW]`.
 * `g` is the geometry of the conv it transposes (from `[N, COUT, OH, OW]` back to x), as in
 * `convTranspose2d`: its forward is that conv's backward-data, its backward-data that conv's
 * forward, its backward-weight that conv's backward-weight with the roles of x and dy swapped.
 */
export interface ConvTCase extends CaseBase {
  kind: "convT";
  g: ConvGeom;
}

/** A max pool `[N, C, H, W]` -> `[N, C, OH, OW]`. */
export interface PoolCase extends CaseBase {
  kind: "pool";
  g: PoolGeom;
}

/** Per-pixel cross entropy of logits `[N, K, H*W]` against class ids `[N, H*W]`. */
export interface CrossEntropyCase extends CaseBase {
  kind: "ce";
  n: number;
  k: number;
  hw: number;
}

/** `a [M, K] @ b [K, N]`. */
export interface MatmulCase extends CaseBase {
  kind: "matmul";
  m: number;
  k: number;
  n: number;
}

/** One kernel measurement. */
export type KernelCase = ConvCase | ConvTCase | PoolCase | CrossEntropyCase | MatmulCase;

/** A square conv geometry, stride 1 unless given. */
export function convGeom(
  c: number,
  k: number,
  size: number,
  kernel: number,
  pad: number,
  stride = 1,
  n = 1,
): ConvGeom {
  const o = Math.floor((size + 2 * pad - kernel) / stride) + 1;
  return {
    n,
    c,
    h: size,
    w: size,
    k,
    kh: kernel,
    kw: kernel,
    oh: o,
    ow: o,
    strideH: stride,
    strideW: stride,
    padH: pad,
    padW: pad,
    dilH: 1,
    dilW: 1,
  };
}

/** Multiply-adds of a conv (any of its three passes) times 2. */
export function convFlops(g: ConvGeom): number {
  return 2 * g.n * g.k * g.c * g.kh * g.kw * g.oh * g.ow;
}

const F32 = 4;

function convCases(name: string, label: string, g: ConvGeom): ConvCase[] {
  const x = g.n * g.c * g.h * g.w, y = g.n * g.k * g.oh * g.ow, w = g.k * g.c * g.kh * g.kw;
  const bytes: Record<Pass, number> = {
    fwd: F32 * (x + w + g.k + y),
    bwd_data: F32 * (y + w + x),
    bwd_weight: F32 * (y + x + w),
  };
  return (["fwd", "bwd_data", "bwd_weight"] as const).map((pass) => ({
    kind: "conv",
    id: `conv/${name}/${pass}`,
    label,
    pass,
    g,
    flops: convFlops(g),
    bytes: bytes[pass],
  }));
}

/** A transposed conv of `channels` -> `channels` from `size` x `size`. */
function convTCases(channels: number, size: number, kernel: number, stride: number, pad: number) {
  const out = (size - 1) * stride - 2 * pad + kernel;
  // The conv from the output [N, COUT, OH, OW] back to x [N, CIN, H, W].
  const g: ConvGeom = {
    ...convGeom(channels, channels, out, kernel, pad, stride),
    oh: size,
    ow: size,
  };
  const x = channels * size * size, y = channels * out * out, w = channels * channels * kernel ** 2;
  const name = `${channels}-k${kernel}s${stride}p${pad}@${size}`;
  const label = `convT ${channels}->${channels} k${kernel} s${stride} p${pad} ${size}->${out}`;
  return (["fwd", "bwd_data", "bwd_weight"] as const).map((pass): ConvTCase => ({
    kind: "convT",
    id: `convT/${name}/${pass}`,
    label,
    pass,
    g,
    flops: convFlops(g),
    bytes: F32 * (x + y + w),
  }));
}

/** Classes of PASCAL VOC, used by the FCN-8s shapes. */
export const CLASSES = 21;

/**
 * Every kernel case: conv2d's three passes on the VGG16 layers (batch 1) and on the BLAS
 * target 128->256 at 112, conv_transpose2d on FCN-8s's three upsamplers, max_pool2d and
 * cross-entropy at 224, and a 1024^3 matmul.
 */
export function kernelCases(): KernelCase[] {
  const cases: KernelCase[] = [
    ...convCases("3-64@224", "conv 3->64 3x3 @224", convGeom(3, 64, 224, 3, 1)),
    ...convCases("64-64@224", "conv 64->64 3x3 @224", convGeom(64, 64, 224, 3, 1)),
    ...convCases("128-256@112", "conv 128->256 3x3 @112", convGeom(128, 256, 112, 3, 1)),
    ...convCases("128-256@56", "conv 128->256 3x3 @56", convGeom(128, 256, 56, 3, 1)),
    ...convCases("512-512@14", "conv 512->512 3x3 @14", convGeom(512, 512, 14, 3, 1)),
    ...convCases("fc6@7", "fc6 512->4096 7x7 @7", convGeom(512, 4096, 7, 7, 3)),
    ...convTCases(CLASSES, 7, 4, 2, 1),
    ...convTCases(CLASSES, 14, 4, 2, 1),
    ...convTCases(CLASSES, 28, 16, 8, 4),
  ];
  const pg: PoolGeom = {
    n: 1,
    c: 64,
    h: 224,
    w: 224,
    kh: 2,
    kw: 2,
    oh: 112,
    ow: 112,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
  };
  const px = 64 * 224 * 224, py = 64 * 112 * 112;
  const poolLabel = "max_pool2d 64ch 2x2 s2 @224";
  cases.push(
    {
      kind: "pool",
      id: "pool/64@224/fwd",
      label: poolLabel,
      pass: "fwd",
      g: pg,
      flops: 0,
      bytes: F32 * (px + 2 * py),
    },
    {
      kind: "pool",
      id: "pool/64@224/bwd_data",
      label: poolLabel,
      pass: "bwd_data",
      g: pg,
      flops: 0,
      bytes: F32 * (2 * py + px),
    },
  );
  const hw = 224 * 224;
  const ceLabel = `cross-entropy ${CLASSES} classes @224`;
  cases.push(
    {
      kind: "ce",
      id: "ce/21@224/fwd",
      label: ceLabel,
      pass: "fwd",
      n: 1,
      k: CLASSES,
      hw,
      flops: 0,
      bytes: F32 * (CLASSES * hw + 3 * hw),
    },
    {
      kind: "ce",
      id: "ce/21@224/bwd_data",
      label: ceLabel,
      pass: "bwd_data",
      n: 1,
      k: CLASSES,
      hw,
      flops: 0,
      bytes: F32 * (2 * CLASSES * hw + hw),
    },
  );
  const n = 1024;
  cases.push({
    kind: "matmul",
    id: "matmul/1024/fwd",
    label: "matmul 1024^3",
    pass: "fwd",
    m: n,
    k: n,
    n,
    flops: 2 * n ** 3,
    bytes: F32 * 3 * n * n,
  });
  return cases;
}

/** Kernel cases kept by `--quick`: one conv layer per depth, forward and backward. */
export function quickKernelCases(): KernelCase[] {
  const keep = [
    "conv/64-64@224/",
    "conv/128-256@112/",
    "conv/512-512@14/",
    "convT/21-k16s8p4@28/fwd",
    "pool/",
    "ce/",
    "matmul/",
  ];
  return kernelCases().filter((c) => keep.some((k) => c.id.startsWith(k)));
}

/** Which model. */
export type ModelKind = "fcn8s" | "fcn8s_small" | "fcn_resnet50";

/** A model measurement: one configuration at one size, batch and mode. */
export interface ModelCase {
  /** Stable key, e.g. `fcn8s/224/b1/train`. */
  id: string;
  /** For people. */
  label: string;
  model: ModelKind;
  /** Square input side. */
  size: number;
  batch: number;
  /** Inference, forward + backward + SGD step, or that step in mixed precision. */
  mode: ModelMode;
}

/** What a model case times. */
export type ModelMode = "forward" | "train" | "train-amp";

/** How a model kind is built: `createModel(name, options)`, and its name for people. */
export interface ModelSetup {
  name: "fcn8s" | "fcn_resnet50";
  options: {
    numClasses: number;
    width?: number;
    headChannels?: number;
    aux?: boolean;
    layers?: [number, number, number, number];
  };
  label: string;
}

/** `createModel` arguments of each model kind (ResNet without the aux head, as for inference). */
export const MODEL_CONFIGS: Record<ModelKind, ModelSetup> = {
  fcn8s: { name: "fcn8s", options: { numClasses: CLASSES }, label: "FCN-8s VGG16" },
  fcn8s_small: {
    name: "fcn8s",
    options: { numClasses: CLASSES, width: 1 / 8, headChannels: 512 },
    label: "FCN-8s VGG16 w1/8 head512",
  },
  fcn_resnet50: {
    name: "fcn_resnet50",
    options: { numClasses: CLASSES, aux: false },
    label: "FCN-ResNet50",
  },
};

/** One model case. */
export function modelCase(
  model: ModelKind,
  size: number,
  batch: number,
  mode: ModelMode,
): ModelCase {
  return {
    id: `${model}/${size}/b${batch}/${mode}`,
    label: `${MODEL_CONFIGS[model].label} ${mode} ${size}px b${batch}`,
    model,
    size,
    batch,
    mode,
  };
}

/**
 * Model cases, cheapest first within each model (so slow backends can extrapolate and skip):
 * both FCN-8s at 64/128/224 px, batch 1 and 4, forward and train; FCN-ResNet50 forward at 224
 * (and 480 when `large`). Quick: 64 px only, plus FCN-ResNet50 at 224.
 */
export function modelCases(options: { quick: boolean; large: boolean }): ModelCase[] {
  const sizes = options.quick ? [64] : [64, 128, 224];
  const out: ModelCase[] = [];
  for (const model of ["fcn8s_small", "fcn8s"] as const) {
    const grid: ModelCase[] = [];
    for (const size of sizes) {
      for (const batch of [1, 4]) {
        for (const mode of ["forward", "train"] as const) {
          grid.push(modelCase(model, size, batch, mode));
        }
      }
    }
    out.push(...grid.sort((a, b) => relativeCost(a) - relativeCost(b)));
  }
  // Mixed precision against f32 on the small model (f16-rounded convolutions).
  for (const size of sizes) out.push(modelCase("fcn8s_small", size, 4, "train-amp"));
  out.push(modelCase("fcn_resnet50", 224, 1, "forward"));
  if (options.large && !options.quick) out.push(modelCase("fcn_resnet50", 480, 1, "forward"));
  return out;
}

/** Work of a model case relative to 64 px, batch 1, forward (train counts 3x). */
export function relativeCost(c: ModelCase): number {
  return (c.size / 64) ** 2 * c.batch * (c.mode === "forward" ? 1 : 3);
}

/** A kernel case's rate at `ms` per call: GFLOP/s, or GB/s for a memory-bound case (0 flops). */
export function caseRate(c: KernelCase, ms: number): { gflops: number } | { gbps: number } {
  return c.flops > 0 ? { gflops: c.flops / ms / 1e6 } : { gbps: c.bytes / ms / 1e6 };
}
