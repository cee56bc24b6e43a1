/**
 * A pool of module workers running {@linkcode loadSample} jobs: each idle worker takes the next
 * queued job, so faster workers do more, and results come back through per-job promises.
 *
 * @module
 */
import type { LoadedSample, SampleJob } from "./sample.ts";

interface Pending {
  id: number;
  job: SampleJob;
  resolve: (s: LoadedSample) => void;
  reject: (e: Error) => void;
}

/** Workers decoding and augmenting samples off the main thread. */
export class WorkerPool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: Pending[] = [];
  #running = new Map<Worker, Pending>();
  #nextId = 0;
  #closed = false;

  /** Starts `size` workers (at least 1). */
  constructor(size: number) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (e) => this.#done(w, e.data);
      w.onerror = (e) => {
        e.preventDefault();
        this.#fail(w, new Error(`Loader worker failed: ${e.message}`));
      };
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Number of workers. */
  get size(): number {
    return this.#workers.length;
  }

  /** Queues a job; the promise settles with its sample or its error. */
  run(job: SampleJob): Promise<LoadedSample> {
    if (this.#closed) return Promise.reject(new Error("The worker pool was closed"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject });
      this.#pump();
    });
  }

  /** Stops every worker; queued and running jobs never settle. */
  close(): void {
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    this.#idle = [];
    this.#queue = [];
    this.#running.clear();
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop()!, p = this.#queue.shift()!;
      this.#running.set(w, p);
      w.postMessage({ id: p.id, job: p.job });
    }
  }

  #done(w: Worker, msg: { id: number; sample?: LoadedSample; error?: string }): void {
    const p = this.#running.get(w);
    if (p === undefined || p.id !== msg.id) return;
    this.#running.delete(w);
    this.#idle.push(w);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.sample!);
    this.#pump();
  }

  #fail(w: Worker, err: Error): void {
    this.#running.get(w)?.reject(err);
    this.#running.delete(w);
    // A worker that crashed is not reused; when none is left, everything queued fails.
    this.#workers = this.#workers.filter((x) => x !== w);
    w.terminate();
    if (this.#workers.length === 0) {
      for (const p of this.#queue.splice(0)) p.reject(err);
    }
  }
}
