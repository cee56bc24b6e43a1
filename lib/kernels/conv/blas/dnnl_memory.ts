/**
 * oneDNN's memory objects, primitives and reorders as the conv engine (`./dnnl.ts`) uses them:
 * plain NCHW arrays from the caller meet the (blocked) layouts oneDNN chooses at a
 * {@linkcode Port}, which reorders through a buffer the caller lends for the call (the BLAS
 * runtime's scratch), so that nothing of activation size stays allocated between calls.
 *
 * @module
 */
import {
  check,
  DNNL,
  type DnnlLibrary,
  MD_BYTES,
  outPointer,
  pointerOf,
} from "../../../device/dnnl_ffi.ts";
import type { Scratch } from "../../../device/blas_scratch.ts";

/** A pointer to a C object. */
export type Ptr = Deno.PointerValue;

const dims = (xs: number[]) => new BigInt64Array(xs.map(BigInt));

/** A memory object over a user array, or over a buffer of oneDNN's layout. */
export class Memory {
  readonly handle: Ptr;
  /** Creates a memory object of descriptor `md` with no data yet. */
  constructor(private readonly dnnl: DnnlLibrary, md: Ptr | Uint8Array<ArrayBuffer>) {
    const out = outPointer();
    const mdPtr = md instanceof Uint8Array ? Deno.UnsafePointer.of(md) : md;
    check(
      dnnl.sym.dnnl_memory_create(out, mdPtr, dnnl.engine, null),
      "dnnl_memory_create",
    );
    this.handle = pointerOf(out);
  }
  /** Points the memory at `data` (from its first element, a subarray at its offset). */
  bind(data: Float32Array): void {
    check(
      this.dnnl.sym.dnnl_memory_set_data_handle(this.handle, Deno.UnsafePointer.of(data)),
      "dnnl_memory_set_data_handle",
    );
  }
  /** Frees the memory object (not the data). */
  destroy(): void {
    this.dnnl.sym.dnnl_memory_destroy(this.handle);
  }
}

/**
 * A primitive with its argument list. One built with a user scratchpad (see `primitiveDesc` in
 * ./dnnl.ts) takes its working memory per call from a buffer the caller lends
 * ({@linkcode scratchFloats} elements), so that all primitives share one scratch instead of
 * each keeping its own (a Winograd conv's transformed tiles are tens of MB).
 */
export class Primitive {
  readonly handle: Ptr;
  /** Elements of the scratchpad each {@linkcode run} needs (0: none, or oneDNN keeps its own). */
  readonly scratchFloats: number;
  readonly #pad: Memory | null = null;
  /** Creates the primitive of descriptor `pd` (the caller keeps and frees `pd`). */
  constructor(private readonly dnnl: DnnlLibrary, pd: Ptr) {
    const out = outPointer();
    check(dnnl.sym.dnnl_primitive_create(out, pd), "dnnl_primitive_create");
    this.handle = pointerOf(out);
    const md = dnnl.sym.dnnl_primitive_desc_query_md(pd, DNNL.queryScratchpad, 0);
    const bytes = md ? Number(dnnl.sym.dnnl_memory_desc_get_size(md)) : 0;
    this.scratchFloats = Math.ceil(bytes / 4);
    if (bytes > 0) this.#pad = new Memory(dnnl, md);
  }
  /**
   * Runs it on the stream with `args` (DNNL_ARG_*, memory) and waits (CPU streams block);
   * `scratchpad`: at least {@linkcode scratchFloats} elements where that is not 0.
   */
  run(args: [number, Memory][], scratchpad: Float32Array | null = null): void {
    if (this.#pad) {
      if (!scratchpad || scratchpad.length < this.scratchFloats) {
        throw new RangeError(
          `oneDNN: this primitive needs a scratchpad of ${this.scratchFloats} floats, got ` +
            `${scratchpad?.length ?? "none"}`,
        );
      }
      this.#pad.bind(scratchpad);
      args = [...args, [DNNL.argScratchpad, this.#pad]];
    }
    const buf = new BigUint64Array(args.length * 2);
    args.forEach(([arg, mem], i) => {
      buf[2 * i] = BigInt(arg);
      buf[2 * i + 1] = BigInt(Deno.UnsafePointer.value(mem.handle));
    });
    check(
      this.dnnl.sym.dnnl_primitive_execute(this.handle, this.dnnl.stream, args.length, buf),
      "dnnl_primitive_execute",
    );
  }
  /** Frees it. */
  destroy(): void {
    this.#pad?.destroy();
    this.dnnl.sym.dnnl_primitive_destroy(this.handle);
  }
}

/** A plain (row-major, dense) f32 memory descriptor of `shape`. */
export function plainMd(dnnl: DnnlLibrary, shape: number[]): Uint8Array<ArrayBuffer> {
  const md = new Uint8Array(MD_BYTES);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  check(
    dnnl.sym.dnnl_memory_desc_init_by_strides(
      md,
      shape.length,
      dims(shape),
      DNNL.f32,
      dims(strides),
    ),
    "dnnl_memory_desc_init_by_strides",
  );
  return md;
}

/** An f32 descriptor of `shape` whose layout the primitive chooses. */
export function anyMd(dnnl: DnnlLibrary, shape: number[]): Uint8Array<ArrayBuffer> {
  const md = new Uint8Array(MD_BYTES);
  check(
    dnnl.sym.dnnl_memory_desc_init_by_tag(md, shape.length, dims(shape), DNNL.f32, DNNL.formatAny),
    "dnnl_memory_desc_init_by_tag",
  );
  return md;
}

/** A reorder primitive from layout `src` to layout `dst`. */
export function reorder(dnnl: DnnlLibrary, src: Ptr, dst: Ptr): Primitive {
  const pd = outPointer();
  check(
    dnnl.sym.dnnl_reorder_primitive_desc_create(pd, src, dnnl.engine, dst, dnnl.engine, null),
    "dnnl_reorder_primitive_desc_create",
  );
  const prim = new Primitive(dnnl, pointerOf(pd));
  dnnl.sym.dnnl_primitive_desc_destroy(pointerOf(pd));
  return prim;
}

/**
 * Where a user array meets a primitive's layout: either the same layout (the array is bound
 * directly) or a lent buffer of `floats` elements in the primitive's layout plus a reorder
 * between the two.
 */
export class Port {
  readonly user: Memory;
  readonly inner: Memory;
  readonly reorder: Primitive | null = null;
  /** The primitive's descriptor of this argument (owned by the primitive descriptor). */
  readonly md: Ptr;
  /** Elements of the buffer the primitive's layout needs (0: the user's array serves). */
  readonly floats: number = 0;

  /** `toInner`: the reorder runs user -> primitive (inputs), else primitive -> user (outputs). */
  constructor(dnnl: DnnlLibrary, userMd: Uint8Array<ArrayBuffer>, innerMd: Ptr, toInner: boolean) {
    this.user = new Memory(dnnl, userMd);
    this.md = innerMd;
    const user = Deno.UnsafePointer.of(userMd);
    if (dnnl.sym.dnnl_memory_desc_equal(user, innerMd) === 1) {
      this.inner = this.user;
      return;
    }
    this.inner = new Memory(dnnl, innerMd);
    this.floats = Math.ceil(Number(dnnl.sym.dnnl_memory_desc_get_size(innerMd)) / 4);
    this.reorder = toInner ? reorder(dnnl, user, innerMd) : reorder(dnnl, innerMd, user);
  }

  /** Binds a user input and reorders it into `buffer` (`floats` elements) when needed. */
  input(data: Float32Array, buffer: Float32Array | null): void {
    this.user.bind(data);
    if (!this.reorder) return;
    this.inner.bind(buffer!);
    this.reorder.run([[DNNL.argSrc, this.user], [DNNL.argDst, this.inner]]);
  }

  /** Binds a user output and, when a reorder follows, the primitive's `buffer`. */
  bindOutput(data: Float32Array, buffer: Float32Array | null): void {
    this.user.bind(data);
    if (this.reorder) this.inner.bind(buffer!);
  }

  /** Reorders the primitive's output into the user array when needed. */
  output(): void {
    this.reorder?.run([[DNNL.argSrc, this.inner], [DNNL.argDst, this.user]]);
  }

  /** Frees the memory objects and the reorder. */
  destroy(): void {
    this.reorder?.destroy();
    if (this.inner !== this.user) this.inner.destroy();
    this.user.destroy();
  }
}

/** Floats per 64 bytes: regions start on a cache line, as oneDNN's own buffers do. */
const LINE = 16;

/**
 * Views of `sizes` elements each from `scratch`, each starting on a 64-byte boundary; a size
 * of 0 gives null (the port needs no buffer).
 */
export function lend(scratch: Scratch, sizes: number[]): (Float32Array | null)[] {
  const padded = sizes.map((n) => Math.ceil(n / LINE) * LINE);
  const all = scratch.get(padded.reduce((a, b) => a + b, 0) + LINE);
  const address = Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(all)));
  let off = ((64 - (address % 64)) % 64) / 4;
  return sizes.map((n, i) => {
    if (n === 0) return null;
    const view = all.subarray(off, off + n);
    off += padded[i];
    return view;
  });
}
