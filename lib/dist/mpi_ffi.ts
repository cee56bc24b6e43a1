/**
 * libmpi through `Deno.dlopen` (needs `--allow-ffi`): finds the library, loads it with
 * `RTLD_NOW | RTLD_GLOBAL` (through libc's `dlopen`, so that Open MPI's plugins see its
 * symbols) and resolves the handles. Open MPI's handles (`MPI_COMM_WORLD`, `MPI_FLOAT`,
 * `MPI_SUM`, ...) are the addresses of its globals (`ompi_mpi_comm_world`, `ompi_mpi_float`,
 * `ompi_mpi_op_sum`), found with libc's `dlsym`; MPICH's are plain integers from its `mpi.h`.
 *
 * @module
 */
import { nativeOpen, nativeSymbol, RTLD } from "../device/native.ts";
import type { MpiFlavor } from "./env.ts";

/** The element types the collectives take. */
export type MpiArray = Float32Array | Float64Array | Int32Array;

/** The reduction operations used here. */
export type MpiOp = "sum" | "max";

/** The raw calls, with handles already resolved; each throws on a non-zero MPI return code. */
export interface MpiLibrary {
  /** Path the library was opened from. */
  readonly path: string;
  /** Which implementation it is. */
  readonly flavor: MpiFlavor;
  /** `MPI_Init(NULL, NULL)`. */
  init(): void;
  /** `MPI_Comm_rank` and `MPI_Comm_size` of `MPI_COMM_WORLD`. */
  world(): { rank: number; size: number };
  /** `MPI_Allreduce(MPI_IN_PLACE, a, a.length, type(a), op, MPI_COMM_WORLD)`. */
  allreduce(a: MpiArray, op: MpiOp): void;
  /** `MPI_Bcast(a, a.length, type(a), root, MPI_COMM_WORLD)`. */
  bcast(a: MpiArray, root: number): void;
  /** `MPI_Barrier(MPI_COMM_WORLD)`. */
  barrier(): void;
  /** `MPI_Abort(MPI_COMM_WORLD, code)`: ends every rank of the job. */
  abort(code: number): void;
  /** `MPI_Finalize()`. */
  finalize(): void;
}

/** No libmpi could be opened; the message says what was tried and what to install. */
export class MpiNotFoundError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "MpiNotFoundError";
  }
}

/** Library paths tried in order on Linux (`FCN_MPI` aside): Open MPI's, then MPICH's. */
export function mpiCandidates(arch: typeof Deno.build.arch = Deno.build.arch): string[] {
  const dirs = [`/usr/lib/${arch}-linux-gnu`, "/usr/lib64", "/usr/lib", "/usr/local/lib"];
  const names = ["libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"];
  return [...names, ...names.flatMap((n) => dirs.map((d) => `${d}/${n}`))];
}

/** The calls' signatures; `H` is the FFI type of a handle ("pointer" or "i32"). */
function symbols<H extends "pointer" | "i32">(h: H) {
  return {
    MPI_Init: { parameters: ["pointer", "pointer"], result: "i32" },
    MPI_Comm_rank: { parameters: [h, "buffer"], result: "i32" },
    MPI_Comm_size: { parameters: [h, "buffer"], result: "i32" },
    // sendbuf (MPI_IN_PLACE), recvbuf, count, datatype, op, comm
    MPI_Allreduce: { parameters: ["pointer", "buffer", "i32", h, h, h], result: "i32" },
    MPI_Bcast: { parameters: ["buffer", "i32", h, "i32", h], result: "i32" },
    MPI_Barrier: { parameters: [h], result: "i32" },
    MPI_Abort: { parameters: [h, "i32"], result: "i32" },
    MPI_Finalize: { parameters: [], result: "i32" },
  } as const;
}

/** The handles of one implementation. */
interface Handles<T> {
  world: T;
  float: T;
  double: T;
  int: T;
  sum: T;
  max: T;
  inPlace: Deno.PointerValue;
}

/** MPICH's `mpi.h` values (also Intel MPI's and MVAPICH's, which share its ABI). */
const MPICH: Handles<number> = {
  world: 0x44000000,
  float: 0x4c00040a,
  double: 0x4c00080b,
  int: 0x4c000405,
  sum: 0x58000003,
  max: 0x58000001,
  inPlace: Deno.UnsafePointer.create(0xffffffffffffffffn), // (void *) -1
};

function openMpiHandles(handle: Deno.PointerObject, path: string): Handles<Deno.PointerValue> {
  const names = {
    world: "ompi_mpi_comm_world",
    float: "ompi_mpi_float",
    double: "ompi_mpi_double",
    int: "ompi_mpi_int",
    sum: "ompi_mpi_op_sum",
    max: "ompi_mpi_op_max",
  } as const;
  const out = { inPlace: Deno.UnsafePointer.create(1n) } as Handles<Deno.PointerValue>; // (void *) 1
  for (const [key, name] of Object.entries(names)) {
    const p = nativeSymbol(handle, name);
    if (p === null) throw new MpiNotFoundError(`${path} is Open MPI but has no symbol ${name}`);
    out[key as keyof typeof names] = p;
  }
  return out;
}

function check(call: string, rc: number): void {
  if (rc !== 0) throw new Error(`${call} returned MPI error code ${rc}`);
}

function bind<H extends "pointer" | "i32", T extends Deno.PointerValue | number>(
  path: string,
  flavor: MpiFlavor,
  h: H,
  handles: Handles<T>,
): MpiLibrary {
  const lib = Deno.dlopen(path, symbols(h));
  // deno-lint-ignore no-explicit-any
  const s = lib.symbols as any; // the handle type varies by flavor; the signatures above fix it
  const type = (a: MpiArray): T =>
    a instanceof Float32Array
      ? handles.float
      : a instanceof Float64Array
      ? handles.double
      : handles.int;
  const one = new Int32Array(1);
  const get = (fn: string): number => {
    check(fn, s[fn](handles.world, one));
    return one[0];
  };
  return {
    path,
    flavor,
    init: () => check("MPI_Init", s.MPI_Init(null, null)),
    world: () => ({ rank: get("MPI_Comm_rank"), size: get("MPI_Comm_size") }),
    allreduce: (a, op) =>
      check(
        "MPI_Allreduce",
        s.MPI_Allreduce(handles.inPlace, a, a.length, type(a), handles[op], handles.world),
      ),
    bcast: (a, root) => check("MPI_Bcast", s.MPI_Bcast(a, a.length, type(a), root, handles.world)),
    barrier: () => check("MPI_Barrier", s.MPI_Barrier(handles.world)),
    abort: (code) => void s.MPI_Abort(handles.world, code),
    finalize: () => check("MPI_Finalize", s.MPI_Finalize()),
  };
}

/**
 * Opens libmpi: `path`, else `FCN_MPI`, else the first of {@linkcode mpiCandidates} that
 * loads. Tells Open MPI from MPICH by the symbol `ompi_mpi_comm_world`.
 *
 * @throws MpiNotFoundError naming every path tried and what to install.
 */
export function loadMpi(path?: string): MpiLibrary {
  const env = Deno.env.get("FCN_MPI")?.trim();
  const tried = path ? [path] : env ? [env] : mpiCandidates();
  const problems: string[] = [];
  for (const p of tried) {
    const handle = nativeOpen(p, RTLD.now | RTLD.global);
    if (typeof handle === "string") {
      problems.push(handle);
      continue;
    }
    if (nativeSymbol(handle, "ompi_mpi_comm_world") !== null) {
      return bind(p, "openmpi", "pointer", openMpiHandles(handle, p));
    }
    if (nativeSymbol(handle, "MPI_Init") === null) {
      problems.push(`${p}: no MPI_Init`);
      continue;
    }
    return bind(p, "mpich", "i32", MPICH);
  }
  throw new MpiNotFoundError(
    `Could not open libmpi (${path ? "path" : env ? "FCN_MPI" : "tried the usual names"}): ` +
      `${problems.slice(0, 3).join("; ")}. Install Open MPI (apt-get install openmpi-bin) or ` +
      `MPICH, or point FCN_MPI=/path/to/libmpi.so at yours`,
  );
}
