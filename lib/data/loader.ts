/**
 * Batching: shuffles an epoch, decodes and augments samples (in module workers, or inline), and
 * collates them into padded batches, in an order and with values that depend only on
 * `(seed, epoch)` and never on worker timing.
 *
 * @module
 */
import { type Tensor, tensor } from "../tensor.ts";
import type { Device } from "../tensor.ts";
import { IGNORE } from "./image.ts";
import { deriveSeed, Rng, sampleSeed } from "../random.ts";
import {
  type LoadedSample,
  loadSample,
  type SampleJob,
  type SampleRef,
  type SampleSpec,
} from "./sample.ts";
import { WorkerPool } from "./worker_pool.ts";

const LOADER_WORKER = new URL("./worker.ts", import.meta.url);

/** Options of host-side batching. */
export interface HostBatchOptions {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Shuffle the epoch's order (default: `train`). */
  shuffle?: boolean;
  /** Drop a last, incomplete batch (default false). */
  dropLast?: boolean;
  /** Seed of shuffling and augmentation (default: the dataset's `seed` option, else 0). */
  seed?: number;
  /** Training augmentation (true) or eval preprocessing (false); default from the dataset. */
  train?: boolean;
  /** Epoch number, which picks the shuffle and augmentation (default: calls so far). */
  epoch?: number;
  /** Batches of the epoch to skip, to resume exactly where a run stopped (default 0). */
  startBatch?: number;
  /** Decoding workers; 0 decodes on the calling thread (default min(4, cores - 1), at least 1). */
  workers?: number;
  /** Batches decoded ahead of the consumer (default 2). */
  prefetch?: number;
  /**
   * Data parallelism: this process's rank among `ranks` (default 0 of 1). Each step then takes
   * a global batch of `batchSize * ranks` consecutive samples of the epoch's order, and rank `r`
   * gets its samples `r * batchSize` to `r * batchSize + batchSize - 1`, augmented with the seeds
   * one process would use; `startBatch` counts global batches. Needs `dropLast` when ranks > 1.
   */
  rank?: number;
  /** Processes sharing each global batch (default 1). */
  ranks?: number;
}

/** Options of {@linkcode batches}: host options plus the device receiving the tensors. */
export interface BatchOptions extends HostBatchOptions {
  /** Where the batch tensors are created. */
  device: Device;
}

/** A batch in host memory. */
export interface HostBatch {
  /** Normalised images, `[N, 3, H, W]`; padding is 0. */
  images: Float32Array;
  /** Class ids, `[N, H, W]`; padding is 255. */
  masks: Int32Array;
  /** `[N, H, W]`. */
  shape: [number, number, number];
  /** The samples' names. */
  ids: string[];
  /** The samples' indices in the dataset (what their random draws are seeded by). */
  indices: number[];
}

/** A batch on a device. */
export interface Batch {
  /** Normalised images, `[N, 3, H, W]` (f32). */
  images: Tensor;
  /** Class ids, `[N, H, W]` (i32), 255 = ignore. */
  masks: Tensor;
  /** The samples' names. */
  ids: string[];
  /** The masks in host memory, `[N, H, W]` (the values of `masks`). */
  hostMasks: Int32Array;
  /** The samples' indices in the dataset (what their random draws are seeded by). */
  indices: number[];
}

/** What the loader needs from a dataset. */
export interface LoaderSource {
  /** The samples. */
  readonly samples: readonly SampleRef[];
  /** Classes, colours and transform options. */
  readonly spec: SampleSpec;
}

/** The default number of workers: min(4, cores - 1), at least 1. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, (navigator.hardwareConcurrency ?? 2) - 1));
}

/**
 * The order of an epoch: `0..n-1`, shuffled by a generator seeded from `(seed, epoch)`.
 */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffle ? new Rng(deriveSeed(seed, epoch, 0x5eed)).shuffle(order) : order;
}

/**
 * Pads samples to the largest height and width and stacks them; `indices` are their indices in
 * the dataset (default 0, 1, ...).
 */
export function collate(
  samples: readonly LoadedSample[],
  indices: number[] = samples.map((_, i) => i),
): HostBatch {
  const n = samples.length;
  const h = Math.max(...samples.map((s) => s.height)), w = Math.max(...samples.map((s) => s.width));
  const images = new Float32Array(n * 3 * h * w), masks = new Int32Array(n * h * w).fill(IGNORE);
  samples.forEach((s, i) => {
    for (let y = 0; y < s.height; y++) {
      for (let c = 0; c < 3; c++) {
        const src = (c * s.height + y) * s.width;
        images.set(s.image.subarray(src, src + s.width), ((i * 3 + c) * h + y) * w);
      }
      const m = s.mask.subarray(y * s.width, (y + 1) * s.width), o = (i * h + y) * w;
      for (let x = 0; x < s.width; x++) masks[o + x] = m[x];
    }
  });
  return { images, masks, shape: [n, h, w], ids: samples.map((s) => s.id), indices };
}

function positiveInt(name: string, v: number, min: number): number {
  if (!(Number.isInteger(v) && v >= min)) {
    throw new RangeError(`Expected ${name} to be an integer >= ${min} but found ${v}`);
  }
  return v;
}

/** This rank's share of the epoch: batch count and the positions of batch `g`. */
function rankSlices(
  length: number,
  options: { batchSize: number; rank: number; ranks: number; dropLast: boolean },
) {
  const { batchSize, rank, ranks, dropLast } = options;
  if (!(Number.isInteger(rank) && rank >= 0 && rank < ranks)) {
    throw new RangeError(`Expected rank in 0..${ranks - 1} but found ${rank}`);
  }
  if (ranks > 1 && !dropLast) {
    throw new RangeError(`Splitting batches across ${ranks} ranks needs dropLast`);
  }
  const global = batchSize * ranks;
  const total = dropLast ? length - (length % global) : length;
  return {
    count: Math.ceil(total / global),
    /** Epoch positions `[from, to)` of this rank's part of global batch `g`. */
    slice: (g: number): [number, number] => {
      const from = g * global + rank * batchSize;
      return [Math.min(from, total), Math.min(from + batchSize, total)];
    },
  };
}

/**
 * Batches of an epoch in host memory. Sample `k` of the dataset is augmented in epoch `e` with
 * the seed `sampleSeed(seed, e, k, "augment")`, so results are identical with any number of
 * workers, from any `startBatch`, whatever batch the sample lands in, and (with `rank`/`ranks`)
 * whatever rank takes it.
 */
export async function* hostBatches(
  source: LoaderSource,
  options: HostBatchOptions & { train: boolean; epoch: number },
): AsyncGenerator<HostBatch> {
  const { train, epoch, seed = 0, dropLast = false, shuffle = train } = options;
  const batchSize = positiveInt("batchSize", options.batchSize ?? 1, 1);
  const prefetch = positiveInt("prefetch", options.prefetch ?? 2, 0);
  const workers = positiveInt("workers", options.workers ?? defaultWorkers(), 0);
  const startBatch = positiveInt("startBatch", options.startBatch ?? 0, 0);
  const ranks = positiveInt("ranks", options.ranks ?? 1, 1);
  const order = epochOrder(source.samples.length, seed, epoch, shuffle);
  const share = rankSlices(order.length, { batchSize, rank: options.rank ?? 0, ranks, dropLast });
  const pool = workers > 0
    ? new WorkerPool<SampleJob, LoadedSample>(workers, {
      url: LOADER_WORKER,
      what: "Loader worker",
    })
    : null;
  const pending: Promise<LoadedSample>[][] = [];
  let next = Math.min(startBatch, share.count);
  const submit = (until: number) => {
    for (; next < Math.min(until, share.count); next++) {
      const [from, to] = share.slice(next);
      pending.push(Array.from({ length: to - from }, (_, j) => {
        const job = {
          ref: source.samples[order[from + j]],
          spec: source.spec,
          train,
          seed: sampleSeed(seed, epoch, order[from + j], "augment"),
        };
        const p = pool ? pool.run(job) : loadSample(job);
        p.catch(() => {}); // awaited in order below; avoids unhandled rejections meanwhile
        return p;
      }));
    }
  };
  try {
    for (let g = next; g < share.count; g++) {
      submit(g + prefetch + 1);
      const [from, to] = share.slice(g);
      yield collate(await Promise.all(pending.shift()!), order.slice(from, to));
    }
  } finally {
    pool?.close();
  }
}

/** {@linkcode hostBatches} as tensors on `options.device`. */
export async function* batches(
  source: LoaderSource,
  options: BatchOptions & { train: boolean; epoch: number },
): AsyncGenerator<Batch> {
  for await (const b of hostBatches(source, options)) {
    const [n, h, w] = b.shape;
    yield {
      images: tensor(b.images, [n, 3, h, w], options.device),
      masks: tensor(b.masks, [n, h, w], options.device),
      ids: b.ids,
      hostMasks: b.masks,
      indices: b.indices,
    };
  }
}
