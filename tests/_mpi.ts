/**
 * Running commands under `mpirun -np N` (Open MPI) from a test: whether mpirun exists, a failing
 * test in its place under CI=true, and a run with a hard timeout that reports the exit code,
 * output and seconds taken.
 */

/** Whether `mpirun --version` runs. */
export function hasMpirun(): boolean {
  try {
    return new Deno.Command("mpirun", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether the MPI tests run here; under CI=true a missing mpirun is a failing test. */
export function mpiAvailable(): boolean {
  const found = hasMpirun();
  if (!found && Deno.env.get("CI") === "true") {
    Deno.test("mpirun is installed (CI=true)", () => {
      throw new Error("CI=true but mpirun is missing: .ci/run installs openmpi-bin");
    });
  }
  return found;
}

/** What a run under mpirun gave. */
export interface MpiRun {
  code: number;
  out: string;
  err: string;
  /** Wall-clock seconds, mpirun's start to its end. */
  s: number;
}

/** Options of {@linkcode mpirun}. */
export interface MpirunOptions {
  /** Ranks (default 2). */
  np?: number;
  /** Working directory of the ranks. */
  cwd?: string;
  /** Seconds before `timeout` kills mpirun (exit 124; default 240). */
  timeout?: number;
}

/** Runs `deno run -A script ...args` on `np` ranks. */
export async function mpirun(
  script: string,
  args: string[],
  options: MpirunOptions = {},
): Promise<MpiRun> {
  const t0 = performance.now();
  const res = await new Deno.Command("timeout", {
    args: [
      String(options.timeout ?? 240),
      "mpirun",
      "--allow-run-as-root",
      "--oversubscribe",
      "-np",
      String(options.np ?? 2),
      Deno.execPath(),
      "run",
      "-A",
      script,
      ...args,
    ],
    cwd: options.cwd,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: res.code,
    out: dec.decode(res.stdout),
    err: dec.decode(res.stderr),
    s: (performance.now() - t0) / 1000,
  };
}
