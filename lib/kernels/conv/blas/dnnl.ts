/**
 * 2-D convolution through oneDNN (`lib/device/dnnl_ffi.ts`): forward with bias and ReLU fused
 * as post-ops, backward-data and backward-weights, on plain NCHW Float32Arrays.
 *
 * oneDNN picks its own (blocked) layouts for the source, weights and destination; a plain
 * array is reordered into them on the way in and out through buffers lent for the call from a
 * {@linkcode Scratch} (the BLAS runtime's; a module-wide one by default). The forward weights
 * can be reordered once ({@linkcode DnnlConv2d.packWeight}) and passed as `packed` to later
 * calls: the BLAS backend keeps such packs per weight array until the array is freed or updated
 * in place. Primitives are built once per shape and cached.
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
import type { ConvGeom, PoolGeom } from "../../../device/backend.ts";
import type { HeldPool, Layout } from "../../../device/blas_runtime.ts";
import { Scratch } from "../../../device/blas_scratch.ts";
import {
  check,
  DNNL,
  type DnnlLibrary,
  loadDnnl,
  OP_DESC_BYTES,
  outPointer,
  pointerOf,
} from "../../../device/dnnl_ffi.ts";
import { expectLength } from "../../_check.ts";
import { anyMd, lend, Memory, plainMd, Port, Primitive, type Ptr, reorder } from "./dnnl_memory.ts";

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

/** Options of {@linkcode DnnlConv2d}: geometry, bias and fused ReLU. */
export interface DnnlConvOptions extends DnnlConvGeometry {
  /** Apply ReLU in the forward primitive (a post-op). */
  relu?: boolean;
  /** Whether the conv has a bias (default true). */
  bias?: boolean;
  /**
   * Every pass by Winograd's F(4x4, 3x3) where oneDNN has it for the shape and CPU (3x3,
   * stride 1, no dilation), else direct: 0.3-0.5x a 3x3 conv's time from 16 channels in and out,
   * at a rounding error like the direct one's (against an f64 forward, outputs of about 1:
   * 2e-7 to 2.5e-6 for Winograd, 4e-7 to 1.5e-6 direct), for a larger scratchpad and weights.
   */
  winograd?: boolean;
}

/** Where a call's reorder buffers come from (default: one module-wide scratch). */
export interface Lender {
  scratch?: Scratch;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;

const dims = (xs: number[]) => new BigInt64Array(xs.map(BigInt));

/** The scratch of convs built without one. */
const moduleScratch = new Scratch();

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

/**
 * Creates a primitive descriptor for `opDesc` (optionally with ReLU as a post-op); `userPad`:
 * its primitive takes a lent scratchpad per run (`Primitive.scratchFloats`).
 */
function primitiveDesc(
  dnnl: DnnlLibrary,
  opDesc: Uint8Array<ArrayBuffer>,
  relu: boolean,
  hint: Ptr = null,
  userPad = false,
): Ptr {
  const attrOut = outPointer();
  check(dnnl.sym.dnnl_primitive_attr_create(attrOut), "dnnl_primitive_attr_create");
  const attr = pointerOf(attrOut);
  if (userPad) {
    check(
      dnnl.sym.dnnl_primitive_attr_set_scratchpad_mode(attr, DNNL.scratchpadUser),
      "dnnl_primitive_attr_set_scratchpad_mode",
    );
  }
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

/** How oneDNN computes a pass. */
export type Algorithm = "winograd" | "direct";

/** The forward primitive and its ports; `w` reorders plain weights into its layout. */
interface Forward {
  algorithm: Algorithm;
  pd: Ptr;
  prim: Primitive;
  x: Port;
  w: Port;
  y: Port;
  b: Memory | null;
}

/** The backward-data primitive and its ports. */
interface BackwardData {
  algorithm: Algorithm;
  pd: Ptr;
  prim: Primitive;
  dy: Port;
  w: Port;
  dx: Port;
}

/** The backward-weights primitive and its ports. */
interface BackwardWeights {
  algorithm: Algorithm;
  pd: Ptr;
  prim: Primitive;
  x: Port;
  dy: Port;
  dw: Port;
  db: Memory | null;
}

/**
 * One convolution shape on oneDNN: forward (bias, ReLU fused), and on demand backward-data and
 * backward-weights primitives. Arrays are plain NCHW / `[K, C, KH, KW]`.
 */
export class DnnlConv2d {
  readonly shape: DnnlConvShape;
  readonly relu: boolean;
  readonly hasBias: boolean;
  /** Whether Winograd was asked for ({@linkcode algorithms}: whether oneDNN has it). */
  readonly winograd: boolean;
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
  #fwd?: Forward;
  #bwdData?: BackwardData;
  #bwdWeights?: BackwardWeights;
  #layout?: DnnlLayout;
  /** Reorders from held layouts this conv {@linkcode reads} but does not take. */
  readonly #reorders = new Map<DnnlLayout, { prim: Primitive; src: Memory }>();
  /** Arrays held in this conv's output layout: `dispose` waits for them. */
  #lent = 0;
  #disposed = false;

  /** Checks the sizes (throws naming a bad one); primitives are built on first use. */
  constructor(shape: DnnlConvShape, options: DnnlConvOptions = {}) {
    this.#dnnl = loadDnnl();
    this.shape = { ...shape };
    this.relu = options.relu ?? false;
    this.hasBias = options.bias ?? true;
    this.#r = resolve(shape, options);
    this.winograd = (options.winograd ?? false) && shape.kh === 3 && shape.kw === 3 &&
      this.#r.stride.every((v) => v === 1) && this.#r.dilation.every((v) => v === 1);
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

  /** A convolution descriptor of `prop` (forward) or a backward `kind`, by algorithm `alg`. */
  #desc(
    kind: "forward" | "training" | "data" | "weights",
    alg: number = DNNL.convolutionDirect,
  ): Uint8Array<ArrayBuffer> {
    const d = this.#dnnl, s = this.shape, g = geometryDims(this.#r);
    const desc = new Uint8Array(OP_DESC_BYTES);
    const x = anyMd(d, [s.n, s.c, s.h, s.w]), w = anyMd(d, [s.k, s.c, s.kh, s.kw]);
    const y = anyMd(d, [s.n, s.k, this.oh, this.ow]), b = this.hasBias ? this.#md.b : null;
    const geom = [g.strides, g.dilates, g.pad, g.pad] as const;
    const sym = d.sym;
    const status = kind === "data"
      ? sym.dnnl_dilated_convolution_backward_data_desc_init(desc, alg, x, w, y, ...geom)
      : kind === "weights"
      ? sym.dnnl_dilated_convolution_backward_weights_desc_init(desc, alg, x, w, b, y, ...geom)
      : sym.dnnl_dilated_convolution_forward_desc_init(
        desc,
        kind === "forward" ? DNNL.forwardInference : DNNL.forwardTraining,
        alg,
        x,
        w,
        b,
        y,
        ...geom,
      );
    check(status, `dnnl_dilated_convolution_${kind}_desc_init`);
    return desc;
  }

  /**
   * The primitive descriptor `build(alg)` makes: by Winograd where asked and oneDNN has it for
   * this shape and CPU, else direct.
   */
  #choose(build: (alg: number) => Ptr): { pd: Ptr; algorithm: Algorithm } {
    if (this.winograd) {
      try {
        return { pd: build(DNNL.convolutionWinograd), algorithm: "winograd" };
      } catch (e) {
        // oneDNN's "unimplemented" (no Winograd on this CPU, say): the direct one serves
        if (!(e instanceof Error && e.message.startsWith("oneDNN:"))) throw e;
      }
    }
    return { pd: build(DNNL.convolutionDirect), algorithm: "direct" };
  }

  /** The backward `kind`'s primitive, its algorithm and its ports. */
  #backward<P extends string>(
    kind: "data" | "weights",
    ports: Record<P, ["x" | "w" | "y", number, boolean]>,
  ): { algorithm: Algorithm; pd: Ptr; prim: Primitive } & Record<P, Port> {
    const { pd, algorithm } = this.#choose((alg) => this.#hinted(kind, alg));
    return { algorithm, ...this.#build(pd, ports) };
  }

  /** The backward `kind`'s primitive descriptor by `alg`, hinted by a forward-training one. */
  #hinted(kind: "data" | "weights", alg: number): Ptr {
    const d = this.#dnnl;
    const hint = primitiveDesc(d, this.#desc("training", alg), false);
    try {
      return primitiveDesc(d, this.#desc(kind, alg), false, hint, true);
    } finally {
      d.sym.dnnl_primitive_desc_destroy(hint);
    }
  }

  /**
   * The primitive of `pd` with a port per entry: which plain array (x, w or y) it binds, the
   * query of the primitive's layout for it, and whether it is an input.
   */
  #build<P extends string>(
    pd: Ptr,
    ports: Record<P, ["x" | "w" | "y", number, boolean]>,
  ): { pd: Ptr; prim: Primitive } & Record<P, Port> {
    const d = this.#dnnl;
    const built: Record<string, Port> = {};
    for (
      const [name, [plain, what, input]] of Object.entries<["x" | "w" | "y", number, boolean]>(
        ports,
      )
    ) {
      const md = d.sym.dnnl_primitive_desc_query_md(pd, what, 0);
      built[name] = new Port(d, this.#md[plain], md, input);
    }
    return { pd, prim: new Primitive(d, pd), ...built as Record<P, Port> };
  }

  #forward(): Forward {
    if (this.#fwd) return this.#fwd;
    const { pd, algorithm } = this.#choose((alg) =>
      primitiveDesc(this.#dnnl, this.#desc("forward", alg), this.relu, null, true)
    );
    this.#fwd = {
      algorithm,
      ...this.#build(pd, {
        x: ["x", DNNL.querySrc, true],
        w: ["w", DNNL.queryWeights, true],
        y: ["y", DNNL.queryDst, false],
      }),
      b: this.hasBias ? new Memory(this.#dnnl, this.#md.b) : null,
    };
    return this.#fwd;
  }

  #backwardData(): BackwardData {
    this.#bwdData ??= this.#backward("data", {
      dy: ["y", DNNL.queryDiffDst, true],
      w: ["w", DNNL.queryWeights, true],
      dx: ["x", DNNL.queryDiffSrc, false],
    });
    return this.#bwdData;
  }

  #backwardWeights(): BackwardWeights {
    this.#bwdWeights ??= {
      ...this.#backward("weights", {
        x: ["x", DNNL.querySrc, true],
        dy: ["y", DNNL.queryDiffDst, true],
        dw: ["w", DNNL.queryDiffWeights, false],
      }),
      db: this.hasBias ? new Memory(this.#dnnl, this.#md.b) : null,
    };
    return this.#bwdWeights;
  }

  /**
   * The layout oneDNN chose for the forward's output, or null where it is the plain one: an
   * output kept in it ({@linkcode forward}'s `blockedOut`) skips the reorder to plain, and a
   * conv that {@linkcode takes} it skips the reorder from plain.
   */
  get outputLayout(): DnnlLayout | null {
    const f = this.#forward();
    if (!f.y.reorder) return null;
    this.#layout ??= new DnnlLayout(this.#dnnl, f.y, {
      retain: () => this.#lent++,
      release: () => {
        if (--this.#lent === 0 && this.#disposed) this.#destroy();
      },
    });
    return this.#layout;
  }

  /** The algorithm of each pass (builds their primitives). */
  get algorithms(): { forward: Algorithm; data: Algorithm; weights: Algorithm } {
    return {
      forward: this.#forward().algorithm,
      data: this.#backwardData().algorithm,
      weights: this.#backwardWeights().algorithm,
    };
  }

  /** Whether an array in `layout` serves as the forward's source as it is. */
  takes(layout: Layout): boolean {
    const f = this.#forward();
    return layout instanceof DnnlLayout && f.x.reorder !== null &&
      this.#dnnl.sym.dnnl_memory_desc_equal(f.x.md, layout.md) === 1;
  }

  /**
   * Whether an array held in `layout` can be the forward's `held` source: as it is where the
   * conv {@linkcode takes} it, else reordered straight into the source layout (one reorder
   * instead of two through the plain one), as between a Winograd conv's layout and a direct one's.
   */
  reads(layout: Layout): boolean {
    return layout instanceof DnnlLayout && this.#forward().x.reorder !== null;
  }

  /** The reorder from `layout` into the forward's source layout, built on first use. */
  #from(layout: DnnlLayout): { prim: Primitive; src: Memory } {
    let r = this.#reorders.get(layout);
    if (!r) {
      if (this.#reorders.size >= 8) this.#dropReorders(); // layouts of convs long gone
      const d = this.#dnnl;
      r = { prim: reorder(d, layout.md, this.#forward().x.md), src: new Memory(d, layout.md) };
      this.#reorders.set(layout, r);
    }
    return r;
  }

  #dropReorders(): void {
    for (const r of this.#reorders.values()) {
      r.prim.destroy();
      r.src.destroy();
    }
    this.#reorders.clear();
  }

  /** Elements of the weights in the forward primitive's layout (0: the plain layout serves). */
  get packedFloats(): number {
    return this.#forward().w.floats;
  }

  /**
   * `weight` `[k, c, kh, kw]` reordered into the forward primitive's layout, into `out`
   * ({@linkcode packedFloats} elements) or a new array, or `weight` itself where the layouts
   * agree: pass it as `packed` to later forwards.
   */
  packWeight(weight: Float32Array, out?: Float32Array): Float32Array {
    const s = this.shape, f = this.#forward();
    expectLength("conv/dnnl", "weight", weight, s.k * s.c * s.kh * s.kw);
    if (!f.w.reorder) return weight;
    const packed = out ?? new Float32Array(f.w.floats);
    expectLength("conv/dnnl", "out", packed, f.w.floats);
    f.w.input(weight, packed);
    return packed;
  }

  /**
   * y `[n, k, oh, ow]` = relu?(conv(x `[n, c, h, w]`, weight) + bias); `packed`: the weight as
   * {@linkcode packWeight} gave it (else it is reordered for this call). `held` replaces x
   * with an array in a oneDNN layout this conv {@linkcode reads} (another conv's output);
   * `blockedOut` receives y in {@linkcode outputLayout} instead of `out` in the plain one.
   */
  forward(
    { x, held, weight, bias = null, out, blockedOut, packed, scratch = moduleScratch }:
      & Lender
      & {
        x?: Float32Array;
        held?: { buffer: Float32Array; layout: Layout };
        weight: Float32Array;
        bias?: Float32Array | null;
        out?: Float32Array;
        blockedOut?: Float32Array;
        packed?: Float32Array;
      },
  ): Float32Array {
    const s = this.shape;
    const f = this.#forward();
    if (held) {
      if (!this.reads(held.layout)) {
        throw new TypeError("conv/dnnl: a held source must be in a layout this conv reads");
      }
      expectLength("conv/dnnl", "held.buffer", held.buffer, held.layout.floats);
    } else if (x) expectLength("conv/dnnl", "x", x, s.n * s.c * s.h * s.w);
    else throw new TypeError("conv/dnnl: forward needs x or a held source");
    const source = held && this.takes(held.layout) ? held.buffer : undefined;
    if (blockedOut) expectLength("conv/dnnl", "blockedOut", blockedOut, f.y.floats);
    expectLength("conv/dnnl", "weight", weight, s.k * s.c * s.kh * s.kw);
    if (this.hasBias) {
      if (!bias) throw new TypeError("conv/dnnl: this conv was built with a bias but got none");
      expectLength("conv/dnnl", "bias", bias, s.k);
    }
    const y = blockedOut ?? out ?? new Float32Array(s.n * s.k * this.oh * this.ow);
    if (!blockedOut) expectLength("conv/dnnl", "out", y, s.n * s.k * this.oh * this.ow);
    const usePacked = packed !== undefined && f.w.reorder !== null;
    const [xb, wb, yb, pad] = lend(scratch, [
      source ? 0 : f.x.floats,
      usePacked ? 0 : f.w.floats,
      blockedOut ? 0 : f.y.floats,
      f.prim.scratchFloats,
    ]);
    if (source) f.x.inner.bind(source);
    else if (held) {
      const r = this.#from(held.layout as DnnlLayout);
      r.src.bind(held.buffer);
      f.x.inner.bind(xb!);
      r.prim.run([[DNNL.argSrc, r.src], [DNNL.argDst, f.x.inner]]);
    } else f.x.input(x!, xb);
    if (usePacked) f.w.inner.bind(packed);
    else f.w.input(weight, wb);
    if (blockedOut) f.y.inner.bind(blockedOut);
    else f.y.bindOutput(y, yb);
    const args: [number, Memory][] = [
      [DNNL.argSrc, f.x.inner],
      [DNNL.argWeights, f.w.inner],
      [DNNL.argDst, f.y.inner],
    ];
    if (f.b && bias) {
      f.b.bind(bias);
      args.push([DNNL.argBias, f.b]);
    }
    f.prim.run(args, pad);
    if (!blockedOut) f.y.output();
    return y;
  }

  /** dx `[n, c, h, w]` from dy `[n, k, oh, ow]` and weight (no ReLU: pass the masked dy). */
  backwardData(
    { dy, weight, out, scratch = moduleScratch }: Lender & {
      dy: Float32Array;
      weight: Float32Array;
      out?: Float32Array;
    },
  ): Float32Array {
    const s = this.shape;
    expectLength("conv/dnnl", "dy", dy, s.n * s.k * this.oh * this.ow);
    expectLength("conv/dnnl", "weight", weight, s.k * s.c * s.kh * s.kw);
    const dx = out ?? new Float32Array(s.n * s.c * s.h * s.w);
    expectLength("conv/dnnl", "out", dx, s.n * s.c * s.h * s.w);
    const b = this.#backwardData();
    const [dyb, wb, dxb, pad] = lend(scratch, [
      b.dy.floats,
      b.w.floats,
      b.dx.floats,
      b.prim.scratchFloats,
    ]);
    b.dy.input(dy, dyb);
    b.w.input(weight, wb);
    b.dx.bindOutput(dx, dxb);
    b.prim.run([
      [DNNL.argDiffDst, b.dy.inner],
      [DNNL.argWeights, b.w.inner],
      [DNNL.argDiffSrc, b.dx.inner],
    ], pad);
    b.dx.output();
    return dx;
  }

  /** dweight `[k, c, kh, kw]` (and dbias `[k]` with a bias) from x and dy. */
  backwardWeights(
    { x, dy, outWeight, outBias, scratch = moduleScratch }: Lender & {
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
    const b = this.#backwardWeights();
    const [xb, dyb, dwb, pad] = lend(scratch, [
      b.x.floats,
      b.dy.floats,
      b.dw.floats,
      b.prim.scratchFloats,
    ]);
    b.x.input(x, xb);
    b.dy.input(dy, dyb);
    b.dw.bindOutput(dw, dwb);
    const args: [number, Memory][] = [
      [DNNL.argSrc, b.x.inner],
      [DNNL.argDiffDst, b.dy.inner],
      [DNNL.argDiffWeights, b.dw.inner],
    ];
    if (b.db && db) {
      b.db.bind(db);
      args.push([DNNL.argDiffBias, b.db]);
    }
    b.prim.run(args, pad);
    b.dw.output();
    return { dWeight: dw, dBias: db };
  }

  /** Frees the primitives and memory objects (once no array is held in its output layout). */
  dispose(): void {
    this.#disposed = true;
    if (this.#lent === 0) this.#destroy();
  }

  #destroy(): void {
    this.#layout?.destroy();
    this.#dropReorders();
    const d = this.#dnnl;
    for (const p of [this.#fwd, this.#bwdData, this.#bwdWeights]) {
      if (!p) continue;
      p.prim.destroy();
      d.sym.dnnl_primitive_desc_destroy(p.pd);
    }
    const f = this.#fwd, bd = this.#bwdData, bw = this.#bwdWeights;
    for (const port of [f?.x, f?.w, f?.y, bd?.dy, bd?.w, bd?.dx, bw?.x, bw?.dy, bw?.dw]) {
      port?.destroy();
    }
    f?.b?.destroy();
    bw?.db?.destroy();
    this.#fwd = this.#bwdData = this.#bwdWeights = undefined;
  }
}

/** A max pooling on oneDNN ({@linkcode DnnlLayout.maxPool}), freed with its source layout. */
interface DnnlMaxPool extends HeldPool {
  readonly layout: DnnlLayout;
  destroy(): void;
}

/**
 * A conv's output layout (see {@linkcode DnnlConv2d.outputLayout}): its descriptor, and the
 * reorder to plain of the conv's output port.
 */
export class DnnlLayout implements Layout {
  /** Floats an array in this layout holds (padded channels included). */
  readonly floats: number;
  /** The descriptor (valid while the layout is retained or its conv lives). */
  readonly md: Ptr;
  readonly #dnnl: DnnlLibrary;
  readonly #port: Port;
  readonly #hold: { retain(): void; release(): void };
  /** The add (and add + ReLU) primitives over this layout, built on first use. */
  readonly #adds = new Map<boolean, { prim: Primitive; a: Memory; b: Memory; y: Memory }>();
  /** The max poolings over this layout by geometry (null: not on oneDNN), built on first use. */
  readonly #pools = new Map<string, DnnlMaxPool | null>();

  /** The layout of `port`'s primitive side; `hold` keeps its conv alive. */
  constructor(dnnl: DnnlLibrary, port: Port, hold: { retain(): void; release(): void }) {
    this.#dnnl = dnnl;
    this.#port = port;
    this.#hold = hold;
    this.md = port.md;
    this.floats = port.floats;
  }

  toPlain(buffer: Float32Array, plain: Float32Array): void {
    expectLength("conv/dnnl", "buffer", buffer, this.floats);
    this.#port.bindOutput(plain, buffer);
    this.#port.output();
  }

  /**
   * y = a + b (then ReLU when asked), all three in this layout (padding included), on oneDNN's
   * threads: the residual join of two held conv outputs.
   */
  add(a: Float32Array, b: Float32Array, y: Float32Array, relu: boolean): void {
    for (const [name, v] of [["a", a], ["b", b], ["y", y]] as const) {
      expectLength("conv/dnnl add", name, v, this.floats);
    }
    let op = this.#adds.get(relu);
    if (!op) {
      const d = this.#dnnl, desc = new Uint8Array(OP_DESC_BYTES);
      check(
        d.sym.dnnl_binary_desc_init(desc, DNNL.binaryAdd, this.md, this.md, this.md),
        "dnnl_binary_desc_init",
      );
      const pd = primitiveDesc(d, desc, relu);
      const prim = new Primitive(d, pd);
      d.sym.dnnl_primitive_desc_destroy(pd);
      op = {
        prim,
        a: new Memory(d, this.md),
        b: new Memory(d, this.md),
        y: new Memory(d, this.md),
      };
      this.#adds.set(relu, op);
    }
    op.a.bind(a);
    op.b.bind(b);
    op.y.bind(y);
    op.prim.run([[DNNL.argSrc, op.a], [DNNL.argSrc1, op.b], [DNNL.argDst, op.y]]);
  }

  /**
   * The max pooling (inference: no indices) of `g` over arrays in this layout, built on first use;
   * null where oneDNN cannot express it (a window that ends past the padded input) or its output
   * layout is the plain one. Its output layout keeps this one's conv alive while held.
   */
  maxPool(g: PoolGeom): DnnlMaxPool | null {
    const key = JSON.stringify(g);
    if (this.#pools.has(key)) return this.#pools.get(key)!;
    let op: DnnlMaxPool | null = null;
    const padR = [
      (g.oh - 1) * g.strideH + g.kh - g.h - g.padH,
      (g.ow - 1) * g.strideW + g.kw - g.w - g.padW,
    ];
    if (padR[0] >= 0 && padR[1] >= 0) op = this.#buildPool(g, padR);
    this.#pools.set(key, op);
    return op;
  }

  #buildPool(g: PoolGeom, padR: number[]): DnnlMaxPool | null {
    const d = this.#dnnl, desc = new Uint8Array(OP_DESC_BYTES), out = [g.n, g.c, g.oh, g.ow];
    const described = d.sym.dnnl_pooling_v2_forward_desc_init(
      desc,
      DNNL.forwardInference,
      DNNL.poolingMax,
      this.md,
      anyMd(d, out),
      dims([g.strideH, g.strideW]),
      dims([g.kh, g.kw]),
      dims([0, 0]),
      dims([g.padH, g.padW]),
      dims(padR),
    );
    const pdOut = outPointer();
    // A geometry oneDNN does not take (an unusual padding, say) runs on the plain path instead.
    if (
      described !== DNNL.success ||
      d.sym.dnnl_primitive_desc_create(pdOut, desc, null, d.engine, null) !== DNNL.success
    ) return null;
    const pd = pointerOf(pdOut);
    const y = new Port(
      d,
      plainMd(d, out),
      d.sym.dnnl_primitive_desc_query_md(pd, DNNL.queryDst, 0),
      false,
    );
    if (!y.reorder) {
      y.destroy();
      d.sym.dnnl_primitive_desc_destroy(pd);
      return null;
    }
    const prim = new Primitive(d, pd);
    const x = new Memory(d, this.md);
    const layout = new DnnlLayout(d, y, this.#hold);
    const pool: DnnlMaxPool = {
      layout,
      run: (src, dst) => {
        expectLength("pool/dnnl", "x", src, this.floats);
        expectLength("pool/dnnl", "y", dst, layout.floats);
        x.bind(src);
        y.inner.bind(dst);
        prim.run([[DNNL.argSrc, x], [DNNL.argDst, y.inner]]);
      },
      destroy: () => {
        layout.destroy();
        prim.destroy();
        x.destroy();
        y.destroy();
        d.sym.dnnl_primitive_desc_destroy(pd);
      },
    };
    return pool;
  }

  /** Frees the add and pooling primitives (the conv's teardown). */
  destroy(): void {
    for (const op of this.#adds.values()) {
      op.prim.destroy();
      for (const m of [op.a, op.b, op.y]) m.destroy();
    }
    this.#adds.clear();
    for (const pool of this.#pools.values()) pool?.destroy();
    this.#pools.clear();
  }

  same(other: Layout): boolean {
    return other === this ||
      other instanceof DnnlLayout && this.#dnnl.sym.dnnl_memory_desc_equal(this.md, other.md) === 1;
  }

  retain(): void {
    this.#hold.retain();
  }

  release(): void {
    this.#hold.release();
  }
}

/** Shapes whose primitives stay built (images of many sizes would otherwise pile them up). */
const CACHED_SHAPES = 256;
/** Built convs by shape and options, least recently used first. */
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
export function dnnlConv(shape: DnnlConvShape, options: DnnlConvOptions = {}): DnnlConv2d {
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
    options.winograd ?? false,
  ]);
  let conv = cache.get(key);
  if (conv) {
    cache.delete(key); // most recently used last
  } else {
    conv = new DnnlConv2d(shape, options);
    if (cache.size >= CACHED_SHAPES) {
      const [oldest, old] = cache.entries().next().value!;
      cache.delete(oldest);
      old.dispose();
    }
  }
  cache.set(key, conv);
  return conv;
}

/** The cached {@linkcode DnnlConv2d} of the backends' geometry `g`. */
export function dnnlConvOf(
  g: ConvGeom,
  options: { relu?: boolean; bias?: boolean; winograd?: boolean } = {},
): DnnlConv2d {
  const conv = dnnlConv({ n: g.n, c: g.c, h: g.h, w: g.w, k: g.k, kh: g.kh, kw: g.kw }, {
    stride: [g.strideH, g.strideW],
    padding: [g.padH, g.padW],
    dilation: [g.dilH, g.dilW],
    ...options,
  });
  if (conv.oh !== g.oh || conv.ow !== g.ow) {
    throw new RangeError(
      `conv/dnnl: the geometry says ${g.oh}x${g.ow} outputs but its sizes give ${conv.oh}x${conv.ow}`,
    );
  }
  return conv;
}

/** The backends' conv forward (`Kernels.conv2d`'s geometry) on oneDNN, into `out`. */
export function conv2dGeom(
  x: Float32Array,
  w: Float32Array,
  b: Float32Array | null,
  g: ConvGeom,
  { relu = false, out }: { relu?: boolean; out?: Float32Array } = {},
): Float32Array {
  return dnnlConvOf(g, { relu, bias: b !== null }).forward({ x, weight: w, bias: b, out });
}
