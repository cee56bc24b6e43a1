/**
 * The MPI communicator under `mpirun -np 2` (Open MPI): exact sums, bucketing over arrays of odd
 * sizes, and a rank that throws (or exits non-zero) ending the job non-zero within a minute. Skipped where mpirun is
 * missing, except under CI=true, where that is a failure.
 */
import { bucketed } from "../lib/dist/communicator.ts";
import { assert, assertEquals } from "./assert.ts";
import { mpiAvailable, mpirun } from "./_mpi.ts";

const rankScript = new URL("./_dist_rank.ts", import.meta.url).pathname;

const mpirunFound = mpiAvailable();

const run2 = (mode: string) => mpirun(rankScript, [mode], { timeout: 90 });

Deno.test({
  name: "mpi: 2 ranks allreduce exact sums, bucketed over odd-sized arrays",
  ignore: !mpirunFound,
  async fn() {
    const r = await run2("allreduce");
    assertEquals(r.code, 0, r.err);
    const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.map((l) => l.rank).sort(), [0, 1]);
    for (const l of lines) {
      assertEquals(l, {
        rank: l.rank,
        size: 2,
        kind: "openmpi",
        calls: 4, // 3576 f32 in buckets of 1000
        ok: true,
        f64: [1.5, 3e15],
        i32: [3, -3, 2 << 20],
        max: [1, 0],
        bcast: 42,
      });
    }
  },
});

Deno.test({
  name: "mpi: a rank that throws ends mpirun non-zero within a minute",
  ignore: !mpirunFound,
  async fn() {
    const r = await run2("throw");
    assert(r.code !== 0 && r.code !== 124, `mpirun exited ${r.code}:\n${r.err}`);
    assert(r.s < 60, `took ${r.s.toFixed(1)} s`);
    assert(r.err.includes("rank 1 fails on purpose"), r.err);
    assert(!r.out.includes("passed the barrier"), r.out);
  },
});

Deno.test({
  name: "mpi: a rank that exits non-zero (an error caught by the command) aborts the job",
  ignore: !mpirunFound,
  async fn() {
    const r = await run2("exit");
    assert(r.code !== 0 && r.code !== 124, `mpirun exited ${r.code}:\n${r.err}`);
    assert(r.s < 60, `took ${r.s.toFixed(1)} s`);
    assert(r.err.includes("rank 1: exiting with 3; calling MPI_Abort"), r.err);
    assert(!r.out.includes("passed the barrier"), r.out);
  },
});

Deno.test("bucketed: packs arrays in order, splits long ones, and writes the results back", () => {
  const arrays = [new Float32Array([1, 2, 3]), new Float32Array([4]), new Float32Array(5).fill(1)];
  const seen: number[][] = [];
  const calls = bucketed(arrays, (b) => {
    seen.push([...b]);
    for (let i = 0; i < b.length; i++) b[i] *= 10;
  }, { bucketBytes: 16 });
  assertEquals(calls, 3);
  assertEquals(seen, [[1, 2, 3, 4], [1, 1, 1, 1], [1]]);
  assertEquals(arrays.map((a) => [...a]), [[10, 20, 30], [40], [10, 10, 10, 10, 10]]);
});

Deno.test("bucketed: mixed types and a bucket smaller than one element are refused", () => {
  let msg = "";
  try {
    bucketed([new Float32Array(1), new Float64Array(1)], () => {});
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("array 1 is a Float64Array"), msg);
  try {
    bucketed([new Float64Array(1)], () => {}, { bucketBytes: 4 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("bucketBytes >= 8"), msg);
});
