/**
 * 2-D convolution through oneDNN (`lib/device/dnnl_ffi.ts`): forward with bias and ReLU fused
 * as post-ops, backward-data and backward-weights, on plain NCHW Float32Arrays.
 *
 * oneDNN picks its own (blocked) layouts for the source, weights and destination; a plain
 * array is reordered into them on the way in and out, except the weights of forward, which are
 * reordered once per weight array and cached (a WeakMap keyed by the array: a new array, as an
 * optimizer step makes, is reordered again; changing an array in place needs
 * {@linkcode DnnlConv2d.forgetWeights}). Primitives are built once per shape and cached.
 *
 * @example A 3x3 conv with fused ReLU
 * ```ts ignore
 * import { convForwardDnnl } from "./dnnl.ts";
 *
 * // x [1, 2, 5, 5], weight [3, 2, 3, 3], bias [3] -> y [1, 3, 5, 5]
 * const y = convForwardDnnl({
 *   x: new Float32Array(50).fill(1), weight: new Float32Array(54).fill(0.1),
 *   bias: new Float32Array(3), shape: { n: 1, c: 2, h: 5, w: 5, k: 3, kh: 3, kw: 3 },
 *   padding: 1, relu: true,
 * });
 * ```
 *
 * @module
 */
import type { ConvGeom } from "../../../device/backend.ts";
import {
  check,
  DNNL,
  type DnnlLibrary,
  loadDnnl,
  MD_BYTES,
  OP_DESC_BYTES,
  outPointer,
  pointerOf,
} from "../../../device/dnnl_ffi.ts";
import { expectLength } from "../../_check.ts";

/** The sizes of one convolution: x `[n, c, h, w]`, weight `[k, c, kh, kw]`. */
export interface DnnlConvShape {
  n: number;
  c: number;
  h: number;
  w: number;
  k: number;
  kh: number;
  kw: number;
}

/** Stride, padding and dilation (one value for both axes, or `[y, x]`). */
export interface DnnlConvGeometry {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;

const dims = (xs: number[]) => new BigInt64Array(xs.map(BigInt));

type Ptr = Deno.PointerValue;

/** A memory object over a user array, or over a buffer of oneDNN's layout. */
class Memory {
  readonly handle: Ptr;
  constructor(private readonly dnnl: DnnlLibrary, md: Ptr | Uint8Array) {
    const out = outPointer();
    const mdPtr = md instanceof Uint8Array ? Deno.UnsafePointer.of(md) : md;
    check(
      dnnl.sym.dnnl_memory_create(out, mdPtr, dnnl.engine, null),
      "dnnl_memory_create",
    );
    this.handle = pointerOf(out);
  }
  bind(data: Float32Array): void {
    check(
      this.dnnl.sym.dnnl_memory_set_data_handle(this.handle, Deno.UnsafePointer.of(data)),
      "dnnl_memory_set_data_handle",
    );
  }
  destroy(): void {
    this.dnnl.sym.dnnl_memory_destroy(this.handle);
  }
}

/** A primitive with its argument list. */
class Primitive {
  readonly handle: Ptr;
  constructor(private readonly dnnl: DnnlLibrary, pd: Ptr) {
    const out = outPointer();
    check(dnnl.sym.dnnl_primitive_create(out, pd), "dnnl_primitive_create");
    this.handle = pointerOf(out);
  }
  run(args: [number, Memory][]): void {
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
  destroy(): void {
    this.dnnl.sym.dnnl_primitive_destroy(this.handle);
  }
}

/** A plain (row-major, dense) f32 memory descriptor of `shape`. */
function plainMd(dnnl: DnnlLibrary, shape: number[]): Uint8Array<ArrayBuffer> {
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
function anyMd(dnnl: DnnlLibrary, shape: number[]): Uint8Array<ArrayBuffer> {
  const md = new Uint8Array(MD_BYTES);
  check(
    dnnl.sym.dnnl_memory_desc_init_by_tag(md, shape.length, dims(shape), DNNL.f32, DNNL.formatAny),
    "dnnl_memory_desc_init_by_tag",
  );
  return md;
}

/**
 * Where a user array meets a primitive's layout: either the same layout (the array is bound
 * directly) or a buffer of the primitive's layout plus a reorder between the two.
 */
class Port {
  readonly user: Memory;
  readonly inner: Memory;
  readonly buffer: Float32Array | null = null;
  readonly reorder: Primitive | null = null;

  /** `toInner`: the reorder runs user -> primitive (inputs), else primitive -> user (outputs). */
  constructor(
    private readonly dnnl: DnnlLibrary,
    userMd: Uint8Array,
    innerMd: Ptr,
    toInner: boolean,
  ) {
    this.user = new Memory(dnnl, userMd);
    const same = dnnl.sym.dnnl_memory_desc_equal(Deno.UnsafePointer.of(userMd), innerMd) === 1;
    if (same) {
      this.inner = this.user;
      return;
    }
    this.inner = new Memory(dnnl, innerMd);
    const bytes = Number(dnnl.sym.dnnl_memory_desc_get_size(innerMd));
    this.buffer = new Float32Array(Math.ceil(bytes / 4));
    this.inner.bind(this.buffer);
    const pd = outPointer();
    const [src, dst] = toInner
      ? [Deno.UnsafePointer.of(userMd), innerMd]
      : [innerMd, Deno.UnsafePointer.of(userMd)];
    check(
      dnnl.sym.dnnl_reorder_primitive_desc_create(pd, src, dnnl.engine, dst, dnnl.engine, null),
      "dnnl_reorder_primitive_desc_create",
    );
    this.reorder = new Primitive(dnnl, pointerOf(pd));
    dnnl.sym.dnnl_primitive_desc_destroy(pointerOf(pd));
  }

  /** Binds a user input and reorders it in when needed. */
  input(data: Float32Array): void {
    this.user.bind(data);
    this.reorder?.run([[DNNL.argSrc, this.user], [DNNL.argDst, this.inner]]);
  }

  /** Binds a user output (before the primitive runs). */
  bindOutput(data: Float32Array): void {
    this.user.bind(data);
  }

  /** Reorders the primitive's output into the user array when needed. */
  output(): void {
    this.reorder?.run([[DNNL.argSrc, this.inner], [DNNL.argDst, this.user]]);
  }

  destroy(): void {
    this.reorder?.destroy();
    if (this.inner !== this.user) this.inner.destroy();
    this.user.destroy();
  }
}

/** Output size of one axis. */
function outSize(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Validates a shape and geometry; throws naming the bad value. */
function resolve(shape: DnnlConvShape, g: DnnlConvGeometry) {
  for (const [name, v] of Object.entries(shape)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`conv/dnnl: shape.${name} must be a positive integer, got ${v}`);
    }
  }
  const stride = pair(g.stride, 1), padding = pair(g.padding, 0), dilation = pair(g.dilation, 1);
  const oh = outSize(shape.h, shape.kh, stride[0], padding[0], dilation[0]);
  const ow = outSize(shape.w, shape.kw, stride[1], padding[1], dilation[1]);
  if (oh < 1 || ow < 1) {
    throw new RangeError(
      `conv/dnnl: a ${shape.kh}x${shape.kw} kernel (dilation ${dilation}, padding ${padding}) ` +
        `does not fit the ${shape.h}x${shape.w} input`,
    );
  }
  return { stride, padding, dilation, oh, ow };
}

/** What a direction's descriptor needs: geometry arrays in oneDNN's form. */
function geometryDims(r: ReturnType<typeof resolve>) {
  return {
    strides: dims(r.stride),
    dilates: dims(r.dilation.map((d) => d - 1)), // oneDNN counts dilation from 0
    pad: dims(r.padding),
  };
}

/** Creates a primitive descriptor for `opDesc` (optionally with ReLU as a post-op). */
function primitiveDesc(
  dnnl: DnnlLibrary,
  opDesc: Uint8Array<ArrayBuffer>,
  relu: boolean,
  hint: Ptr = null,
): Ptr {
  const attrOut = outPointer();
  check(dnnl.sym.dnnl_primitive_attr_create(attrOut), "dnnl_primitive_attr_create");
  const attr = pointerOf(attrOut);
  let postOps: Ptr = null;
  if (relu) {
    const po = outPointer();
    check(dnnl.sym.dnnl_post_ops_create(po), "dnnl_post_ops_create");
    postOps = pointerOf(po);
    check(
      dnnl.sym.dnnl_post_ops_append_eltwise(postOps, 1, DNNL.eltwiseRelu, 0, 0),
      "dnnl_post_ops_append_eltwise",
    );
    check(dnnl.sym.dnnl_primitive_attr_set_post_ops(attr, postOps), "set_post_ops");
  }
  const pd = outPointer();
  try {
    check(
      dnnl.sym.dnnl_primitive_desc_create(pd, opDesc, attr, dnnl.engine, hint),
      "dnnl_primitive_desc_create (convolution)",
    );
  } finally {
    if (postOps) dnnl.sym.dnnl_post_ops_destroy(postOps);
    dnnl.sym.dnnl_primitive_attr_destroy(attr);
  }
  return pointerOf(pd);
}

/**
 * One convolution shape on oneDNN: forward (bias, ReLU fused), and on demand backward-data and
 * backward-weights primitives. Arrays are plain NCHW / `[K, C, KH, KW]`.
 */
export class DnnlConv2d {
  readonly shape: DnnlConvShape;
  readonly relu: boolean;
  readonly hasBias: boolean;
  /** Output height and width. */
  readonly oh: number;
  readonly ow: number;
  readonly #dnnl: DnnlLibrary;
  readonly #r: ReturnType<typeof resolve>;
  readonly #md: {
    x: Uint8Array<ArrayBuffer>;
    w: Uint8Array<ArrayBuffer>;
    b: Uint8Array<ArrayBuffer>;
    y: Uint8Array<ArrayBuffer>;
  };
  #fwd?: {
    pd: Ptr;
    prim: Primitive;
    x: Port;
    y: Port;
    wInner: Memory;
    wUser: Memory;
    wReorder: Primitive | null;
    wBytes: number;
    b: Memory | null;
  };
  #bwdData?: { pd: Ptr; prim: Primitive; dy: Port; w: Port; dx: Port };
  #bwdWeights?: { pd: Ptr; prim: Primitive; x: Port; dy: Port; dw: Port; db: Memory | null };
  #weights = new WeakMap<Float32Array, Float32Array>();

  /** Builds the forward primitive for `shape`; throws naming bad sizes. */
  constructor(
    shape: DnnlConvShape,
    options: DnnlConvGeometry & { relu?: boolean; bias?: boolean } = {},
  ) {
    this.#dnnl = loadDnnl();
    this.shape = { ...shape };
    this.relu = options.relu ?? false;
    this.hasBias = options.bias ?? true;
    this.#r = resolve(shape, options);
    this.oh = this.#r.oh;
    this.ow = this.#r.ow;
    const { n, c, h, w, k, kh, kw } = shape, d = this.#dnnl;
    this.#md = {
      x: plainMd(d, [n, c, h, w]),
      w: plainMd(d, [k, c, kh, kw]),
      b: plainMd(d, [k]),
      y: plainMd(d, [n, k, this.oh, this.ow]),
    };
  }

  #forwardPrimitive() {
    if (this.#fwd) return this.#fwd;
    const d = this.#dnnl, s = this.shape, g = geometryDims(this.#r);
    const desc = new Uint8Array(OP_DESC_BYTES);
    check(
      d.sym.dnnl_dilated_convolution_forward_desc_init(
        desc,
        DNNL.forwardInference,
        DNNL.convolutionDirect,
        anyMd(d, [s.n, s.c, s.h, s.w]),
        anyMd(d, [s.k, s.c, s.kh, s.kw]),
        this.hasBias ? this.#md.b : null,
        anyMd(d, [s.n, s.k, this.oh, this.ow]),
        g.strides,
        g.dilates,
        g.pad,
        g.pad,
      ),
      "dnnl_dilated_convolution_forward_desc_init",
    );
    const pd = primitiveDesc(d, desc, this.relu);
    const q = (what: number) => d.sym.dnnl_primitive_desc_query_md(pd, what, 0);
    const wMd = q(DNNL.queryWeights);
    const wUser = new Memory(d, this.#md.w);
    const wInner = new Memory(d, wMd);
    const same = d.sym.dnnl_memory_desc_equal(Deno.UnsafePointer.of(this.#md.w), wMd) === 1;
    let wReorder: Primitive | null = null;
    if (!same) {
      const rpd = outPointer();
      check(
        d.sym.dnnl_reorder_primitive_desc_create(
          rpd,
          Deno.UnsafePointer.of(this.#md.w),
          d.engine,
          wMd,
          d.engine,
          null,
        ),
        "dnnl_reorder_primitive_desc_create (weights)",
      );
      wReorder = new Primitive(d, pointerOf(rpd));
      d.sym.dnnl_primitive_desc_destroy(pointerOf(rpd));
    }
    this.#fwd = {
      pd,
      prim: new Primitive(d, pd),
      x: new Port(d, this.#md.x, q(DNNL.querySrc), true),
      y: new Port(d, this.#md.y, q(DNNL.queryDst), false),
      wInner,
      wUser,
      wReorder,
      wBytes: Number(d.sym.dnnl_memory_desc_get_size(wMd)),
      b: this.hasBias ? new Memory(d, this.#md.b) : null,
    };
    return this.#fwd;
  }

  /** The weights in the primitive's layout (reordered once per array). */
  #packed(weight: Float32Array): Float32Array {
    const f = this.#forwardPrimitive();
    if (!f.wReorder) return weight;
    let packed = this.#weights.get(weight);
    if (!packed) {
      packed = new Float32Array(Math.ceil(f.wBytes / 4));
      f.wUser.bind(weight);
      f.wInner.bind(packed);
      f.wReorder.run([[DNNL.argSrc, f.wUser], [DNNL.argDst, f.wInner]]);
      this.#weights.set(weight, packed);
    }
    return packed;
  }

  /** Drops the reordered copy of `weight` (after changing it in place). */
  forgetWeights(weight: Float32Array): void {
    this.#weights.delete(weight);
  }

  /** y `[n, k, oh, ow]` = relu?(conv(x `[n, c, h, w]`, weight) + bias). */
  forward(
    { x, weight, bias = null, out }: {
      x: Float32Array;
      weight: Float32Array;
      bias?: Float32Array | null;
      out?: Float32Array;
    },
  ): Float32Array {
    const s = this.shape;
    expectLength("conv/dnnl", "x", x, s.n * s.c * s.h * s.w);
    expectLength("conv/dnnl", "weight", weight, s.k * s.c * s.kh * s.kw);
    if (this.hasBias) {
      if (!bias) throw new TypeError("conv/dnnl: this conv was built with a bias but got none");
      expectLength("conv/dnnl", "bias", bias, s.k);
    }
    const y = out ?? new Float32Array(s.n * s.k * this.oh * this.ow);
    expectLength("conv/dnnl", "out", y, s.n * s.k * this.oh * this.ow);
    const f = this.#forwardPrimitive();
    f.wInner.bind(this.#packed(weight));
    f.x.input(x);
    f.y.bindOutput(y);
    const args: [number, Memory][] = [
      [DNNL.argSrc, f.x.inner],
      [DNNL.argWeights, f.wInner],
      [DNNL.argDst, f.y.inner],
    ];
    if (f.b && bias) {
      f.b.bind(bias);
      args.push([DNNL.argBias, f.b]);
    }
    f.prim.run(args);
    f.y.output();
    return y;
  }

  /** dx `[n, c, h, w]` from dy `[n, k, oh, ow]` and weight (no ReLU: pass the masked dy). */
  backwardData(
    { dy, weight, out }: { dy: Float32Array; weight: Float32Array; out?: Float32Array },
  ): Float32Array {
    const s = this.shape;
    expectLength("conv/dnnl", "dy", dy, s.n * s.k * this.oh * this.ow);
    expectLength("conv/dnnl", "weight", weight, s.k * s.c * s.kh * s.kw);
    const dx = out ?? new Float32Array(s.n * s.c * s.h * s.w);
    expectLength("conv/dnnl", "out", dx, s.n * s.c * s.h * s.w);
    const b = this.#bwdData ??= this.#backwardDataPrimitive();
    b.dy.input(dy);
    b.w.input(weight);
    b.dx.bindOutput(dx);
    b.prim.run([
      [DNNL.argDiffDst, b.dy.inner],
      [DNNL.argWeights, b.w.inner],
      [DNNL.argDiffSrc, b.dx.inner],
    ]);
    b.dx.output();
    return dx;
  }

  /** dweight `[k, c, kh, kw]` (and dbias `[k]` with a bias) from x and dy. */
  backwardWeights(
    { x, dy, outWeight, outBias }: {
      x: Float32Array;
      dy: Float32Array;
      outWeight?: Float32Array;
      outBias?: Float32Array;
    },
  ): { dWeight: Float32Array; dBias: Float32Array | null } {
    const s = this.shape;
    expectLength("conv/dnnl", "x", x, s.n * s.c * s.h * s.w);
    expectLength("conv/dnnl", "dy", dy, s.n * s.k * this.oh * this.ow);
    const dw = outWeight ?? new Float32Array(s.k * s.c * s.kh * s.kw);
    expectLength("conv/dnnl", "outWeight", dw, s.k * s.c * s.kh * s.kw);
    const db = this.hasBias ? outBias ?? new Float32Array(s.k) : null;
    if (db) expectLength("conv/dnnl", "outBias", db, s.k);
    const b = this.#bwdWeights ??= this.#backwardWeightsPrimitive();
    b.x.input(x);
    b.dy.input(dy);
    b.dw.bindOutput(dw);
    const args: [number, Memory][] = [
      [DNNL.argSrc, b.x.inner],
      [DNNL.argDiffDst, b.dy.inner],
      [DNNL.argDiffWeights, b.dw.inner],
    ];
    if (b.db && db) {
      b.db.bind(db);
      args.push([DNNL.argDiffBias, b.db]);
    }
    b.prim.run(args);
    b.dw.output();
    return { dWeight: dw, dBias: db };
  }

  /** A forward-training descriptor, the hint backward primitives need. */
  #trainingHint(): Ptr {
    const d = this.#dnnl, s = this.shape, g = geometryDims(this.#r);
    const desc = new Uint8Array(OP_DESC_BYTES);
    check(
      d.sym.dnnl_dilated_convolution_forward_desc_init(
        desc,
        DNNL.forwardTraining,
        DNNL.convolutionDirect,
        anyMd(d, [s.n, s.c, s.h, s.w]),
        anyMd(d, [s.k, s.c, s.kh, s.kw]),
        this.hasBias ? this.#md.b : null,
        anyMd(d, [s.n, s.k, this.oh, this.ow]),
        g.strides,
        g.dilates,
        g.pad,
        g.pad,
      ),
      "dnnl_dilated_convolution_forward_desc_init (training)",
    );
    return primitiveDesc(d, desc, false);
  }

  #backwardDataPrimitive() {
    const d = this.#dnnl, s = this.shape, g = geometryDims(this.#r);
    const hint = this.#trainingHint();
    const desc = new Uint8Array(OP_DESC_BYTES);
    check(
      d.sym.dnnl_dilated_convolution_backward_data_desc_init(
        desc,
        DNNL.convolutionDirect,
        anyMd(d, [s.n, s.c, s.h, s.w]),
        anyMd(d, [s.k, s.c, s.kh, s.kw]),
        anyMd(d, [s.n, s.k, this.oh, this.ow]),
        g.strides,
        g.dilates,
        g.pad,
        g.pad,
      ),
      "dnnl_dilated_convolution_backward_data_desc_init",
    );
    const pd = primitiveDesc(d, desc, false, hint);
    d.sym.dnnl_primitive_desc_destroy(hint);
    const q = (what: number) => d.sym.dnnl_primitive_desc_query_md(pd, what, 0);
    return {
      pd,
      prim: new Primitive(d, pd),
      dy: new Port(d, this.#md.y, q(DNNL.queryDiffDst), true),
      w: new Port(d, this.#md.w, q(DNNL.queryWeights), true),
      dx: new Port(d, this.#md.x, q(DNNL.queryDiffSrc), false),
    };
  }

  #backwardWeightsPrimitive() {
    const d = this.#dnnl, s = this.shape, g = geometryDims(this.#r);
    const hint = this.#trainingHint();
    const desc = new Uint8Array(OP_DESC_BYTES);
    check(
      d.sym.dnnl_dilated_convolution_backward_weights_desc_init(
        desc,
        DNNL.convolutionDirect,
        anyMd(d, [s.n, s.c, s.h, s.w]),
        anyMd(d, [s.k, s.c, s.kh, s.kw]),
        this.hasBias ? this.#md.b : null,
        anyMd(d, [s.n, s.k, this.oh, this.ow]),
        g.strides,
        g.dilates,
        g.pad,
        g.pad,
      ),
      "dnnl_dilated_convolution_backward_weights_desc_init",
    );
    const pd = primitiveDesc(d, desc, false, hint);
    d.sym.dnnl_primitive_desc_destroy(hint);
    const q = (what: number) => d.sym.dnnl_primitive_desc_query_md(pd, what, 0);
    return {
      pd,
      prim: new Primitive(d, pd),
      x: new Port(d, this.#md.x, q(DNNL.querySrc), true),
      dy: new Port(d, this.#md.y, q(DNNL.queryDiffDst), true),
      dw: new Port(d, this.#md.w, q(DNNL.queryDiffWeights), false),
      db: this.hasBias ? new Memory(d, this.#md.b) : null,
    };
  }

  /** Frees the primitives and memory objects. */
  dispose(): void {
    const d = this.#dnnl;
    if (this.#fwd) {
      const f = this.#fwd;
      f.prim.destroy();
      f.wReorder?.destroy();
      f.x.destroy();
      f.y.destroy();
      f.wInner.destroy();
      f.wUser.destroy();
      f.b?.destroy();
      d.sym.dnnl_primitive_desc_destroy(f.pd);
    }
    for (const b of [this.#bwdData, this.#bwdWeights]) {
      if (!b) continue;
      b.prim.destroy();
      d.sym.dnnl_primitive_desc_destroy(b.pd);
    }
    if (this.#bwdData) {
      for (const p of [this.#bwdData.dy, this.#bwdData.w, this.#bwdData.dx]) p.destroy();
    }
    if (this.#bwdWeights) {
      const b = this.#bwdWeights;
      for (const p of [b.x, b.dy, b.dw]) p.destroy();
      b.db?.destroy();
    }
    this.#fwd = this.#bwdData = this.#bwdWeights = undefined;
  }
}

const cache = new Map<string, DnnlConv2d>();

/** Arguments of {@linkcode convForwardDnnl}. */
export interface DnnlForwardArgs extends DnnlConvGeometry {
  /** `[n, c, h, w]`. */
  x: Float32Array;
  /** `[k, c, kh, kw]`. */
  weight: Float32Array;
  /** `[k]` or null. */
  bias?: Float32Array | null;
  shape: DnnlConvShape;
  /** Apply ReLU in the same primitive (a post-op). */
  relu?: boolean;
  /** Output `[n, k, oh, ow]` to write (allocated when absent). */
  out?: Float32Array;
}

/** Conv forward on oneDNN with the primitive for this shape built once and cached. */
export function convForwardDnnl(args: DnnlForwardArgs): Float32Array {
  const conv = dnnlConv(args.shape, { ...args, bias: !!args.bias });
  return conv.forward(args);
}

/** The cached {@linkcode DnnlConv2d} of a shape, geometry, bias and ReLU. */
export function dnnlConv(
  shape: DnnlConvShape,
  options: DnnlConvGeometry & { relu?: boolean; bias?: boolean } = {},
): DnnlConv2d {
  const key = JSON.stringify([
    shape.n,
    shape.c,
    shape.h,
    shape.w,
    shape.k,
    shape.kh,
    shape.kw,
    pair(options.stride, 1),
    pair(options.padding, 0),
    pair(options.dilation, 1),
    options.relu ?? false,
    options.bias ?? true,
  ]);
  let conv = cache.get(key);
  if (!conv) cache.set(key, conv = new DnnlConv2d(shape, options));
  return conv;
}

/**
 * The backends' conv forward (`Kernels.conv2d`'s geometry) on oneDNN, writing into `out`: how
 * the BLAS backend can route spatial convs here (see the module doc for the weight cache: a
 * weight array changed in place, as SGD does, needs {@linkcode forgetDnnlWeights}).
 */
export function conv2dGeom(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  { relu = false, out }: { relu?: boolean; out?: Float32Array } = {},
): Float32Array {
  const conv = dnnlConv({ n: g.n, c: g.c, h: g.h, w: g.w, k: g.k, kh: g.kh, kw: g.kw }, {
    stride: [g.strideH, g.strideW],
    padding: [g.padH, g.padW],
    dilation: [g.dilH, g.dilW],
    relu,
    bias: b !== null,
  });
  if (conv.oh !== g.oh || conv.ow !== g.ow) {
    throw new RangeError(
      `conv/dnnl: the geometry says ${g.oh}x${g.ow} outputs but its sizes give ${conv.oh}x${conv.ow}`,
    );
  }
  return conv.forward({ x, weight: w, bias: b, out });
}

/** Drops every cached reordering of `weight` (call after updating it in place). */
export function forgetDnnlWeights(weight: Float32Array): void {
  for (const conv of cache.values()) conv.forgetWeights(weight);
}
