/**
 * # @x/fcn
 *
 * Semantic segmentation with Fully Convolutional Networks in Deno: tensors, autodiff and
 * kernels on WebGPU (or native BLAS, or plain TypeScript), FCN models, datasets, losses,
 * metrics and training.
 *
 * This module is the whole public API, chosen name by name (tests/api_test.ts holds the list):
 * devices and tensors, the ops, `Module` and the FCN models, SGD with its schedules and
 * `GradScaler`, metrics, datasets with their transforms and batches, image and mask files,
 * and safetensors / PyTorch checkpoint readers. Backend contracts, autograd's tape and the
 * loader's internals are not part of it.
 *
 * @example Forward and backward of a tiny conv net
 * ```ts
 * import { conv2d, crossEntropy, relu, requestDevice, tensor } from "@x/fcn";
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

// Tensors, devices and autodiff.
export { Device, Tensor, tensor, tidy } from "./lib/tensor.ts";
export type { TensorOptions } from "./lib/tensor.ts";
export type { BackendKind, DType, HostArray } from "./lib/device/backend.ts";
export { requestDevice } from "./lib/device/request.ts";
export type { RequestDeviceOptions } from "./lib/device/request.ts";
export { autotune } from "./lib/device/tune.ts";
export { KernelError, NoWebGpuError } from "./lib/device/webgpu.ts";
export type { WebGpuOptions } from "./lib/device/webgpu.ts";
export { autocast, noGrad } from "./lib/autograd.ts";
export { Rng } from "./lib/random.ts";

// Ops (torch.nn.functional semantics).
export { conv2d, convTranspose2d } from "./lib/ops/conv.ts";
export type { Conv2dOptions, ConvTranspose2dOptions } from "./lib/ops/conv.ts";
export { maxPool2d } from "./lib/ops/pool.ts";
export type { MaxPool2dOptions } from "./lib/ops/pool.ts";
export { add, div, dropout, dropout2d, mul, relu, scale, sub } from "./lib/ops/elementwise.ts";
export type { DropoutOptions } from "./lib/ops/elementwise.ts";
export { batchNorm2d } from "./lib/ops/norm.ts";
export type { BatchNormOptions, StatsReducer } from "./lib/ops/norm.ts";
export { crop, interpolate, pad } from "./lib/ops/resize.ts";
export type { InterpolateOptions } from "./lib/ops/resize.ts";
export { crossEntropy, nllLoss } from "./lib/ops/loss.ts";
export type { CrossEntropyOptions, NllLossOptions } from "./lib/ops/loss.ts";
export { logSoftmax, softmax } from "./lib/ops/softmax.ts";
export { argmax, matmul, mean, reshape, sum } from "./lib/ops/reduce.ts";

// Inference on images of any size: sliding windows and test-time augmentation.
export { inferLogits, inferMask, inferRows } from "./lib/infer/tta.ts";
export type { InferOptions } from "./lib/infer/tta.ts";

// Modules and models.
export { Module } from "./lib/nn/module.ts";
export type { HostScalar, LoadOptions, LoadReport } from "./lib/nn/module.ts";
export type { SeedSource } from "./lib/nn/layers.ts";
export { skipInit } from "./lib/nn/init.ts";
export {
  createModel,
  mapPretrainedBackbone,
  MODEL_NAMES,
  resolveConfig,
  VGG_BACKBONES,
} from "./lib/models/create.ts";
export type {
  FcnModel,
  ModelConfig,
  ModelName,
  ModelOptions,
  SegmentationOutput,
  VggBackbone,
  VggName,
} from "./lib/models/types.ts";

// Training.
export { SGD } from "./lib/optim/sgd.ts";
export type { ParamGroup, SgdOptions } from "./lib/optim/sgd.ts";
export { polySchedule, stepSchedule } from "./lib/optim/schedules.ts";
export type { PolyScheduleOptions, Schedule, StepScheduleOptions } from "./lib/optim/schedules.ts";
export { GradScaler } from "./lib/optim/grad_scaler.ts";
export type { GradScalerOptions, GradScalerState } from "./lib/optim/grad_scaler.ts";
export { ConfusionMatrix, formatMetrics } from "./lib/metrics/confusion_matrix.ts";
export type {
  ConfusionMatrixOptions,
  SegmentationMetrics,
} from "./lib/metrics/confusion_matrix.ts";
export { adaptClassLayers, classLayerKeys, detectModel } from "./lib/models/detect.ts";
export type { Detection, DetectOptions } from "./lib/models/detect.ts";
export { classNames, loadModel, readStateDict } from "./lib/models/load.ts";
export type { LoadedModel, LoadModelOptions } from "./lib/models/load.ts";
export { loadPretrained, loadPretrainedBackbone } from "./lib/models/pretrained.ts";
export type { PretrainedReport } from "./lib/models/pretrained.ts";

// Data: datasets, transforms, batches, images and masks.
export { SegmentationDataset } from "./lib/data/dataset.ts";
export type { ClassInfo, DatasetInit } from "./lib/data/dataset.ts";
export type { RawSample, SampleRef, SampleSpec } from "./lib/data/sample.ts";
export { VOC_CLASSES, VocDataset } from "./lib/data/voc.ts";
export type { VocOptions } from "./lib/data/voc.ts";
export { FolderDataset } from "./lib/data/folder.ts";
export type { FolderOptions } from "./lib/data/folder.ts";
export { batches, hostBatches } from "./lib/data/loader.ts";
export type {
  Batch,
  BatchOptions,
  HostBatch,
  HostBatchOptions,
  LoaderSource,
} from "./lib/data/loader.ts";
export {
  cropPad,
  evalTransform,
  flipHorizontal,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalize,
  resizeBilinear,
  resizeNearest,
  trainTransform,
} from "./lib/data/transforms.ts";
export type { Raster, TransformedSample, TransformOptions } from "./lib/data/transforms.ts";
export {
  encodeMaskPng,
  encodeRgbPng,
  IGNORE,
  overlay,
  readImage,
  readMask,
  writeMaskPng,
  writeRgbPng,
} from "./lib/data/image.ts";
export type { Mask, ReadMaskOptions, RgbImage } from "./lib/data/image.ts";
export { paletteOf, vocPalette } from "./lib/data/palette.ts";
export type { Rgb } from "./lib/data/palette.ts";
export { makeSyntheticDataset, SYNTHETIC_CLASSES } from "./lib/data/synthetic.ts";
export type { SyntheticOptions } from "./lib/data/synthetic.ts";

// Weights: safetensors and PyTorch checkpoints.
export { readSafetensors, writeSafetensors } from "./lib/io/safetensors.ts";
export type { Safetensors } from "./lib/io/safetensors.ts";
export { extractStateDict, readTorchCheckpoint } from "./lib/io/torch_pth.ts";
export type { HostTensor, StateDict } from "./lib/io/host_tensor.ts";

// ONNX export.
export { exportOnnx, ONNX_OPSET } from "./lib/onnx/export.ts";
export type { ExportOnnxOptions } from "./lib/onnx/export.ts";

// Beyond one machine: MPI communicators and shards.
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
