/**
 * The optimizer of a run: SGD with its parameter groups (the aux head at `--aux-lr-mult`), the
 * learning-rate schedule, and the loss scaler of mixed precision.
 *
 * @module
 */
import type { Device } from "../../tensor.ts";
import type { FcnModel } from "../../models/types.ts";
import { SGD } from "../../optim/sgd.ts";
import { GradScaler } from "../../optim/grad_scaler.ts";
import { polySchedule, type Schedule, stepSchedule } from "../../optim/schedules.ts";
import type { RunSettings } from "./settings.ts";
import type { Log, Optimization } from "./types.ts";

/** Options of {@linkcode buildOptimizer}. */
export interface BuildOptimizerOptions {
  device: Device;
  /** Steps per epoch, which the schedules count in. */
  itersPerEpoch: number;
  log: Log;
}

/** The lr schedule of the settings: poly with linear warmup, or step decay. */
function schedule(s: RunSettings, itersPerEpoch: number): Schedule {
  if (s.schedule === "step") {
    return stepSchedule({ itersPerEpoch, stepSize: s.stepSize, gamma: s.gamma });
  }
  return polySchedule({
    totalIters: itersPerEpoch * s.epochs,
    warmupIters: Math.round(s.warmupEpochs * itersPerEpoch),
  });
}

/**
 * SGD over the model's parameters (main ones first, then the aux head's in a group of its own),
 * the schedule, and a {@linkcode GradScaler} when `--amp` is on and the device has f16.
 */
export function buildOptimizer(
  model: FcnModel,
  s: RunSettings,
  o: BuildOptimizerOptions,
): Optimization {
  const isAux = ([k]: [string, unknown]) => k.startsWith("aux_classifier.");
  const named = model.namedParameters();
  const main = named.filter((p) => !isAux(p)), aux = named.filter(isAux);
  const params = (ps: typeof named) => ps.map(([, t]) => t);
  const sgd = new SGD(
    aux.length
      ? [{ params: params(main) }, { params: params(aux), lrMultiplier: s.auxLrMult }]
      : [{ params: params(main) }],
    { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay },
  );
  let amp = s.amp === true;
  if (amp && !o.device.backend.supportsF16) {
    o.log(`--amp: ${o.device.description} has no shader-f16; training in f32`);
    amp = false;
  }
  if (amp) o.log("Mixed precision: f16 convolutions with f32 accumulation, dynamic loss scaling");
  return {
    sgd,
    paramNames: [...main, ...aux].map(([k]) => k),
    scaler: amp ? new GradScaler() : null,
    schedule: schedule(s, o.itersPerEpoch),
  };
}
