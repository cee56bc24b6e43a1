/**
 * `train`: trains an FCN, validating every `--eval-every` epochs, keeping `best` and `last`
 * weights, an exact resumable state, `history.jsonl` and `report.html` in the run folder.
 *
 * @module
 */
import { add, scale } from "../ops/elementwise.ts";
import { crossEntropy } from "../ops/loss.ts";
import { argmax } from "../ops/reduce.ts";
import { noGrad } from "../autograd.ts";
import { type Tensor, tidy } from "../tensor.ts";
import { createModel, type FcnModel, MODEL_NAMES, VGG_BACKBONES } from "../models/create.ts";
import { describe } from "../nn/module.ts";
import { SGD } from "../optim/sgd.ts";
import { GradScaler } from "../optim/grad_scaler.ts";
import { autocast } from "../autograd.ts";
import { polySchedule, type Schedule, stepSchedule } from "../optim/schedules.ts";
import {
  loadLastState,
  namedBuffers,
  saveJson,
  saveLastState,
  saveWeights,
  unnamedBuffers,
} from "../io/checkpoint.ts";
import { ConfusionMatrix, formatMetrics } from "../metrics/confusion_matrix.ts";
import { encodeRgbPng, overlay } from "../data/image.ts";
import { paletteOf } from "../data/palette.ts";
import { type FlagSpec, helpText, parseFlags, UsageError } from "./flags.ts";
import { Progress } from "./progress.ts";
import { type EpochRecord, renderReport, type ReportSample } from "./report.ts";
import { bundledData, openDataset, openDevice, readWeights, type SegDataset } from "./common.ts";
import type { Device } from "../tensor.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { autotune } from "../device/tune.ts";
import { pendingCount } from "../kernels/autotune.ts";
import { resolveWeights as fetchWeights } from "../io/weights.ts";
import { loadPretrained, loadPretrainedBackbone } from "../models/pretrained.ts";

/** The flags of `train`, with their defaults (the bundled demo's settings). */
export const TRAIN_FLAGS: FlagSpec[] = [
  { name: "data", type: "string", help: "dataset root (default: the bundled synthetic dataset)" },
  {
    name: "dataset",
    type: "string",
    default: "voc",
    choices: ["voc", "folder"],
    help: "dataset layout",
  },
  {
    name: "train-split",
    type: "string",
    default: "train",
    help: "training split name or txt file",
  },
  { name: "val-split", type: "string", default: "val", help: "validation split name or txt file" },
  { name: "model", type: "string", default: "fcn8s", choices: MODEL_NAMES, help: "architecture" },
  {
    name: "backbone",
    type: "string",
    default: "vgg16",
    choices: VGG_BACKBONES,
    help: "VGG backbone",
  },
  { name: "num-classes", type: "int", min: 1, help: "classes (default: from the dataset)" },
  {
    name: "width",
    type: "number",
    default: 0.125,
    help: "backbone width multiplier (1 = full size)",
  },
  { name: "head-channels", type: "int", default: 64, min: 1, help: "fc6/fc7 channels of VGG FCNs" },
  { name: "epochs", type: "int", default: 25, min: 1, help: "epochs to train" },
  { name: "batch-size", type: "int", default: 4, min: 1, help: "images per step" },
  { name: "lr", type: "number", default: 0.02, min: 0, help: "base learning rate" },
  { name: "momentum", type: "number", default: 0.9, min: 0, help: "SGD momentum" },
  { name: "weight-decay", type: "number", default: 1e-4, min: 0, help: "SGD weight decay" },
  {
    name: "schedule",
    type: "string",
    default: "poly",
    choices: ["poly", "step"],
    help: "learning-rate schedule",
  },
  {
    name: "warmup-epochs",
    type: "number",
    default: 1,
    min: 0,
    help: "poly: epochs of linear warmup",
  },
  { name: "step-size", type: "int", default: 10, min: 1, help: "step: epochs between decays" },
  { name: "gamma", type: "number", default: 0.1, min: 0, help: "step: decay factor" },
  { name: "aux-weight", type: "number", default: 0.5, min: 0, help: "weight of the aux loss" },
  {
    name: "aux-lr-mult",
    type: "number",
    default: 10,
    min: 0,
    help: "learning-rate multiplier of the aux head",
  },
  { name: "crop", type: "int", default: 64, min: 1, help: "training crop size" },
  {
    name: "base-size",
    type: "int",
    default: 72,
    min: 1,
    help: "shorter side before scaling (train) / for eval",
  },
  {
    name: "pretrained",
    type: "string",
    help: "initial weights (.pth or .safetensors), loaded where shapes fit",
  },
  { name: "pretrained-backbone", type: "string", help: "torchvision ImageNet VGG/ResNet weights" },
  { name: "resume", type: "string", help: "run folder to continue exactly" },
  { name: "out", type: "string", help: "run folder (default: runs/<model>-<time>)" },
  {
    name: "seed",
    type: "int",
    default: 1,
    help: "seed of weights, shuffling, augmentation, dropout",
  },
  { name: "eval-every", type: "int", default: 1, min: 1, help: "validate every N epochs" },
  {
    name: "backend",
    type: "string",
    choices: ["webgpu", "blas", "cpu"],
    help: "compute backend (default: automatic)",
  },
  { name: "workers", type: "int", default: 2, min: 0, help: "data loading workers (0: inline)" },
  {
    name: "amp",
    type: "boolean",
    default: false,
    help: "mixed precision: f16 convolutions, f32 master weights, dynamic loss scaling",
  },
  {
    name: "max-steps",
    type: "int",
    min: 1,
    help: "stop after this many steps in total (tests, smoke runs)",
  },
  {
    name: "report-samples",
    type: "int",
    default: 4,
    min: 0,
    help: "validation images shown in report.html",
  },
];

/** Settings a resumed run may change; the others come from the run's `config.json`. */
export const RESUME_OVERRIDES = [
  "epochs",
  "evalEvery",
  "workers",
  "backend",
  "reportSamples",
] as const;

/** Every setting of a run (saved in `config.json`). */
export interface TrainSettings {
  data?: string;
  dataset: string;
  trainSplit: string;
  valSplit: string;
  model: string;
  backbone: string;
  numClasses?: number;
  width: number;
  headChannels: number;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: string;
  warmupEpochs: number;
  stepSize: number;
  gamma: number;
  auxWeight: number;
  auxLrMult: number;
  crop: number;
  baseSize: number;
  pretrained?: string;
  pretrainedBackbone?: string;
  resume?: string;
  out?: string;
  seed: number;
  evalEvery: number;
  backend?: string;
  workers: number;
  maxSteps?: number;
  reportSamples: number;
  amp?: boolean;
}

/** What a finished (or stopped) run reports. */
export interface TrainResult {
  runDir: string;
  history: EpochRecord[];
  /** The loss of every step run by this call, in order. */
  losses: number[];
  best: { meanIoU: number; epoch: number };
}

/** Validation result of one pass. */
export interface Evaluation {
  loss: number;
  matrix: ConfusionMatrix;
}

/** Runs the model over a dataset in eval mode: summed CE over pixels and the confusion matrix. */
export async function evaluate(
  model: FcnModel,
  data: SegDataset,
  device: Device,
  options: { batchSize: number; numClasses: number; workers?: number; onBatch?: () => void },
): Promise<Evaluation> {
  model.eval();
  const matrix = new ConfusionMatrix(options.numClasses);
  let lossSum = 0, count = 0;
  for await (
    const batch of data.batches({
      batchSize: options.batchSize,
      shuffle: false,
      train: false,
      device,
      workers: options.workers,
    })
  ) {
    const { loss, pred } = noGrad(() =>
      tidy(() => {
        const { out } = model.forward(batch.images);
        return { loss: crossEntropy(out, batch.masks, { reduction: "sum" }), pred: argmax(out, 1) };
      })
    );
    lossSum += await loss.item();
    const target = await batch.masks.toArray();
    matrix.update(await pred.toArray() as Int32Array, target as Int32Array);
    for (const v of target) if (v !== 255) count++;
    for (const t of [loss, pred, batch.images, batch.masks]) t.dispose();
    options.onBatch?.();
  }
  return { loss: count > 0 ? lossSum / count : NaN, matrix };
}

function schedule(s: TrainSettings, itersPerEpoch: number): Schedule {
  if (s.schedule === "step") {
    return stepSchedule({ itersPerEpoch, stepSize: s.stepSize, gamma: s.gamma });
  }
  return polySchedule({
    totalIters: itersPerEpoch * s.epochs,
    warmupIters: Math.round(s.warmupEpochs * itersPerEpoch),
  });
}

/** Makes a run folder name from the model and the time. */
function defaultOut(model: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").replace("T", "-");
  return `runs/${model}-${t}`;
}

/**
 * Trains as the flags say. Logs with `log`; returns the history and per-step losses.
 */
export async function train(
  flags: TrainSettings,
  log: (s: string) => void = (s) => console.log(s),
): Promise<TrainResult> {
  let s: TrainSettings = flags;
  let resumed = null;
  if (flags.resume) {
    const dir = flags.resume;
    let json;
    try {
      json = JSON.parse(await Deno.readTextFile(`${dir}/config.json`));
    } catch (e) {
      throw new UsageError(`Cannot resume from "${dir}": ${(e as Error).message}`);
    }
    // The run's own settings, except what may change between sessions.
    s = { ...json.settings, resume: dir, out: dir, maxSteps: flags.maxSteps };
    for (const k of RESUME_OVERRIDES) {
      if (flags[k] !== undefined) (s as unknown as Record<string, unknown>)[k] = flags[k];
    }
    resumed = await loadLastState(dir);
    log(`Resuming ${dir} after epoch ${resumed.state.epoch} (step ${resumed.state.step})`);
  }
  const device = await openDevice(s.backend, log);
  const root = s.data ?? await bundledData();
  const transform = { crop: s.crop, baseSize: s.baseSize };
  const trainSet = await openDataset(s.dataset, root, s.trainSplit, transform);
  const valSet = await openDataset(s.dataset, root, s.valSplit, transform);
  const numClasses = s.numClasses ?? trainSet.classes.length;
  const names = trainSet.classes.length === numClasses
    ? trainSet.classes
    : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
  log(
    `Data: ${root} (${s.dataset}): ${trainSet.length} train / ${valSet.length} val images, ` +
      `${numClasses} classes`,
  );
  const model = createModel(s.model as never, {
    numClasses,
    backbone: s.backbone as never,
    width: s.width,
    headChannels: s.headChannels,
    seed: s.seed,
  }, device);
  log(
    `Model: ${s.model}${s.model.startsWith("fcn_resnet") ? "" : ` on ${s.backbone}`}, ` +
      `${(model.parameterCount() / 1e6).toFixed(3)}M parameters`,
  );
  if (s.pretrainedBackbone && !resumed) {
    const dict = await readWeights(await fetchWeights(s.pretrainedBackbone));
    log(loadPretrainedBackbone(model, dict, s.pretrainedBackbone).summary);
  }
  if (s.pretrained && !resumed) {
    const r = loadPretrained(
      model,
      await readWeights(await fetchWeights(s.pretrained)),
      s.pretrained,
    );
    log(r.summary);
    const skipped = describe({
      ...r,
      missing: r.missing.filter((k) => !r.reinitialised.includes(k)),
      loaded: [],
    });
    if (skipped) log(`  kept as initialised:\n${skipped}`);
  }
  const auxParams = model.namedParameters().filter(([k]) => k.startsWith("aux_classifier."))
    .map(([, t]) => t);
  const mainParams = model.namedParameters().filter(([k]) => !k.startsWith("aux_classifier."))
    .map(([, t]) => t);
  const sgd = new SGD(
    auxParams.length
      ? [{ params: mainParams }, { params: auxParams, lrMultiplier: s.auxLrMult }]
      : [{ params: mainParams }],
    { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay },
  );
  const paramNames = [...mainParams, ...auxParams].map((t) =>
    model.namedParameters().find(([, p]) => p === t)![0]
  );
  let amp = s.amp === true;
  if (amp && !device.backend.supportsF16) {
    log(`--amp: ${device.description} has no shader-f16; training in f32`);
    amp = false;
  }
  const scaler = amp ? new GradScaler() : null;
  if (amp) log("Mixed precision: f16 convolutions with f32 accumulation, dynamic loss scaling");
  const runDir = s.out ?? defaultOut(s.model);
  await Deno.mkdir(runDir, { recursive: true });
  let history: EpochRecord[] = [];
  let epoch0 = 0, step = 0, best = { meanIoU: -1, epoch: 0 };
  if (resumed) {
    model.loadStateDict(resumed.weights);
    sgd.loadStateDict(unnamedBuffers(paramNames, resumed.optimizer));
    epoch0 = resumed.state.epoch;
    step = resumed.state.step;
    best = { meanIoU: resumed.state.bestMeanIoU, epoch: resumed.state.bestEpoch };
    model.seeds.counter = resumed.state.dropoutCounter;
    if (scaler && resumed.state.scaler) scaler.load(resumed.state.scaler as never);
    history = (await Deno.readTextFile(`${runDir}/history.jsonl`).catch(() => "")).split("\n")
      .filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((h) => h.epoch <= epoch0);
  } else {
    await saveJson(`${runDir}/config.json`, {
      model: model.config,
      classes: { names, colors: trainSet.colors.slice(0, numClasses) },
      settings: s,
      seed: s.seed,
      device: { kind: device.kind, description: device.description },
    });
    await Deno.writeTextFile(`${runDir}/history.jsonl`, "");
  }
  const itersPerEpoch = Math.floor(trainSet.length / s.batchSize) || 1;
  const sched = schedule(s, itersPerEpoch);
  const losses: number[] = [];
  const palette = paletteOf(trainSet.colors);
  log(`Run folder: ${runDir}`);
  for (let epoch = epoch0 + 1; epoch <= s.epochs; epoch++) {
    if (s.maxSteps !== undefined && step >= s.maxSteps) break;
    model.train();
    const t0 = performance.now();
    const bar = new Progress({ total: itersPerEpoch, label: `epoch ${epoch}/${s.epochs}` });
    let epochLoss = 0, epochSteps = 0, i = 0;
    const pending: Tensor[] = [];
    const drain = async () => {
      for (const l of pending.splice(0)) {
        const v = await l.item();
        l.dispose();
        if (!Number.isFinite(v)) {
          throw new Error(
            `The loss became ${v} at step ${step - pending.length}: lower --lr (now ${s.lr}) or ` +
              `check the data; ${runDir} keeps the last good files`,
          );
        }
        losses.push(v);
        epochLoss += v;
        epochSteps++;
      }
    };
    for await (
      const batch of trainSet.batches({
        batchSize: s.batchSize,
        shuffle: true,
        dropLast: true,
        seed: s.seed,
        epoch,
        train: true,
        device,
        workers: s.workers,
      })
    ) {
      sgd.lr = s.lr * sched.factor(step);
      const forward = () => {
        const o = model.forward(batch.images);
        let l = crossEntropy(o.out, batch.masks);
        if (o.aux && s.auxWeight > 0) {
          l = add(l, scale(crossEntropy(o.aux, batch.masks), s.auxWeight));
        }
        return l;
      };
      let loss: Tensor;
      if (scaler) {
        // Mixed precision: the step is skipped (and the scale halved) when gradients overflow.
        const [l, scaled] = tidy(() => {
          const l = autocast(forward);
          sgd.zeroGrad();
          return [l.keep(), scaler.scale(l)];
        });
        scaled.backward();
        scaled.dispose();
        await scaler.step(sgd);
        loss = l;
      } else {
        loss = tidy(() => {
          const l = forward();
          sgd.zeroGrad();
          l.backward();
          sgd.step();
          return l;
        });
      }
      batch.images.dispose();
      batch.masks.dispose();
      pending.push(loss);
      step++;
      i++;
      if (step === 1 && device.kind === "webgpu") {
        // The kernels' shapes are known now: pick each family's fastest variant (cached per adapter).
        const classes = pendingCount();
        const t0 = performance.now();
        await autotune(device);
        log(
          `Autotune: ${classes} kernel shape classes tuned or read from the cache ` +
            `(${((performance.now() - t0) / 1000).toFixed(1)} s)`,
        );
      }
      if (pending.length >= 4 || i === itersPerEpoch) {
        const n = pending.length;
        await drain();
        bar.update(i, { loss: losses.at(-1)!, lr: sgd.lr }, s.batchSize * n);
      }
      if (s.maxSteps !== undefined && step >= s.maxSteps) break;
    }
    await drain();
    bar.done();
    const record: EpochRecord = {
      epoch,
      trainLoss: epochLoss / Math.max(epochSteps, 1),
      valLoss: NaN,
      pixelAccuracy: NaN,
      meanIoU: NaN,
      seconds: 0,
      lr: sgd.lr,
      steps: step,
    };
    let iou: number[] = [];
    let samples: ReportSample[] = [];
    if (epoch % s.evalEvery === 0 || epoch === s.epochs) {
      const ev = await evaluate(model, valSet, device, {
        batchSize: s.batchSize,
        numClasses,
        workers: s.workers,
      });
      const m = ev.matrix.compute();
      Object.assign(record, {
        valLoss: ev.loss,
        pixelAccuracy: m.pixelAccuracy,
        meanAccuracy: m.meanAccuracy,
        meanIoU: m.meanIoU,
        fwIoU: m.fwIoU,
        meanF1: m.meanF1,
        iou: m.iou,
      });
      iou = m.iou;
      log(formatMetrics(m, names));
      samples = await reportSamples(model, valSet, device, palette, s.reportSamples);
    }
    record.seconds = (performance.now() - t0) / 1000;
    log(
      `epoch ${epoch}: train loss ${record.trainLoss.toFixed(4)}, val loss ${
        record.valLoss.toFixed(4)
      }, ` +
        `mIoU ${(record.meanIoU * 100).toFixed(2)}%, pixel acc ${
          (record.pixelAccuracy * 100).toFixed(2)
        }%, ` +
        `${record.seconds.toFixed(1)} s`,
    );
    history.push(record);
    const weights = await model.stateDict();
    if (Number.isFinite(record.meanIoU) && record.meanIoU > best.meanIoU) {
      best = { meanIoU: record.meanIoU, epoch };
      await saveWeights(`${runDir}/best.safetensors`, weights, {
        epoch: String(epoch),
        meanIoU: String(record.meanIoU),
      });
    }
    await saveLastState(runDir, {
      state: {
        epoch,
        step,
        bestMeanIoU: best.meanIoU,
        bestEpoch: best.epoch,
        dropoutCounter: model.seeds.counter,
        ...(scaler ? { scaler: scaler.state() } : {}),
      },
      weights,
      optimizer: namedBuffers(paramNames, await sgd.stateDict()),
    });
    await writeFileAtomic(
      `${runDir}/history.jsonl`,
      history.map((h) => JSON.stringify(h)).join("\n") + "\n",
    );
    if (samples.length || iou.length) {
      await writeFileAtomic(
        `${runDir}/report.html`,
        renderReport({
          title: `${s.model} on ${s.data ?? "the bundled dataset"}`,
          history,
          classNames: names,
          iou,
          samples,
          settings: { model: s.model, width: s.width, lr: s.lr, batch: s.batchSize, seed: s.seed },
        }),
      );
    }
  }
  log(`Best mIoU ${(best.meanIoU * 100).toFixed(2)}% at epoch ${best.epoch}; files in ${runDir}`);
  model.dispose();
  sgd.dispose();
  device.destroy();
  return { runDir, history, losses, best };
}

/** Predicts the first `count` validation images for the report. */
async function reportSamples(
  model: FcnModel,
  data: SegDataset,
  device: Device,
  palette: Uint8Array,
  count: number,
): Promise<ReportSample[]> {
  const out: ReportSample[] = [];
  model.eval();
  let i = 0;
  for await (
    const b of data.batches({ batchSize: 1, shuffle: false, train: false, device, workers: 0 })
  ) {
    if (i++ >= count) {
      b.images.dispose();
      b.masks.dispose();
      break;
    }
    const raw = await data.read(i - 1);
    const pred = noGrad(() => tidy(() => argmax(model.forward(b.images).out, 1)));
    const p = Uint8Array.from(await pred.toArray() as Int32Array);
    const [h, w] = [b.images.shape[2], b.images.shape[3]];
    pred.dispose();
    b.images.dispose();
    b.masks.dispose();
    // Overlays on the resized image the model saw.
    const { resizeBilinear, resizeNearest } = await import("../data/transforms.ts");
    const img = resizeBilinear(raw.image, w, h);
    const gt = resizeNearest(raw.mask, w, h);
    out.push({
      id: raw.id,
      image: await encodeRgbPng(img),
      truth: await encodeRgbPng(overlay(img, gt, palette)),
      prediction: await encodeRgbPng(overlay(img, { width: w, height: h, data: p }, palette)),
    });
  }
  return out;
}

/** The `train` command: parses flags, trains, returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const parsed = parseFlags("train", args, TRAIN_FLAGS);
  if (parsed.help) {
    console.log(helpText("train", "deno task train [flags]", TRAIN_FLAGS));
    return 0;
  }
  if (parsed.positionals.length) {
    throw new UsageError(`train takes no positional arguments but got "${parsed.positionals[0]}"`);
  }
  const v = parsed.values as unknown as TrainSettings;
  if (v.resume) {
    // Only what was given explicitly overrides the run's saved settings.
    const given = Object.fromEntries([...parsed.given].map((k) => [k, parsed.values[k]]));
    await train({ resume: v.resume, ...given } as unknown as TrainSettings);
  } else await train(v);
  return 0;
}
