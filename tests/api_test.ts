/**
 * The public surface: the sorted names mod.ts exports, values and types apart. A change here is a
 * change to the API: update the list on purpose, and say in the commit message what changed.
 *
 * @module
 */
import * as api from "../mod.ts";
import { assertEquals } from "./assert.ts";

const VALUES = [
  "ConfusionMatrix",
  "Device",
  "FolderDataset",
  "GradScaler",
  "IGNORE",
  "IMAGENET_MEAN",
  "IMAGENET_STD",
  "KernelError",
  "MODEL_NAMES",
  "Module",
  "NoWebGpuError",
  "Rng",
  "SGD",
  "SYNTHETIC_CLASSES",
  "SegmentationDataset",
  "Tensor",
  "VGG_BACKBONES",
  "VOC_CLASSES",
  "VocDataset",
  "adaptClassLayers",
  "add",
  "argmax",
  "autocast",
  "autotune",
  "batchNorm2d",
  "batches",
  "classLayerKeys",
  "classNames",
  "conv2d",
  "convTranspose2d",
  "createModel",
  "crop",
  "cropPad",
  "crossEntropy",
  "detectModel",
  "div",
  "dropout",
  "dropout2d",
  "encodeMaskPng",
  "encodeRgbPng",
  "evalTransform",
  "extractStateDict",
  "flipHorizontal",
  "formatMetrics",
  "hostBatches",
  "interpolate",
  "loadModel",
  "makeSyntheticDataset",
  "mapPretrainedBackbone",
  "matmul",
  "maxPool2d",
  "mean",
  "mul",
  "noGrad",
  "normalize",
  "overlay",
  "pad",
  "paletteOf",
  "polySchedule",
  "readImage",
  "readMask",
  "readSafetensors",
  "readStateDict",
  "readTorchCheckpoint",
  "relu",
  "requestDevice",
  "reshape",
  "resizeBilinear",
  "resizeNearest",
  "resolveConfig",
  "scale",
  "skipInit",
  "stepSchedule",
  "sub",
  "sum",
  "tensor",
  "tidy",
  "trainTransform",
  "vocPalette",
  "writeMaskPng",
  "writeRgbPng",
  "writeSafetensors",
];

const TYPES = [
  "BackendKind",
  "Batch",
  "BatchNormOptions",
  "BatchOptions",
  "ClassInfo",
  "ConfusionMatrixOptions",
  "Conv2dOptions",
  "ConvTranspose2dOptions",
  "CrossEntropyOptions",
  "DType",
  "DatasetInit",
  "DetectOptions",
  "Detection",
  "DropoutOptions",
  "FcnModel",
  "FolderOptions",
  "GradScalerOptions",
  "GradScalerState",
  "HostArray",
  "HostBatch",
  "HostBatchOptions",
  "HostScalar",
  "HostTensor",
  "InterpolateOptions",
  "LoadModelOptions",
  "LoadOptions",
  "LoadReport",
  "LoadedModel",
  "LoaderSource",
  "Mask",
  "MaxPool2dOptions",
  "ModelConfig",
  "ModelName",
  "ModelOptions",
  "ParamGroup",
  "PolyScheduleOptions",
  "Raster",
  "RawSample",
  "ReadMaskOptions",
  "RequestDeviceOptions",
  "Rgb",
  "RgbImage",
  "Safetensors",
  "SampleRef",
  "SampleSpec",
  "Schedule",
  "SeedSource",
  "SegmentationMetrics",
  "SegmentationOutput",
  "SgdOptions",
  "StateDict",
  "StepScheduleOptions",
  "SyntheticOptions",
  "TensorOptions",
  "TransformOptions",
  "TransformedSample",
  "VggBackbone",
  "VggName",
  "VocOptions",
  "WebGpuOptions",
];

/** Every name mod.ts exports (values and types), from `deno doc --json mod.ts`. */
async function exportedNames(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`deno doc --json mod.ts failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const doc: { nodes: Record<string, { symbols: { name: string }[] }> } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  return Object.values(doc.nodes).flatMap((m) => m.symbols.map((s) => s.name));
}

Deno.test("api: mod.ts exports exactly these values", () => {
  assertEquals(Object.keys(api).sort(), VALUES);
});

Deno.test("api: mod.ts exports exactly these types", async () => {
  const values = new Set(Object.keys(api));
  const types = [...new Set(await exportedNames())].filter((n) => !values.has(n)).sort();
  assertEquals(types, TYPES);
});
