/**
 * Where this process stands in a parallel job, read from the launcher's environment: Open MPI's
 * `mpirun` (`OMPI_COMM_WORLD_RANK/SIZE`), MPICH/Hydra and Slurm's PMI (`PMI_RANK/PMI_SIZE`),
 * Slurm's `srun --mpi=pmix` (`PMIX_RANK`, with the size from `SLURM_NTASKS`).
 * Reading the environment loads nothing: libmpi is opened only where {@linkcode launcherOf}
 * finds a launcher with more than one rank.
 *
 * @module
 */

/** The MPI implementation a launcher belongs to. */
export type MpiFlavor = "openmpi" | "mpich";

/** Whose variables were found: an implementation's launcher, or PMIx (any implementation). */
export type Launcher = MpiFlavor | "pmix";

/** What the launcher says about this process. */
export interface LaunchInfo {
  /** Which launcher's variables were found. */
  flavor: Launcher;
  /** This process's rank, 0..size-1. */
  rank: number;
  /** Number of processes in the job. */
  size: number;
}

/** An environment to read: `Deno.env.get` by default; a plain object in tests. */
export type EnvReader = (name: string) => string | undefined;

const denoEnv: EnvReader = (name) => Deno.env.get(name);

function integer(env: EnvReader, name: string, min: number): number {
  const text = env(name)!.trim();
  const n = Number(text);
  if (!(text !== "" && Number.isInteger(n) && n >= min)) {
    throw new RangeError(`Expected ${name} to be an integer >= ${min} but found "${text}"`);
  }
  return n;
}

function pair(env: EnvReader, flavor: Launcher, rank: string, size: string): LaunchInfo | null {
  if (env(rank) === undefined && env(size) === undefined) return null;
  if (env(rank) === undefined || env(size) === undefined) {
    throw new Error(
      `${env(rank) === undefined ? size : rank} is set but ${
        env(rank) === undefined ? rank : size
      } is not: start the job with mpirun/srun, or unset it to run as one process`,
    );
  }
  const info = { flavor, rank: integer(env, rank, 0), size: integer(env, size, 1) };
  if (info.rank >= info.size) {
    throw new RangeError(`Expected ${rank} below ${size} (${info.size}) but found ${info.rank}`);
  }
  return info;
}

/**
 * The launcher's rank and size, or null when the process was not started by an MPI launcher.
 * Open MPI's variables win over PMI's, and PMI's over PMIx's, where several are set.
 *
 * @example Reading Open MPI's and MPICH's variables
 * ```ts
 * import { launcherOf } from "./env.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const ompi = { OMPI_COMM_WORLD_RANK: "1", OMPI_COMM_WORLD_SIZE: "4" };
 * assertEquals(launcherOf((k) => ompi[k as keyof typeof ompi]), {
 *   flavor: "openmpi",
 *   rank: 1,
 *   size: 4,
 * });
 * const pmi = { PMI_RANK: "0", PMI_SIZE: "2" };
 * assertEquals(launcherOf((k) => pmi[k as keyof typeof pmi])?.flavor, "mpich");
 * assertEquals(launcherOf(() => undefined), null);
 * ```
 */
export function launcherOf(env: EnvReader = denoEnv): LaunchInfo | null {
  return pair(env, "openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE") ??
    pair(env, "mpich", "PMI_RANK", "PMI_SIZE") ??
    (env("PMIX_RANK") === undefined ? null : pair(env, "pmix", "PMIX_RANK", "SLURM_NTASKS"));
}
