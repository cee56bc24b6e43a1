/**
 * Data-parallel training under `mpirun` (or `srun --mpi`): what each step of a run does
 * differently when the job has several ranks. `--batch-size` is per rank; each step's global
 * batch of `ranks * batchSize` samples is split across ranks by the loader; the loss of each
 * rank's slice is divided by the global batch's count of labelled pixels, so the summed
 * gradients (one bucketed allreduce per step) are those of one process with the global batch;
 * batch norm uses the global batch's statistics; the loss scaler's overflow verdict is agreed;
 * validation is split across ranks and the confusion matrices summed; only rank 0 writes and
 * prints. With one process all of this is the identity and libmpi is never loaded.
 *
 * @module
 */
import type { Backend, HostArray, Storage } from "../../device/backend.ts";
import type { Communicator } from "../../dist/communicator.ts";
import type { Module } from "../../nn/module.ts";
import { BatchNorm2d } from "../../nn/layers.ts";
import type { Evaluation } from "../evaluate.ts";
import type { Log, Trainer } from "./types.ts";

/** Whether the run has more than one rank. */
export function isParallel(comm: Communicator): boolean {
  return comm.size > 1;
}

/** `log` on rank 0; a no-op on the other ranks. */
export function rankZeroLog(comm: Communicator, log: Log): Log {
  return comm.rank === 0 ? log : () => {};
}

/** The BatchNorm2d layers of a module tree. */
function batchNorms(m: Module): BatchNorm2d[] {
  const own = m instanceof BatchNorm2d ? [m] : [];
  return [...own, ...m.children().flatMap(([, c]) => batchNorms(c))];
}

/**
 * Makes a run data-parallel when its job has several ranks: batch norm layers take the global
 * batch's statistics (where the backend reads at once: cpu, blas; on WebGPU each rank keeps its
 * own, and a line says so), and every step's gradients are summed across ranks before the
 * optimizer step. Returns the seconds spent summing gradients so far (a reader).
 */
export function joinRanks(t: Trainer): () => number {
  const { comm } = t;
  if (!isParallel(comm)) return () => 0;
  const norms = batchNorms(t.model);
  if (norms.length && t.device.backend.readSync) { for (const n of norms) n.sync = comm; }
  else if (norms.length) {
    t.log(
      `Batch norm: each rank normalises with its own ${t.settings.batchSize} images' statistics ` +
        `(${t.device.kind} cannot read them back in the middle of a pass to share them)`,
    );
  }
  t.log(
    `Data parallel: ${comm.size} ranks (${comm.kind}) x ${t.settings.batchSize} images = ` +
      `global batch ${comm.size * t.settings.batchSize}`,
  );
  let seconds = 0;
  t.afterBackward = async () => {
    const t0 = performance.now();
    await allreduceGradients(t);
    seconds += (performance.now() - t0) / 1000;
  };
  return () => seconds;
}

/** A storage's host copy: at once where the backend can, else after a device read. */
async function hostCopy(b: Backend, s: Storage): Promise<HostArray> {
  return b.readSync ? b.readSync(s) : await b.read(s);
}

/**
 * Sums every parameter gradient across ranks, in buckets (one allreduce per 25 MB, not one per
 * tensor), and puts the sums back in place.
 */
export async function allreduceGradients(t: Trainer): Promise<void> {
  const params = t.opt.sgd.params.filter((p) => p.grad !== null);
  const b = t.device.backend;
  const host = await Promise.all(params.map((p) => hostCopy(b, p.grad!.storage)));
  t.comm.allreduceBuckets(host as Float32Array[]);
  params.forEach((p, i) => p.grad!.assign(b.adopt?.(host[i]) ?? b.upload(host[i])));
}

/**
 * The global batch's count of labelled pixels (those whose mask is not `ignoreIndex`; each
 * counted as its class's weight when `weights` are given, as PyTorch's weighted mean does),
 * summed over ranks from each rank's host masks: what every rank divides its summed loss by.
 */
export function globalLabelled(
  comm: Communicator,
  masks: Int32Array,
  weights?: readonly number[] | null,
  ignoreIndex = 255,
): number {
  let n = 0;
  if (weights) { for (const v of masks) if (v !== ignoreIndex) n += weights[v]; }
  else for (const v of masks) if (v !== ignoreIndex) n++;
  const a = Float64Array.of(n);
  comm.allreduceSum(a);
  return a[0];
}

/** Sums per-step loss values across ranks (each rank's is its share of the global loss). */
export function sumAcrossRanks(comm: Communicator, values: number[]): number[] {
  if (!isParallel(comm) || values.length === 0) return values;
  const a = Float64Array.from(values);
  comm.allreduceSum(a);
  return [...a];
}

/** Whether every rank's gradients were finite (the loss scaler steps only then). */
export function allFinite(comm: Communicator, finite: boolean): boolean {
  const flag = Int32Array.of(finite ? 0 : 1);
  comm.allreduceMax(flag);
  return flag[0] === 0;
}

/**
 * The validation of the whole split from each rank's share: confusion matrices, summed losses
 * and pixel counts added across ranks. Every rank gets the total.
 */
export function sumEvaluations(comm: Communicator, ev: Evaluation): Evaluation {
  if (!isParallel(comm)) return ev;
  const m = ev.matrix.matrix;
  const count = m.reduce((a, v) => a + v, 0);
  const a = new Float64Array(m.length + 2);
  a.set(m);
  a[m.length] = count > 0 ? ev.loss * count : 0;
  a[m.length + 1] = count;
  comm.allreduceSum(a);
  m.set(a.subarray(0, m.length));
  const total = a[m.length + 1];
  return { loss: total > 0 ? a[m.length] / total : NaN, matrix: ev.matrix };
}
