/**
 * The collectives data-parallel training needs, behind one interface: {@linkcode openCommunicator}
 * returns the job's MPI communicator under `mpirun`/`srun` and a single-process one otherwise
 * (libmpi is never loaded then). Under MPI it is initialised once per process, finalised at exit,
 * and an uncaught error on any rank calls `MPI_Abort`, so the job ends non-zero instead of the
 * other ranks waiting forever in a collective.
 *
 * @module
 */
import { type EnvReader, launcherOf, type MpiFlavor } from "./env.ts";
import { loadMpi, type MpiArray, type MpiLibrary } from "./mpi_ffi.ts";

export type { MpiArray } from "./mpi_ffi.ts";

/** Options of {@linkcode Communicator.allreduceBuckets}. */
export interface BucketOptions {
  /** Bytes per bucket, one `MPI_Allreduce` each (default 25 MB, like PyTorch DDP). */
  bucketBytes?: number;
}

/** The ranks of one job and the collectives over them. All calls are collective. */
export interface Communicator {
  /** This process, 0..size-1. */
  readonly rank: number;
  /** Number of processes. */
  readonly size: number;
  /** "single" without MPI, else the MPI implementation. */
  readonly kind: "single" | MpiFlavor;
  /** Replaces `a` with the sum of every rank's `a` (same length on every rank). */
  allreduceSum(a: MpiArray): void;
  /** Replaces `a` with the element-wise maximum over ranks (e.g. AMP's overflow flag). */
  allreduceMax(a: MpiArray): void;
  /**
   * Sums many arrays of one type (gradients) across ranks: packs them in order into buckets of
   * `bucketBytes` and calls `MPI_Allreduce` once per bucket, not once per array. Returns the
   * number of allreduce calls made.
   */
  allreduceBuckets(arrays: readonly MpiArray[], options?: BucketOptions): number;
  /** Copies rank `root`'s `a` into every rank's `a` (default root 0). */
  broadcast(a: MpiArray, options?: { root?: number }): void;
  /** Waits until every rank reaches it. */
  barrier(): void;
  /** Ends the whole job with `code` (every rank). */
  abort(code?: number): never;
}

/** Default bucket size of {@linkcode Communicator.allreduceBuckets}. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

type Ctor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;

/** Packs `arrays` into buckets, reduces each with `reduce`, and unpacks; returns the calls. */
export function bucketed(
  arrays: readonly MpiArray[],
  reduce: (bucket: MpiArray) => void,
  options: BucketOptions = {},
): number {
  if (arrays.length === 0) return 0;
  const ctor = arrays[0].constructor as Ctor;
  for (const [i, a] of arrays.entries()) {
    if (a.constructor !== ctor) {
      throw new TypeError(
        `allreduceBuckets: array ${i} is a ${a.constructor.name} but array 0 a ${ctor.name}; ` +
          `pass arrays of one type per call`,
      );
    }
  }
  const bytes = options.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  const cap = Math.floor(bytes / ctor.BYTES_PER_ELEMENT);
  if (!(cap >= 1)) {
    throw new RangeError(`Expected bucketBytes >= ${ctor.BYTES_PER_ELEMENT} but found ${bytes}`);
  }
  const total = arrays.reduce((n, a) => n + a.length, 0);
  const bucket = new ctor(Math.min(cap, total));
  // Segments of the current bucket: array index, offset in the array, length.
  let segs: [number, number, number][] = [];
  let fill = 0, calls = 0;
  const flush = () => {
    const view = bucket.subarray(0, fill);
    reduce(view);
    calls++;
    let at = 0;
    for (const [i, off, len] of segs) {
      arrays[i].set(view.subarray(at, at + len), off);
      at += len;
    }
    segs = [];
    fill = 0;
  };
  for (const [i, a] of arrays.entries()) {
    let off = 0;
    while (off < a.length) {
      const len = Math.min(a.length - off, bucket.length - fill);
      bucket.set(a.subarray(off, off + len), fill);
      segs.push([i, off, len]);
      fill += len;
      off += len;
      if (fill === bucket.length) flush();
    }
  }
  if (fill > 0) flush();
  return calls;
}

/** The communicator of a process that runs alone: every collective is the identity. */
export class SingleProcess implements Communicator {
  /** Always 0. */
  readonly rank = 0;
  /** Always 1. */
  readonly size = 1;
  /** Always "single". */
  readonly kind = "single" as const;
  /** Leaves `a` as it is (the sum over one rank). */
  allreduceSum(_a: MpiArray): void {}
  /** Leaves `a` as it is. */
  allreduceMax(_a: MpiArray): void {}
  /** Leaves the arrays as they are; returns 0 (no calls). */
  allreduceBuckets(_arrays: readonly MpiArray[], _options?: BucketOptions): number {
    return 0;
  }
  /** Leaves `a` as it is. */
  broadcast(_a: MpiArray, _options?: { root?: number }): void {}
  /** Returns at once. */
  barrier(): void {}
  /** Exits the process with `code` (default 1). */
  abort(code = 1): never {
    Deno.exit(code);
  }
}

class MpiCommunicator implements Communicator {
  readonly rank: number;
  readonly size: number;
  readonly kind: MpiFlavor;
  readonly #mpi: MpiLibrary;

  constructor(mpi: MpiLibrary) {
    this.#mpi = mpi;
    this.kind = mpi.flavor;
    ({ rank: this.rank, size: this.size } = mpi.world());
  }
  allreduceSum(a: MpiArray): void {
    this.#mpi.allreduce(a, "sum");
  }
  allreduceMax(a: MpiArray): void {
    this.#mpi.allreduce(a, "max");
  }
  allreduceBuckets(arrays: readonly MpiArray[], options?: BucketOptions): number {
    return bucketed(arrays, (b) => this.#mpi.allreduce(b, "sum"), options);
  }
  broadcast(a: MpiArray, options: { root?: number } = {}): void {
    const root = options.root ?? 0;
    if (!(Number.isInteger(root) && root >= 0 && root < this.size)) {
      throw new RangeError(`Expected broadcast root in 0..${this.size - 1} but found ${root}`);
    }
    this.#mpi.bcast(a, root);
  }
  barrier(): void {
    this.#mpi.barrier();
  }
  abort(code = 1): never {
    this.#mpi.abort(code);
    Deno.exit(code); // MPI_Abort does not return; this is for the type checker
  }
}

let world: Communicator | null = null;

/** Options of {@linkcode openCommunicator}. */
export interface OpenCommunicatorOptions {
  /** The environment to read the launcher from (default `Deno.env.get`). */
  env?: EnvReader;
  /** libmpi to open (default `FCN_MPI`, else the usual names). */
  path?: string;
}

function installExitHooks(comm: Communicator, mpi: MpiLibrary): void {
  let done = false;
  const fail = (what: string, err: unknown) => {
    if (done) return;
    done = true;
    console.error(`rank ${comm.rank}/${comm.size}: ${what}:`, err);
    console.error(`rank ${comm.rank}: calling MPI_Abort so that the other ranks stop too`);
    mpi.abort(1);
  };
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fail("uncaught error", (e as ErrorEvent).error);
  });
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fail("unhandled rejection", e.reason);
  });
  globalThis.addEventListener("unload", () => {
    if (done) return;
    done = true;
    // A rank that exits non-zero (a command that caught its error) must not leave the others
    // waiting in a collective: MPI_Abort ends them all; a clean exit finalises.
    if (Deno.exitCode !== 0) {
      console.error(`rank ${comm.rank}: exiting with ${Deno.exitCode}; calling MPI_Abort`);
      mpi.abort(Deno.exitCode);
    } else mpi.finalize();
  });
}

/**
 * The job's communicator, made once per process: under an MPI launcher with more than one
 * rank, libmpi is loaded and `MPI_Init` called (with `MPI_Finalize` at exit and `MPI_Abort` on
 * an uncaught error); otherwise a {@linkcode SingleProcess}.
 *
 * @example Without mpirun: one rank, sums are the identity
 * ```ts
 * import { openCommunicator } from "./communicator.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const comm = openCommunicator({ env: () => undefined });
 * const grads = [new Float32Array([1, 2]), new Float32Array([3])];
 * comm.allreduceBuckets(grads);
 * assertEquals([comm.rank, comm.size, grads[1][0]], [0, 1, 3]);
 * ```
 */
export function openCommunicator(options: OpenCommunicatorOptions = {}): Communicator {
  if (world) return world;
  const launch = launcherOf(options.env);
  if (launch === null || launch.size === 1) return world = new SingleProcess();
  const mpi = loadMpi(options.path);
  mpi.init();
  const comm = new MpiCommunicator(mpi);
  installExitHooks(comm, mpi);
  if (comm.rank !== launch.rank || comm.size !== launch.size) {
    console.error(
      `MPI says rank ${comm.rank} of ${comm.size} but the environment (${launch.flavor}) says ` +
        `${launch.rank} of ${launch.size}: is ${mpi.path} the MPI that started this job?`,
    );
    comm.abort(1);
  }
  return world = comm;
}
