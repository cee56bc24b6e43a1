/**
 * Finding and loading oneDNN (libdnnl, the v2.x C API: the library under PyTorch's CPU convs)
 * through `Deno.dlopen` (needs `--allow-ffi`). Optional: nothing needs it to run; the conv
 * engine in `lib/kernels/conv/blas/dnnl.ts` uses it where it is found.
 *
 * `FCN_DNNL=/path/to/libdnnl.so.2` overrides the search; otherwise `libdnnl.so.2` in the loader's
 * path and the distribution's usual folders (v3, `libdnnl.so.3`, changed the descriptor API and
 * is refused). The thread count (oneDNN runs on OpenMP
 * here) follows `FCN_DNNL_THREADS`, else `OMP_NUM_THREADS`, else `navigator.hardwareConcurrency`;
 * it is fixed when the library is first opened.
 *
 * Only what the conv engine needs is bound. Descriptors (`dnnl_memory_desc_t`,
 * `dnnl_convolution_desc_t`) are plain C structs the library fills in: they live in byte buffers
 * larger than the structs (v2.x: a memory descriptor is about 1 KB, a conv descriptor about 10).
 *
 * @module
 */
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
  convolutionAuto: 0x3,
  eltwiseRelu: 0x1f,
  querySrc: 129,
  queryDiffSrc: 130,
  queryWeights: 131,
  queryDiffWeights: 132,
  queryDst: 133,
  queryDiffDst: 134,
  queryScratchpad: 136,
  argSrc: 1,
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
  /** The bound functions. */
  readonly sym: DnnlSymbols;
  /** The CPU engine. */
  readonly engine: Deno.PointerValue;
  /** An in-order stream on it. */
  readonly stream: Deno.PointerValue;
}

/** Thrown when no usable oneDNN is found; says where it looked and what to install. */
export class DnnlNotFoundError extends Error {
  /** The paths tried, each with why it failed. */
  readonly tried: string[];

  /** Lists what was tried. */
  constructor(tried: string[]) {
    super(
      `oneDNN not found: tried ${tried.join("; ")}. Install it (Debian/Ubuntu: ` +
        "apt-get install libdnnl2) or point FCN_DNNL at libdnnl.so.2",
    );
    this.name = "DnnlNotFoundError";
    this.tried = tried;
  }
}

/** Where oneDNN is looked for, in order: `FCN_DNNL`, then the usual names and folders. */
export function dnnlCandidates(env: string | undefined = Deno.env.get("FCN_DNNL")): string[] {
  if (env) return [env];
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
 * had ended. A pinned library and its dependencies are never unloaded. A path that does not load
 * is left to `Deno.dlopen`, which reports it.
 */
function pin(path: string): void {
  if (Deno.build.os === "linux") nativeOpen(path, RTLD.now | RTLD.nodelete);
}

/**
 * Opens oneDNN once per process (later calls return the same library) and creates its CPU
 * engine and stream; throws {@linkcode DnnlNotFoundError} when there is none.
 *
 * @example Opening oneDNN where it is installed
 * ```ts ignore
 * import { loadDnnl } from "./dnnl_ffi.ts";
 *
 * const dnnl = loadDnnl();
 * console.log(dnnl.description); // oneDNN 2.6.0 (libdnnl.so.2), 2 threads
 * ```
 */
export function loadDnnl(): DnnlLibrary {
  if (loaded) return loaded;
  const threads = Deno.env.get("FCN_DNNL_THREADS") ?? Deno.env.get("OMP_NUM_THREADS") ??
    String(navigator.hardwareConcurrency);
  Deno.env.set("OMP_NUM_THREADS", threads); // read by OpenMP when the library loads
  const tried: string[] = [];
  for (const path of dnnlCandidates()) {
    let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
    try {
      pin(path);
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (e) {
      tried.push(`${path} (${(e as Error).message.split("\n")[0]})`);
      continue;
    }
    const sym = lib.symbols;
    const v = new Deno.UnsafePointerView(sym.dnnl_version()!);
    const version = { major: v.getInt32(0), minor: v.getInt32(4), patch: v.getInt32(8) };
    if (version.major !== 2) {
      lib.close();
      tried.push(`${path} (version ${version.major}.${version.minor}: the v2.x API is needed)`);
      continue;
    }
    const e = outPointer(), s = outPointer();
    check(sym.dnnl_engine_create(e, DNNL.cpu, 0n), "dnnl_engine_create");
    check(sym.dnnl_stream_create(s, pointerOf(e), DNNL.streamDefault), "dnnl_stream_create");
    const name = path.replace(/^.*\//, "");
    loaded = {
      path,
      description:
        `oneDNN ${version.major}.${version.minor}.${version.patch} (${name}), ${threads} threads`,
      version,
      sym,
      engine: pointerOf(e),
      stream: pointerOf(s),
    };
    return loaded;
  }
  throw new DnnlNotFoundError(tried);
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
