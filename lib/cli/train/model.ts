/**
 * The model of a run: built from the settings (seeded initialisation), then, for a new run,
 * given ImageNet backbone weights and/or pretrained weights where they fit.
 *
 * @module
 */
import type { Device } from "../../tensor.ts";
import { createModel } from "../../models/create.ts";
import type { FcnModel } from "../../models/types.ts";
import { describe } from "../../nn/module.ts";
import { resolveWeights as fetchWeights } from "../../io/weights.ts";
import { loadPretrained, loadPretrainedBackbone } from "../../models/pretrained.ts";
import { readWeights } from "../common.ts";
import type { TrainSettings } from "./settings.ts";
import type { Log, TrainData } from "./types.ts";

/** Options of {@linkcode buildModel}. */
export interface BuildModelOptions {
  data: TrainData;
  device: Device;
  /** Load `--pretrained-backbone` / `--pretrained` (a new run; a resumed one has its own). */
  pretrained: boolean;
  log: Log;
}

/** Creates the model the settings describe and says its size. */
export async function buildModel(s: TrainSettings, o: BuildModelOptions): Promise<FcnModel> {
  const model = createModel(s.model, {
    numClasses: o.data.numClasses,
    backbone: s.backbone,
    width: s.width,
    headChannels: s.headChannels,
    seed: s.seed,
  }, o.device);
  o.log(
    `Model: ${s.model}${s.model.startsWith("fcn_resnet") ? "" : ` on ${s.backbone}`}, ` +
      `${(model.parameterCount() / 1e6).toFixed(3)}M parameters`,
  );
  if (o.pretrained) await loadInitialWeights(model, s, o.log);
  return model;
}

/**
 * `--pretrained-backbone` (torchvision ImageNet weights, mapped onto the backbone), then
 * `--pretrained` (a whole model; class layers of another class count are re-initialised).
 */
async function loadInitialWeights(model: FcnModel, s: TrainSettings, log: Log): Promise<void> {
  if (s.pretrainedBackbone) {
    const dict = await readWeights(await fetchWeights(s.pretrainedBackbone));
    log(loadPretrainedBackbone(model, dict, s.pretrainedBackbone).summary);
  }
  if (s.pretrained) {
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
}
