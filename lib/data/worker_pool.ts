/**
 * A pool of module workers running one kind of job: each idle worker takes the next queued job,
 * so faster workers do more, and results come back through per-job promises. The loader runs
 * {@linkcode loadSample} jobs in `worker.ts`; `predict` runs image jobs in `image_worker.ts`.
 *
 * A worker module answers `{ id, job }` with `{ id, result }` or `{ id, error }`.
 *
 * @module
 */

/** A worker of the pool stopped (its module failed to load, or it crashed): not the job's fault. */
export class WorkerCrashError extends Error {
  override name = "WorkerCrashError";
}

interface Pending<J, R> {
  id: number;
  job: J;
  resolve: (r: R) => void;
  reject: (e: Error) => void;
}

/** What a pool's worker module posts back for the job `id`. */
export interface WorkerReply<R> {
  /** The job's id. */
  id: number;
  /** The job's result, when it succeeded. */
  result?: R;
  /** The job's error message, when it failed. */
  error?: string;
}

/** Workers running jobs `J` (module `url`) off the main thread, each answering an `R`. */
export class WorkerPool<J, R> {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: Pending<J, R>[] = [];
  #running = new Map<Worker, Pending<J, R>>();
  #nextId = 0;
  #closed = false;
  #what: string;

  /**
   * Starts `size` workers (at least 1) of the module `url`; `what` names them in errors
   * (e.g. "Loader worker").
   */
  constructor(size: number, options: { url: URL; what: string }) {
    this.#what = options.what;
    for (let i = 0; i < Math.max(1, size); i++) {
      const w = new Worker(options.url, { type: "module" });
      w.onmessage = (e) => this.#done(w, e.data);
      w.onerror = (e) => {
        e.preventDefault();
        this.#fail(w, new WorkerCrashError(`${this.#what} failed: ${e.message}`));
      };
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Number of workers. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Queues a job; the promise settles with its result or its error, a
   * {@linkcode WorkerCrashError} when the worker running it stopped or none is left.
   */
  run(job: J): Promise<R> {
    if (this.#closed) return Promise.reject(new Error("The worker pool was closed"));
    if (this.#workers.length === 0) {
      return Promise.reject(new WorkerCrashError(`Every ${this.#what.toLowerCase()} stopped`));
    }
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

  #done(w: Worker, msg: WorkerReply<R>): void {
    const p = this.#running.get(w);
    if (p === undefined || p.id !== msg.id) return;
    this.#running.delete(w);
    this.#idle.push(w);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve(msg.result!);
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
