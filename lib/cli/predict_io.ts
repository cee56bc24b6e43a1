/**
 * `predict`'s input and output around the model: the next images are decoded, and finished
 * predictions encoded and written, in image workers while the main thread runs the forward
 * passes; with `workers: 0` all of it runs inline, one step after the other.
 *
 * Memory stays bounded: at most `ahead` images are decoded (or decoding) beyond the one the
 * caller holds, and at most `ahead` predictions wait to be written. Log lines come out in input
 * order, each once its files are written, so a run prints the same lines in the same order with
 * any number of workers; the files are the same bytes (one function writes them, see
 * `image_jobs.ts`). When the workers cannot run (e.g. their module cannot be fetched, as when
 * `mod.ts` runs from a URL offline), the work goes on inline, with one line on stderr saying so.
 *
 * @module
 */
import {
  type ImageJob,
  type ImageJobResult,
  runImageJob,
  type WritePredictionJob,
} from "../data/image_jobs.ts";
import type { RgbImage } from "../data/image.ts";
import { WorkerCrashError, WorkerPool } from "../data/worker_pool.ts";

const IMAGE_WORKER = new URL("../data/image_worker.ts", import.meta.url);

/** An input, decoded or with the error that stopped it. */
export type DecodedInput = { path: string; image: RgbImage } | { path: string; error: Error };

/** Options of {@linkcode PredictIo}. */
export interface PredictIoOptions {
  /** Image workers; 0 decodes and writes inline. */
  workers: number;
  /** Images decoded ahead, and predictions waiting to be written, at most (default 2 per worker). */
  ahead?: number;
  /** The worker module (default `lib/data/image_worker.ts`). */
  url?: URL;
}

/**
 * Decoding ahead and writing behind, in workers or inline.
 *
 * @example
 * ```ts
 * import { PredictIo } from "./predict_io.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const io = new PredictIo({ workers: 0 });
 * const got = [];
 * for await (const d of io.decode(["no/such.png"])) got.push("error" in d);
 * io.close();
 * assertEquals(got, [true]);
 * ```
 */
export class PredictIo {
  /** The workers that take jobs; null when inline, or once they stopped. */
  #pool: WorkerPool<ImageJob, ImageJobResult> | null;
  /** The workers to terminate in {@linkcode close}. */
  #started: WorkerPool<ImageJob, ImageJobResult> | null;
  #workers: number;
  #ahead: number;
  /** Settles after the last queued line was printed (never rejects). */
  #tail: Promise<void> = Promise.resolve();
  /** One promise per queued write, settling once its line was printed. */
  #writes: Promise<void>[] = [];
  #error: Error | null = null;

  constructor(options: PredictIoOptions) {
    const { workers } = options;
    if (!(Number.isInteger(workers) && workers >= 0)) {
      throw new RangeError(`Expected workers to be an integer >= 0 but found ${workers}`);
    }
    this.#pool = workers > 0
      ? new WorkerPool(workers, { url: options.url ?? IMAGE_WORKER, what: "Image worker" })
      : null;
    this.#started = this.#pool;
    this.#workers = workers;
    this.#ahead = workers > 0 ? Math.max(1, options.ahead ?? 2 * workers) : 0;
  }

  /** Image workers at work (0: inline, or they stopped). */
  get workers(): number {
    return this.#workers;
  }

  /**
   * Decodes `paths` in order, keeping up to `ahead` decodes in flight beyond the image yielded
   * last; an image that fails is yielded with its error.
   */
  async *decode(paths: readonly string[]): AsyncGenerator<DecodedInput> {
    const pending: Promise<RgbImage>[] = [];
    let next = 0;
    for (const path of paths) {
      for (; next < paths.length && pending.length <= this.#ahead; next++) {
        const file = paths[next];
        const p = this.#run({ kind: "decode", path: file }).then((r) => {
          if (r.kind !== "decode") throw new Error(`Expected a decoded image of ${file}`);
          return r.image;
        });
        p.catch(() => {}); // awaited in order below; avoids unhandled rejections meanwhile
        pending.push(p);
      }
      let item: DecodedInput;
      try {
        item = { path, image: await pending.shift()! };
      } catch (e) {
        item = { path, error: e instanceof Error ? e : new Error(String(e)) };
      }
      yield item;
    }
  }

  /**
   * Queues a prediction to be written, then `line` printed after every earlier line; waits
   * while `ahead` writes are pending (inline: until it is written).
   *
   * @throws Error of an earlier write that failed.
   */
  async write(job: WritePredictionJob, line: string): Promise<void> {
    if (this.#error) throw this.#error;
    const printed = this.#ordered(this.#run(job), () => console.log(line));
    this.#writes.push(printed);
    while (this.#writes.length > this.#ahead) await this.#writes.shift();
    if (this.#error) throw this.#error;
  }

  /** Prints `line` on stderr after every line queued before it. */
  async report(line: string): Promise<void> {
    await this.#ordered(Promise.resolve(), () => console.error(line));
  }

  /** Waits for every pending write and its line. @throws Error of a write that failed. */
  async flush(): Promise<void> {
    await this.#tail;
    this.#writes = [];
    if (this.#error) throw this.#error;
  }

  /** Stops the workers (pending work is dropped: {@linkcode flush} first to keep it). */
  close(): void {
    this.#started?.close();
    this.#started = this.#pool = null;
  }

  /** Runs `job` in a worker, or inline when there is none (any more). */
  async #run(job: ImageJob): Promise<ImageJobResult> {
    const pool = this.#pool;
    if (pool) {
      try {
        return await pool.run(job);
      } catch (e) {
        if (!(e instanceof WorkerCrashError)) throw e;
        if (this.#pool === pool) {
          console.error(`${e.message}; decoding and writing inline from here`);
          this.#pool = null; // jobs still on live workers finish there; close() stops them
          this.#workers = 0;
        }
      }
    }
    return await runImageJob(job);
  }

  /** Runs `print` once `work` and every earlier line are done; after a failure, prints nothing. */
  #ordered(work: Promise<unknown>, print: () => void): Promise<void> {
    work.catch(() => {}); // handled in order below; avoids an unhandled rejection meanwhile
    this.#tail = this.#tail.then(() => work).then(
      () => {
        if (!this.#error) print();
      },
      (e) => {
        this.#error ??= e instanceof Error ? e : new Error(String(e));
      },
    );
    return this.#tail;
  }
}
