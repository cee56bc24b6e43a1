/**
 * Run by tests/dist_mpi_test.ts under `mpirun -np 2`: `allreduce` checks exact sums (bucketed
 * over arrays of odd sizes, f32/f64/i32, max, broadcast) and prints one JSON line per rank;
 * `throw` makes rank 1 throw while rank 0 waits in a collective; `exit` makes rank 1 exit with 3
 * (as a command that caught its error does).
 */
import { openCommunicator } from "../lib/dist/communicator.ts";

const comm = openCommunicator();
const mode = Deno.args[0];
if (mode === "throw" || mode === "exit") {
  if (comm.rank === 1 && mode === "exit") Deno.exit(3);
  if (comm.rank === 1) throw new Error("rank 1 fails on purpose");
  comm.barrier(); // rank 0 would wait here forever without MPI_Abort
  console.log("rank 0 passed the barrier (should not happen)");
} else {
  const r = comm.rank + 1;
  const sizes = [1, 7, 1000, 3, 2501, 64];
  const grads = sizes.map((n) => Float32Array.from({ length: n }, (_, i) => r * (i + 1)));
  const calls = comm.allreduceBuckets(grads, { bucketBytes: 4 * 1000 });
  const f64 = Float64Array.from([0.5 * r, 1e15 * r]);
  comm.allreduceSum(f64);
  const i32 = Int32Array.from([r, -r, 1 << 20]);
  comm.allreduceSum(i32);
  const max = Int32Array.from([comm.rank, -comm.rank]);
  comm.allreduceMax(max);
  const b = Float32Array.from([comm.rank === 0 ? 42 : -1]);
  comm.broadcast(b);
  comm.barrier();
  console.log(JSON.stringify({
    rank: comm.rank,
    size: comm.size,
    kind: comm.kind,
    calls,
    ok: grads.every((g) => g.every((v, i) => v === 3 * (i + 1))),
    f64: [...f64],
    i32: [...i32],
    max: [...max],
    bcast: b[0],
  }));
}
