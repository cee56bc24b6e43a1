/**
 * # @x/fcn
 *
 * Semantic segmentation with Fully Convolutional Networks in Deno: tensors, autodiff and
 * kernels on WebGPU (or native BLAS, or plain TypeScript), FCN models, datasets, losses,
 * metrics and training.
 *
 * @example Forward and backward of a tiny conv net
 * ```ts
 * import { conv2d, crossEntropy, relu, requestDevice, tensor } from "./mod.ts";
 * import { assert } from "./tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor(new Float32Array(1 * 3 * 8 * 8).fill(0.5), [1, 3, 8, 8], device);
 * const w = tensor(new Float32Array(2 * 3 * 3 * 3).fill(0.1), [2, 3, 3, 3], device, { requiresGrad: true });
 * const target = tensor(new Int32Array(64).fill(1), [1, 8, 8], device);
 * const loss = crossEntropy(relu(conv2d(x, w, null, { padding: 1 })), target);
 * loss.backward();
 * assert(w.grad !== null);
 * ```
 *
 * @module
 */
import "./lib/autograd.ts";

export type {
  Backend,
  BackendKind,
  BinaryOp,
  ConvGeom,
  DType,
  HostArray,
  Kernels,
  Planes,
  PoolGeom,
  SgdUpdate,
  Storage,
} from "./lib/device/backend.ts";
export type { Node, OpName, OpStates } from "./lib/autograd.ts";
export type { WebGpuOptions } from "./lib/device/webgpu.ts";
export { Device, Tensor, tensor, tidy } from "./lib/tensor.ts";
export type { TensorOptions } from "./lib/tensor.ts";
export { autocast, noGrad } from "./lib/autograd.ts";
export type { F16Inputs } from "./lib/autograd.ts";
export { requestDevice } from "./lib/device/request.ts";
export { autotune } from "./lib/device/tune.ts";
export type { RequestDeviceOptions } from "./lib/device/request.ts";
export { KernelError, NoWebGpuError } from "./lib/device/webgpu.ts";
export { conv2d, convTranspose2d } from "./lib/ops/conv.ts";
export type { Conv2dOptions, ConvTranspose2dOptions } from "./lib/ops/conv.ts";
export { maxPool2d } from "./lib/ops/pool.ts";
export type { MaxPool2dOptions } from "./lib/ops/pool.ts";
export { add, div, dropout, dropout2d, mul, relu, scale, sub } from "./lib/ops/elementwise.ts";
export type { DropoutOptions } from "./lib/ops/elementwise.ts";
export { batchNorm2d } from "./lib/ops/norm.ts";
export type { BatchNormOptions } from "./lib/ops/norm.ts";
export { crop, interpolate, pad } from "./lib/ops/resize.ts";
export type { InterpolateOptions } from "./lib/ops/resize.ts";
export { crossEntropy } from "./lib/ops/loss.ts";
export type { CrossEntropyOptions } from "./lib/ops/loss.ts";
export { argmax, matmul, mean, reshape, sum } from "./lib/ops/reduce.ts";
export { SGD } from "./lib/optim/sgd.ts";
export { GradScaler } from "./lib/optim/grad_scaler.ts";
export type { GradScalerOptions, GradScalerState } from "./lib/optim/grad_scaler.ts";
export type { ParamGroup, SgdOptions } from "./lib/optim/sgd.ts";
export { Module } from "./lib/nn/module.ts";
export type { HostScalar, LoadOptions, LoadReport } from "./lib/nn/module.ts";
export { SeedSource } from "./lib/nn/layers.ts";
export {
  createModel,
  mapPretrainedBackbone,
  MODEL_NAMES,
  resolveConfig,
  VGG_BACKBONES,
} from "./lib/models/create.ts";
export type { FcnModel, ModelConfig, ModelName, ModelOptions } from "./lib/models/create.ts";
export type { SegmentationOutput } from "./lib/models/types.ts";
export type { VggBackbone, VggName } from "./lib/models/vgg_fcn.ts";
export type { HostTensor, StateDict } from "./lib/io/host_tensor.ts";
export { readSafetensors, writeSafetensors } from "./lib/io/safetensors.ts";
export type { Safetensors } from "./lib/io/safetensors.ts";
export { extractStateDict, readTorchCheckpoint } from "./lib/io/torch_pth.ts";
export { polySchedule, stepSchedule } from "./lib/optim/schedules.ts";
export type { PolyScheduleOptions, Schedule, StepScheduleOptions } from "./lib/optim/schedules.ts";
export * from "./lib/data/mod.ts";
export { ConfusionMatrix, formatMetrics, nanmean } from "./lib/metrics/confusion_matrix.ts";
export type {
  ConfusionMatrixOptions,
  SegmentationMetrics,
} from "./lib/metrics/confusion_matrix.ts";
export { DEFAULT_BUCKET_BYTES, openCommunicator, SingleProcess } from "./lib/dist/communicator.ts";
export type {
  BucketOptions,
  Communicator,
  MpiArray,
  OpenCommunicatorOptions,
} from "./lib/dist/communicator.ts";
export { launcherOf } from "./lib/dist/env.ts";
export type { EnvReader, Launcher, LaunchInfo, MpiFlavor } from "./lib/dist/env.ts";
export { parseShard, ShardError, shardOf } from "./lib/dist/shard.ts";
export type { ParseShardOptions, Shard } from "./lib/dist/shard.ts";

if (import.meta.main) {
  const { run } = await import("./lib/cli/main.ts");
  Deno.exit(await run(Deno.args));
}
