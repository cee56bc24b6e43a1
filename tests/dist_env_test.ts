/** Launcher detection (Open MPI, MPICH/PMI) and `--shard` parsing from each job array's variables. */
import { launcherOf } from "../lib/dist/env.ts";
import { parseShard, shardOf } from "../lib/dist/shard.ts";
import { assertEquals, assertThrows } from "./assert.ts";

const envOf = (vars: Record<string, string>) => (k: string) => vars[k];

Deno.test("launcherOf: Open MPI's, MPICH's and srun PMIx's variables, Open MPI first, none", () => {
  assertEquals(
    launcherOf(envOf({ OMPI_COMM_WORLD_RANK: "3", OMPI_COMM_WORLD_SIZE: "8" })),
    { flavor: "openmpi", rank: 3, size: 8 },
  );
  assertEquals(launcherOf(envOf({ PMI_RANK: "1", PMI_SIZE: "2" })), {
    flavor: "mpich",
    rank: 1,
    size: 2,
  });
  assertEquals(
    launcherOf(envOf({ OMPI_COMM_WORLD_RANK: "0", OMPI_COMM_WORLD_SIZE: "2", PMI_RANK: "5" }))
      ?.flavor,
    "openmpi",
  );
  assertEquals(launcherOf(envOf({ PMIX_RANK: "5", SLURM_NTASKS: "8", SLURM_PROCID: "5" })), {
    flavor: "pmix",
    rank: 5,
    size: 8,
  });
  assertEquals(launcherOf(envOf({ SLURM_NTASKS: "8" })), null); // a Slurm job, not an MPI step
  assertEquals(launcherOf(envOf({})), null);
});

Deno.test("launcherOf: half-set, non-integer and out-of-range variables are named", () => {
  assertThrows(() => launcherOf(envOf({ PMI_RANK: "0" })), "PMI_RANK is set but PMI_SIZE");
  assertThrows(
    () => launcherOf(envOf({ PMI_RANK: "x", PMI_SIZE: "2" })),
    'PMI_RANK to be an integer >= 0 but found "x"',
  );
  assertThrows(
    () => launcherOf(envOf({ OMPI_COMM_WORLD_RANK: "2", OMPI_COMM_WORLD_SIZE: "2" })),
    "below OMPI_COMM_WORLD_SIZE",
  );
});

Deno.test("parseShard: i/n and its errors", () => {
  assertEquals(parseShard("0/1"), { index: 0, count: 1, source: "--shard 0/1" });
  assertEquals(parseShard("3/4").index, 3);
  assertThrows(() => parseShard("4/4"), "index 4 is not below the count 4");
  assertThrows(() => parseShard("1/0"), "at least 1 shard");
  assertThrows(() => parseShard("1-4"), "expected i/n (e.g. 0/4, 0-based) or auto");
});

Deno.test("parseShard auto: Kubernetes Indexed Job", () => {
  const env = envOf({ JOB_COMPLETION_INDEX: "4" });
  assertEquals(parseShard("auto", { shards: 5, env }), {
    index: 4,
    count: 5,
    source: "JOB_COMPLETION_INDEX",
  });
  assertThrows(() => parseShard("auto", { env }), "no --shards");
  assertThrows(() => parseShard("auto", { shards: 4, env }), "not below the count 4");
});

Deno.test("parseShard auto: Slurm array (index = id - min), step 1 only", () => {
  const slurm = {
    SLURM_ARRAY_TASK_ID: "12",
    SLURM_ARRAY_TASK_MIN: "10",
    SLURM_ARRAY_TASK_MAX: "13",
    SLURM_ARRAY_TASK_COUNT: "4",
    SLURM_ARRAY_TASK_STEP: "1",
  };
  assertEquals(parseShard("auto", { env: envOf(slurm) }), {
    index: 2,
    count: 4,
    source: "Slurm array",
  });
  assertThrows(
    () => parseShard("auto", { env: envOf({ ...slurm, SLURM_ARRAY_TASK_STEP: "2" }) }),
    "SLURM_ARRAY_TASK_STEP is 2",
  );
  assertThrows(
    () => parseShard("auto", { env: envOf({ ...slurm, SLURM_ARRAY_TASK_MAX: "20" }) }),
    "has 4 tasks, not one per id",
  );
  assertThrows(() => parseShard("auto", { env: envOf({}) }), "pass --shard i/n");
});

Deno.test("shardOf: n shards take every item once, in sorted order", () => {
  const items = ["e", "b", "a", "d", "c", "g", "f"];
  const parts = [0, 1, 2].map((index) => shardOf(items, { index, count: 3, source: "" }));
  assertEquals(parts, [["a", "d", "g"], ["b", "e"], ["c", "f"]]);
  assertEquals(parts.flat().sort(), [...items].sort());
});
