/**
 * Finding and loading oneDNN (libdnnl, the v2.x C API: the library under PyTorch's CPU convs)
 * through `Deno.dlopen` (needs `--allow-ffi`). Optional: nothing needs it to run; the BLAS
 * backend's convolutions use it (`lib/kernels/conv/blas/dnnl.ts`) where it is found.
 *
 * `FCN_DNNL=/path/to/libdnnl.so.2` overrides the search and `FCN_DNNL=off` (or `0`, `false`,
 * `no`, `none`) turns it off (`FCN_DNNL_WINOGRAD=off`: only Winograd, see the BLAS runtime);
 * otherwise `libdnnl.so.2` in the loader's path and the distribution's usual folders (v3,
 * `libdnnl.so.3`, changed the descriptor API and is refused).
 *
 * Threads: oneDNN runs on OpenMP here. The count is the BLAS library's (the caller passes it),
 * else `FCN_DNNL_THREADS`, else `navigator.hardwareConcurrency`; it goes into `OMP_NUM_THREADS`
 * before the library loads and through `omp_set_num_threads` after, so that OpenMP's threads
 * and OpenBLAS's never outnumber the cores. Unless set, `OMP_WAIT_POLICY` becomes `passive`:
 * OpenMP's idle threads sleep at once instead of spinning while OpenBLAS's threads work.
 *
 * The library and its OpenMP runtime are pinned with libc's `dlopen(RTLD_NODELETE)`: they are
 * never unmapped while OpenMP's threads live (at process exit, or when a Worker ends).
 *
 * Only what the conv engine needs is bound, and `dnnl_sgemm`: on CPUs that OpenBLAS's kernels
 * serve only in part (AVX-512 machines it takes for Haswell) oneDNN's JIT SGEMM is up to twice
 * as fast, and the BLAS backend's GEMMs use it. Descriptors (`dnnl_memory_desc_t`,
 * `dnnl_convolution_desc_t`) are plain C structs the library fills in: they live in byte buffers
 * larger than the structs (v2.x: a memory descriptor is about 1 KB, a conv descriptor about 10).
 *
 * @module
 */
import type { Sgemm } from "./blas_ffi.ts";
import { nativeOpen, RTLD } from "./native.ts";

/** oneDNN's C enum values used here (v2.x `dnnl_types.h`). */
export const DNNL = {
  success: 0,
  cpu: 1,
  f32: 3,
  formatAny: 1,
  streamDefault: 1,
  forwardInference: 96,
  forwardTraining: 64,
  backwardData: 160,
  backwardWeights: 192,
  convolutionDirect: 0x1,
  convolutionWinograd: 0x2,
  eltwiseRelu: 0x1f,
  binaryAdd: 0x1fff0,
  poolingMax: 0x1ff,
  querySrc: 129,
  queryDiffSrc: 130,
  queryWeights: 131,
  queryDiffWeights: 132,
  queryDst: 133,
  queryDiffDst: 134,
  queryScratchpad: 136,
  argSrc: 1,
  argSrc1: 2,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argScratchpad: 80,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  argDiffBias: 169,
  scratchpadUser: 1,
} as const;

/** Bytes reserved for one `dnnl_memory_desc_t` (about 1 KB in v2.x). */
export const MD_BYTES = 4096;
/** Bytes reserved for one op descriptor (`dnnl_convolution_desc_t`: about 10 KB in v2.x). */
export const OP_DESC_BYTES = 32768;

const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer", // conv_desc
      "i32", // prop_kind
      "i32", // alg_kind
      "buffer", // src_desc
      "buffer", // weights_desc
      "buffer", // bias_desc (may be null)
      "buffer", // dst_desc
      "buffer", // strides
      "buffer", // dilates (0-based)
      "buffer", // padding_l
      "buffer", // padding_r
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: [
      "buffer", // conv_desc
      "i32", // alg_kind
      "buffer", // diff_src_desc
      "buffer", // weights_desc
      "buffer", // diff_dst_desc
      "buffer", // strides
      "buffer", // dilates
      "buffer", // padding_l
      "buffer", // padding_r
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer", // conv_desc
      "i32", // alg_kind
      "buffer", // src_desc
      "buffer", // diff_weights_desc
      "buffer", // diff_bias_desc (may be null)
      "buffer", // diff_dst_desc
      "buffer", // strides
      "buffer", // dilates
      "buffer", // padding_l
      "buffer", // padding_r
    ],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_pooling_v2_forward_desc_init: {
    parameters: [
      "buffer", // pool_desc
      "i32", // prop_kind
      "i32", // alg_kind
      "pointer", // src_desc
      "buffer", // dst_desc
      "buffer", // strides
      "buffer", // kernel
      "buffer", // dilation
      "buffer", // padding_l
      "buffer", // padding_r
    ],
    result: "i32",
  },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_primitive_attr_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_attr_set_post_ops: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_primitive_attr_set_scratchpad_mode: { parameters: ["pointer", "i32"], result: "i32" },
  dnnl_post_ops_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_post_ops_append_eltwise: {
    parameters: ["pointer", "f32", "i32", "f32", "f32"],
    result: "i32",
  },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_sgemm: {
    // transa, transb (chars), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc: row-major.
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "buffer",
      "i64",
      "buffer",
      "i64",
      "f32",
      "buffer",
      "i64",
    ],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw symbols of the library. */
export type DnnlSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** A loaded oneDNN with its CPU engine and stream. */
export interface DnnlLibrary {
  /** The path it was opened from. */
  readonly path: string;
  /** For people: "oneDNN 2.6.0 (libdnnl.so.2), 2 threads". */
  readonly description: string;
  /** The version numbers. */
  readonly version: { major: number; minor: number; patch: number };
  /** OpenMP threads its primitives run on. */
  readonly threads: number;
  /** The bound functions. */
  readonly sym: DnnlSymbols;
  /** The CPU engine. */
  readonly engine: Deno.PointerValue;
  /** An in-order stream on it. */
  readonly stream: Deno.PointerValue;
  /** oneDNN's row-major SGEMM (`dnnl_sgemm`, JIT-compiled for the CPU's widest vectors). */
  readonly sgemm: Sgemm;
}

/** Options of {@linkcode loadDnnl}. */
export interface LoadDnnlOptions {
  /**
   * OpenMP threads (the BLAS library's, so that the two never outnumber the cores); default
   * `FCN_DNNL_THREADS`, else `navigator.hardwareConcurrency`.
   */
  threads?: number;
}

/** Thrown when no usable oneDNN is found (or `FCN_DNNL=off`); says where it looked and why. */
export class DnnlNotFoundError extends Error {
  /** The paths tried, each with why it failed. */
  readonly tried: string[];

  /** Lists what was tried. */
  constructor(tried: string[]) {
    super(
      tried.length === 1 && tried[0] === OFF_REASON
        ? `oneDNN is turned off (${OFF_REASON})`
        : `oneDNN not found: tried ${tried.join("; ")}. Install it (Debian/Ubuntu: ` +
          "apt-get install libdnnl2) or point FCN_DNNL at libdnnl.so.2",
    );
    this.name = "DnnlNotFoundError";
    this.tried = tried;
  }
}

const OFF_WORDS = new Set(["off", "0", "false", "no", "none"]);
const OFF_REASON = "FCN_DNNL=off";

/** Whether `FCN_DNNL` (or `env`) turns oneDNN off: `off`, `0`, `false`, `no` or `none`. */
export function dnnlDisabled(env: string | undefined = Deno.env.get("FCN_DNNL")): boolean {
  return env !== undefined && OFF_WORDS.has(env.trim().toLowerCase());
}

/**
 * Whether `FCN_DNNL_WINOGRAD` (or `env`) turns Winograd off for 3x3 convs (the same
 * words as {@linkcode dnnlDisabled}): for the direct algorithm's smaller memory.
 */
export function winogradDisabled(
  env: string | undefined = Deno.env.get("FCN_DNNL_WINOGRAD"),
): boolean {
  return dnnlDisabled(env);
}

/** Where oneDNN is looked for, in order: `FCN_DNNL`, then the usual names and folders. */
export function dnnlCandidates(env: string | undefined = Deno.env.get("FCN_DNNL")): string[] {
  if (env?.trim()) return dnnlDisabled(env) ? [] : [env.trim()];
  if (Deno.build.os !== "linux") return [];
  return [
    "libdnnl.so.2",
    "/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
    "/usr/lib/aarch64-linux-gnu/libdnnl.so.2",
    "/usr/lib64/libdnnl.so.2",
    "/usr/local/lib/libdnnl.so.2",
  ];
}

let loaded: DnnlLibrary | undefined;
/** OpenMP's `omp_set_num_threads`, where the runtime is libgomp. */
let setOmpThreads: ((n: number) => void) | null = null;

/** A pointer out-parameter: 8 bytes the library writes a handle into. */
export function outPointer(): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(1);
}

/** The handle written into an out-parameter. */
export function pointerOf(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

/** Throws naming the call unless `status` is dnnl_success. */
export function check(status: number, what: string): void {
  if (status !== DNNL.success) {
    const names = ["success", "out of memory", "invalid arguments", "unimplemented"];
    throw new Error(
      `oneDNN: ${what} failed with status ${status} (${names[status] ?? "error"})`,
    );
  }
}

/**
 * Keeps `path` mapped for the life of the process (libc's `dlopen` with `RTLD_NODELETE`, never
 * closed). oneDNN's OpenMP threads outlive the calls that started them; a core dump of a parallel
 * test run that segfaulted showed one of them executing at an address where libgomp had been
 * mapped, with libdnnl and libgomp gone from the process, after the test file that used oneDNN
 * had ended. A pinned library and its dependencies are never unloaded. `noload`: only pins a
 * library already loaded. Returns why it failed, or null (also off Linux, where `Deno.dlopen`
 * alone decides).
 */
function pin(path: string, noload = false): string | null {
  if (Deno.build.os !== "linux") return null;
  const handle = nativeOpen(path, RTLD.now | RTLD.nodelete | (noload ? RTLD.noload : 0));
  return typeof handle === "string" ? handle : null;
}

/** Binds libgomp's `omp_set_num_threads` (oneDNN's OpenMP runtime on Debian), pinned. */
function ompThreadSetter(): ((n: number) => void) | null {
  if (pin("libgomp.so.1", true) !== null) return null;
  try {
    const gomp = Deno.dlopen("libgomp.so.1", {
      omp_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
    });
    const set = gomp.symbols.omp_set_num_threads;
    return set ? (n) => set(n) : null;
  } catch {
    return null;
  }
}

/** Threads to ask for: `requested`, else FCN_DNNL_THREADS, else the hardware's. */
function threadCount(requested: number | undefined): number {
  const env = Deno.env.get("FCN_DNNL_THREADS")?.trim();
  const t = requested ?? (env ? Number(env) : navigator.hardwareConcurrency || 1);
  if (!Number.isInteger(t) || t < 1) {
    throw new RangeError(
      `Expected ${
        requested === undefined ? "FCN_DNNL_THREADS" : "threads"
      } to be an integer >= 1 but found "${requested ?? env}"`,
    );
  }
  return t;
}

/** Opens the first candidate with the v2.x API, pinned; throws listing what failed. */
function open(): { lib: Deno.DynamicLibrary<typeof SYMBOLS>; path: string; version: number[] } {
  if (dnnlDisabled()) throw new DnnlNotFoundError([OFF_REASON]);
  const tried: string[] = [];
  for (const path of dnnlCandidates()) {
    const why = pin(path);
    if (why !== null) {
      tried.push(`${path} (${why})`);
      continue;
    }
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      tried.push(`${path} (${(e as Error).message.split("\n")[0]})`);
      continue;
    }
    const v = new Deno.UnsafePointerView(lib.symbols.dnnl_version()!);
    const version = [v.getInt32(0), v.getInt32(4), v.getInt32(8)];
    if (version[0] === 2) return { lib, path, version };
    lib.close();
    tried.push(`${path} (version ${version[0]}.${version[1]}: the v2.x API is needed)`);
  }
  throw new DnnlNotFoundError(tried);
}

/** The library's description with `threads`. */
function describe(path: string, v: DnnlLibrary["version"], threads: number): string {
  const name = path.replace(/^.*\//, "");
  return `oneDNN ${v.major}.${v.minor}.${v.patch} (${name}), ${threads} thread${
    threads === 1 ? "" : "s"
  }`;
}

/**
 * Opens oneDNN once per process (later calls return the same library, with the thread count
 * set again when `threads` differs) and creates its CPU engine and stream; throws
 * {@linkcode DnnlNotFoundError} when there is none or `FCN_DNNL=off`.
 *
 * @example Opening oneDNN where it is installed
 * ```ts ignore
 * import { loadDnnl } from "./dnnl_ffi.ts";
 *
 * const dnnl = loadDnnl({ threads: 2 });
 * console.log(dnnl.description); // oneDNN 2.6.0 (libdnnl.so.2), 2 threads
 * ```
 */
export function loadDnnl(options: LoadDnnlOptions = {}): DnnlLibrary {
  const threads = threadCount(options.threads ?? loaded?.threads);
  if (loaded) {
    if (loaded.threads === threads) return loaded;
    setOmpThreads?.(threads);
    return loaded = {
      ...loaded,
      threads,
      description: describe(loaded.path, loaded.version, threads),
    };
  }
  // Read by OpenMP when it starts (if it has not yet); omp_set_num_threads covers the rest.
  Deno.env.set("OMP_NUM_THREADS", String(threads));
  if (Deno.env.get("OMP_WAIT_POLICY") === undefined) Deno.env.set("OMP_WAIT_POLICY", "passive");
  const { lib, path, version: [major, minor, patch] } = open();
  setOmpThreads = ompThreadSetter();
  setOmpThreads?.(threads);
  const sym = lib.symbols;
  const e = outPointer(), s = outPointer();
  check(sym.dnnl_engine_create(e, DNNL.cpu, 0n), "dnnl_engine_create");
  check(sym.dnnl_stream_create(s, pointerOf(e), DNNL.streamDefault), "dnnl_stream_create");
  const version = { major, minor, patch };
  const T = "T".charCodeAt(0), N = "N".charCodeAt(0);
  const i = BigInt;
  const sgemm: Sgemm = (transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) => {
    if (m === 0 || n === 0) return;
    if (k === 0) { // C = beta * C, as BLAS does (oneDNN refuses empty inner sizes)
      for (let r = 0; r < m; r++) {
        for (let j = r * ldc; j < r * ldc + n; j++) c[j] = beta === 0 ? 0 : beta * c[j];
      }
      return;
    }
    check(
      sym.dnnl_sgemm(
        transA ? T : N,
        transB ? T : N,
        i(m),
        i(n),
        i(k),
        alpha,
        a,
        i(lda),
        b,
        i(ldb),
        beta,
        c,
        i(ldc),
      ),
      "dnnl_sgemm",
    );
  };
  loaded = {
    sgemm,
    path,
    description: describe(path, version, threads),
    version,
    threads,
    sym,
    engine: pointerOf(e),
    stream: pointerOf(s),
  };
  return loaded;
}

/** Whether oneDNN can be loaded here (loads it when it can). */
export function hasDnnl(): boolean {
  try {
    loadDnnl();
    return true;
  } catch (e) {
    if (e instanceof DnnlNotFoundError) return false;
    throw e;
  }
}
