/**
 * Finding and loading a native BLAS library through `Deno.dlopen` (needs `--allow-ffi`).
 *
 * The library is found without configuration: `FCN_BLAS=/path/to/lib` overrides; otherwise
 * OpenBLAS (`libopenblas.so.0`) in the loader's path and the distribution's usual folders, then
 * `libblas.so.3`, on Linux; Accelerate on macOS; `libopenblas.dll` on Windows. The thread count
 * follows `navigator.hardwareConcurrency` unless `FCN_BLAS_THREADS` is set.
 *
 * @module
 */

/**
 * Row-major single-precision GEMM, BLAS's argument order:
 * `C [m, n] = alpha * op(A) [m, k] @ op(B) [k, n] + beta * C`, where `A` is stored `[k, m]`
 * when `transA` (else `[m, k]`), `B` is stored `[n, k]` when `transB` (else `[k, n]`), and
 * `lda`, `ldb`, `ldc` are the row strides (elements) of the stored matrices. Subarrays pass
 * their offset: `c.subarray(off)` writes from element `off` on.
 */
export type Sgemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
) => void;

/** `y = alpha * x + y` over `n` contiguous elements (`cblas_saxpy`). */
export type Saxpy = (n: number, alpha: number, x: Float32Array, y: Float32Array) => void;

/** `y = alpha * x + beta * y` over `n` contiguous elements (OpenBLAS's `cblas_saxpby`). */
export type Saxpby = (
  n: number,
  alpha: number,
  x: Float32Array,
  beta: number,
  y: Float32Array,
) => void;

/** A loaded BLAS library. */
export interface BlasLibrary {
  /** The path (or name) it was opened from. */
  readonly path: string;
  /** For people: the library's name and version where it says, e.g. "OpenBLAS 0.3.21 SkylakeX". */
  readonly name: string;
  /** Threads it was told to use, or null where it offers no way to set them. */
  readonly threads: number | null;
  /** Whether GEMM goes through the Fortran `sgemm_` because the library has no `cblas_sgemm`. */
  readonly fortran: boolean;
  /** Row-major single-precision GEMM. */
  readonly sgemm: Sgemm;
  /** `cblas_saxpy` and OpenBLAS's `cblas_saxpby`, or null where the library lacks either. */
  readonly axpby: { saxpy: Saxpy; saxpby: Saxpby } | null;
}

/** Options of {@linkcode loadBlas}. */
export interface LoadBlasOptions {
  /** Library to open; default `FCN_BLAS`, else the first of {@linkcode blasCandidates} that opens. */
  path?: string;
  /** Threads; default `FCN_BLAS_THREADS`, else `navigator.hardwareConcurrency`. */
  threads?: number;
  /** Use the Fortran `sgemm_` even where `cblas_sgemm` exists (to test that path). */
  fortran?: boolean;
}

/** No BLAS library could be opened; the message says what to install and the alternatives. */
export class BlasNotFoundError extends Error {
  /** Builds the error from what was tried. */
  constructor(message: string) {
    super(message);
    this.name = "BlasNotFoundError";
  }
}

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32", // order (101 row-major)
      "i32", // transA (111 no, 112 yes)
      "i32", // transB
      "i32", // m
      "i32", // n
      "i32", // k
      "f32", // alpha
      "buffer", // a
      "i32", // lda
      "buffer", // b
      "i32", // ldb
      "f32", // beta
      "buffer", // c
      "i32", // ldc
    ],
    result: "void",
    optional: true,
  },
  sgemm_: {
    // Fortran: every argument by reference, column-major.
    parameters: [
      "buffer", // transa (char)
      "buffer", // transb (char)
      "buffer", // m
      "buffer", // n
      "buffer", // k
      "buffer", // alpha
      "buffer", // a
      "buffer", // lda
      "buffer", // b
      "buffer", // ldb
      "buffer", // beta
      "buffer", // c
      "buffer", // ldc
    ],
    result: "void",
    optional: true,
  },
  cblas_saxpy: {
    parameters: ["i32", "f32", "buffer", "i32", "buffer", "i32"], // n, alpha, x, incx, y, incy
    result: "void",
    optional: true,
  },
  cblas_saxpby: {
    // n, alpha, x, incx, beta, y, incy
    parameters: ["i32", "f32", "buffer", "i32", "f32", "buffer", "i32"],
    result: "void",
    optional: true,
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
} as const;

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>;

/** Libraries opened so far, by path: opened once per process and never closed. */
const opened = new Map<string, Lib>();

/** Library paths tried in order on `os` (FCN_BLAS aside). */
export function blasCandidates(
  os: typeof Deno.build.os = Deno.build.os,
  arch: typeof Deno.build.arch = Deno.build.arch,
): string[] {
  if (os === "darwin") {
    return [
      "/System/Library/Frameworks/Accelerate.framework/Accelerate",
      "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
      "/usr/local/opt/openblas/lib/libopenblas.dylib",
    ];
  }
  if (os === "windows") return ["libopenblas.dll", "openblas.dll"];
  const dirs = [
    `/usr/lib/${arch}-linux-gnu`,
    `/usr/lib/${arch}-linux-gnu/openblas-pthread`,
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
    "/opt/OpenBLAS/lib",
  ];
  const names = ["libopenblas.so.0", "libopenblas.so"];
  return [
    ...names,
    ...names.flatMap((n) => dirs.map((d) => `${d}/${n}`)),
    "libblas.so.3",
    ...dirs.map((d) => `${d}/libblas.so.3`),
  ];
}

/** Threads to ask for: `requested`, else FCN_BLAS_THREADS, else the hardware's. */
function threadCount(requested: number | undefined): number {
  const env = Deno.env.get("FCN_BLAS_THREADS")?.trim();
  const t = requested ?? (env ? Number(env) : navigator.hardwareConcurrency || 1);
  if (!Number.isInteger(t) || t < 1) {
    throw new RangeError(
      `Expected ${
        requested === undefined ? "FCN_BLAS_THREADS" : "threads"
      } to be an integer >= 1 but found "${requested ?? env}"`,
    );
  }
  return t;
}

/** Opens `path` once per process; throws where it has no single-precision GEMM. */
function open(path: string): Lib {
  const known = opened.get(path);
  if (known) return known;
  const lib = Deno.dlopen(path, SYMBOLS);
  if (lib.symbols.cblas_sgemm === null && lib.symbols.sgemm_ === null) {
    lib.close();
    throw new Error(`${path} has neither cblas_sgemm nor sgemm_`);
  }
  opened.set(path, lib);
  return lib;
}

/** What to install on this OS, and the other ways out. */
function howToFix(): string {
  const install = Deno.build.os === "darwin"
    ? "Accelerate ships with macOS; or `brew install openblas`"
    : Deno.build.os === "windows"
    ? "put libopenblas.dll (from the OpenBLAS releases) on PATH"
    : "install OpenBLAS: `apt-get install libopenblas0` on Debian/Ubuntu, " +
      "`dnf install openblas` on Fedora";
  return `${install}; or point FCN_BLAS at a BLAS library; or pick another backend with ` +
    `requestDevice({ backend: "webgpu" | "cpu" }) or FCN_BACKEND=webgpu|cpu.`;
}

/** Opens the first BLAS library that loads (see the module doc) or throws BlasNotFoundError. */
function openBlasLibrary(path?: string): { lib: Lib; path: string } {
  const explicit = path ?? Deno.env.get("FCN_BLAS")?.trim();
  if (explicit) {
    try {
      return { lib: open(explicit), path: explicit };
    } catch (e) {
      throw new BlasNotFoundError(
        `Cannot load the BLAS library ${path ? "" : "FCN_BLAS="}${explicit}: ${
          (e as Error).message
        }. To fix: ${howToFix()}`,
      );
    }
  }
  const tried: string[] = [];
  for (const candidate of blasCandidates()) {
    try {
      return { lib: open(candidate), path: candidate };
    } catch {
      tried.push(candidate);
    }
  }
  throw new BlasNotFoundError(
    `No BLAS library found (tried ${tried.join(", ")}). To fix: ${howToFix()}`,
  );
}

/** The library's name for people: OpenBLAS's own config string where it has one. */
function describe(lib: Lib, path: string): string {
  const config = lib.symbols.openblas_get_config?.();
  if (config) {
    // "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64"
    const words = Deno.UnsafePointerView.getCString(config).split(/\s+/);
    return words.filter((w, i) => i < 2 || !/^(NO_|DYNAMIC_|MAX_|USE_)/.test(w)).join(" ");
  }
  if (path.includes("Accelerate")) return "Apple Accelerate";
  return path.split("/").pop() ?? path;
}

/** Fortran's `transa`/`transb` characters. */
const TRANS = { yes: new Uint8Array(["T".charCodeAt(0)]), no: new Uint8Array(["N".charCodeAt(0)]) };

/** Wraps the Fortran `sgemm_` (column-major) as a row-major {@linkcode Sgemm}. */
function fortranSgemm(lib: Lib): Sgemm {
  const f = lib.symbols.sgemm_!;
  const ints = new Int32Array(6); // m, n, k, lda, ldb, ldc
  const scal = new Float32Array(2); // alpha, beta
  const at = (i: number) => ints.subarray(i, i + 1);
  return (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T.
    ints.set([n, m, k, ldb, lda, ldc]);
    scal[0] = alpha;
    scal[1] = beta;
    f(
      transB ? TRANS.yes : TRANS.no,
      transA ? TRANS.yes : TRANS.no,
      at(0),
      at(1),
      at(2),
      scal.subarray(0, 1),
      b,
      at(3),
      a,
      at(4),
      scal.subarray(1, 2),
      c,
      at(5),
    );
  };
}

/**
 * Loads a BLAS library (see the module doc for where it looks) and sets its thread count.
 *
 * @example Multiply two matrices
 * ```ts ignore
 * import { loadBlas } from "./blas_ffi.ts";
 *
 * const blas = loadBlas();
 * const c = new Float32Array(4);
 * blas.sgemm(false, false, 2, 2, 2, 1, new Float32Array([1, 2, 3, 4]), 2,
 *   new Float32Array([1, 0, 0, 1]), 2, 0, c, 2);
 * console.log(c); // [1, 2, 3, 4]
 * ```
 */
export function loadBlas(options: LoadBlasOptions = {}): BlasLibrary {
  const threads = threadCount(options.threads);
  const { lib, path } = openBlasLibrary(options.path);
  const setThreads = lib.symbols.openblas_set_num_threads;
  setThreads?.(threads);
  const cblas = lib.symbols.cblas_sgemm;
  const fortran = options.fortran === true || cblas === null;
  const sgemm: Sgemm = fortran
    ? fortranSgemm(lib)
    : (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) =>
      cblas!(
        101,
        transA ? 112 : 111,
        transB ? 112 : 111,
        m,
        n,
        k,
        alpha,
        a,
        lda,
        b,
        ldb,
        beta,
        c,
        ldc,
      );
  const { cblas_saxpy: axpy, cblas_saxpby: axpby } = lib.symbols;
  return {
    path,
    name: describe(lib, path),
    threads: setThreads ? threads : null,
    fortran,
    sgemm,
    axpby: axpy && axpby
      ? {
        saxpy: (n, alpha, x, y) => axpy(n, alpha, x, 1, y, 1),
        saxpby: (n, alpha, x, beta, y) => axpby(n, alpha, x, 1, beta, y, 1),
      }
      : null,
  };
}
