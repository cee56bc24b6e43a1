/**
 * Reverse-mode autodiff on a tape.
 *
 * Each op records a {@linkcode Node} on its output. `backward()` walks the graph in reverse
 * topological order and applies one rule per op from {@linkcode rules}; the table is typed as
 * `{ [P in OpName]: Rule<P> }`, so an op without a backward rule does not compile. Rules work on
 * backend storages directly, so no graph is built while differentiating. After `backward()`
 * every intermediate of the graph is freed (not the root and not kept tensors).
 *
 * The tape sees tensors through {@linkcode TapeTensor}, the little it reads and writes on them,
 * and never imports lib/tensor.ts: `Tensor` (lib/tensor.ts) imports this module and its
 * `backward()` calls {@linkcode backward}.
 *
 * @module
 */
import type { Backend, BinaryOp, ConvGeom, Planes, PoolGeom, Storage } from "./device/backend.ts";
import { type StatsReducer, syncBatchNormGrad } from "./ops/norm_sync.ts";

/** What the tape reads and writes on a tensor; `Tensor` (lib/tensor.ts) is the implementation. */
export interface TapeTensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** The backend storage of the data. */
  readonly storage: Storage;
  /** The device whose backend owns the storage. */
  readonly device: { readonly backend: Backend };
  /** Whether gradients flow to or through this tensor. */
  requiresGrad: boolean;
  /** How this tensor was made, when it is part of a graph. */
  node: Node | null;
  /** Exempt from being freed by `backward()`. */
  readonly kept: boolean;
  /** The accumulated gradient of a leaf. */
  readonly grad: { readonly storage: Storage } | null;
  /** Replaces the gradient by `g`, which the tensor takes over. */
  setGrad(g: Storage): void;
  /** Frees the storage. */
  dispose(): void;
}

/** What each op keeps for its backward pass (beyond its inputs and output). */
export interface OpStates {
  /** 2-D convolution. */
  conv2d: { g: ConvGeom; bias: boolean; relu: boolean; f16: F16Inputs | null };
  /** `g` is the geometry of the convolution whose input-gradient this op computes. */
  convTranspose2d: { g: ConvGeom; bias: boolean; f16: F16Inputs | null };
  /** Max pooling with the argmax indices. */
  maxPool2d: { g: PoolGeom; idx: Storage };
  /** ReLU (uses its output). */
  relu: Record<never, never>;
  /** Element-wise arithmetic; `scalarB` when b has one element. */
  binary: { op: BinaryOp; scalarB: boolean };
  /** Scaling by `alpha`. */
  affine: { alpha: number };
  /** Dropout with its seed (or per-sample seeds). */
  dropout: { p: number; seed: number; group: number; seeds?: readonly number[] };
  /** Batch norm with the statistics it used. */
  batchNorm2d: {
    p: Planes;
    mean: Storage;
    var: Storage;
    eps: number;
    training: boolean;
    /** Set when the statistics are a global batch's, summed across processes. */
    sync: StatsReducer | null;
    /** Values per channel the statistics were taken over (every process's, with `sync`). */
    count: number;
  };
  /** Bilinear resize. */
  interpolate: { p: Planes; oh: number; ow: number; alignCorners: boolean };
  /** Crop of a window. */
  crop: { p: Planes; oh: number; ow: number; top: number; left: number };
  /** `p` is the padded (output) size, oh/ow the input's. */
  pad: { p: Planes; oh: number; ow: number; top: number; left: number };
  /** Cross entropy; `denom` is the summed pixel weight of "mean". */
  crossEntropy: {
    /** Batch size N. */
    n: number;
    /** Output channels K. */
    k: number;
    hw: number;
    ignoreIndex: number;
    /** For "mean": the sum of pixel weights (1 element), owned by the node. */
    denom: Storage | null;
  };
  /** Negative log-likelihood; `denom` is the summed pixel weight of "mean". */
  nllLoss: {
    /** Batch size N. */
    n: number;
    /** Classes K. */
    k: number;
    hw: number;
    ignoreIndex: number;
    /** For "mean": the sum of pixel weights (1 element), owned by the node. */
    denom: Storage | null;
  };
  /** Softmax (or, with `log`, log-softmax) along len of `[outer, len, inner]`; uses its output. */
  softmax: { outer: number; len: number; inner: number; log: boolean };
  /** Sum (or mean, with `scale`) along an axis. */
  sum: { outer: number; len: number; inner: number; scale: number };
  /** Matrix product. */
  matmul: { m: number; k: number; n: number; f16: F16Inputs | null };
  /** Copy into a new shape. */
  reshape: Record<never, never>;
}

/** Under {@linkcode autocast}: the f16-rounded copies of an op's two inputs (owned by the node). */
export interface F16Inputs {
  /** The rounded first input (x, or a). */
  x: Storage;
  /** The rounded second input (the weight, or b). */
  w: Storage;
}

/** Names of differentiable ops. */
export type OpName = keyof OpStates;

/** A recorded op application: how its output was made. */
export interface Node<P extends OpName = OpName> {
  /** The op that made the output. */
  op: P;
  /** Inputs in the op's order; tensors that need no gradient get `null` from the rule. */
  inputs: TapeTensor[];
  /** The tensor this node made. */
  output: TapeTensor;
  /** What the op keeps for its backward pass. */
  state: OpStates[P];
  /** Storages the node owns and frees when the tape is released. */
  owned: Storage[];
}

/** A backward rule: the gradient of each input (or null) from the output's gradient `dy`. */
export type Rule<P extends OpName> = (
  node: Node<P>,
  dy: Storage,
  b: Backend,
) => (Storage | null)[];

let gradEnabled = true;
let autocastF16 = false;

/** Whether convolutions and matmuls currently compute in mixed precision. */
export function isAutocast(): boolean {
  return autocastF16;
}

/**
 * Runs `fn` with mixed precision, as `torch.autocast`: conv2d, convTranspose2d and matmul take
 * f16-rounded inputs, accumulate in f32 and give f16-rounded outputs and gradients; the other
 * ops stay f32. Where the backend has no f16 support it runs `fn` in f32.
 *
 * @example
 * ```ts
 * import { autocast, matmul, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const a = tensor([1.0001, 2], [1, 2], device), b = tensor([1, 1], [2, 1], device);
 * assertEquals(Array.from(await autocast(() => matmul(a, b)).toArray()), [3]);
 * ```
 */
export function autocast<T>(fn: () => T, options: { enabled?: boolean } = {}): T {
  const prev = autocastF16;
  autocastF16 = options.enabled ?? true;
  try {
    return fn();
  } finally {
    autocastF16 = prev;
  }
}

/**
 * Rounds `s` to f16 when `on`, freeing the unrounded storage; otherwise returns `s`.
 */
export function round16(b: Backend, s: Storage, on: boolean): Storage {
  if (!on) return s;
  const r = b.roundF16({ x: s });
  b.free(s);
  return r;
}

/** Whether ops currently record a graph. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Runs `fn` without recording a graph (evaluation, metrics, optimizer updates).
 *
 * @example
 * ```ts
 * import { noGrad, relu, requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([1, -1], [2], device, { requiresGrad: true });
 * const y = noGrad(() => relu(x));
 * assertEquals(y.requiresGrad, false);
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Records `op` on `out` when grad mode is on and an input requires a gradient; otherwise frees
 * `owned` at once. Returns `out`.
 */
export function record<P extends OpName, T extends TapeTensor>(
  out: T,
  /** The op that made the output. */
  op: P,
  /** Inputs in the op's order. */
  inputs: TapeTensor[],
  /** What the op keeps for its backward pass. */
  state: OpStates[P],
  /** Storages the node owns and frees when the tape is released. */
  owned: Storage[] = [],
): T {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, output: out, state, owned } as Node;
  } else {
    for (const s of owned) out.device.backend.free(s);
  }
  return out;
}

const need = (t: TapeTensor | undefined): boolean => t !== undefined && t.requiresGrad;

/** The backward rule of every op. */
export const rules: { [P in OpName]: Rule<P> } = {
  conv2d(node, dy, b) {
    const [x, w, bias] = node.inputs;
    const { g, f16 } = node.state;
    const on = f16 !== null;
    let d = node.state.relu ? b.reluGrad({ dy, y: node.output.storage }) : dy;
    if (on) {
      const r = b.roundF16({ x: d });
      if (d !== dy) b.free(d);
      d = r;
    }
    const grads = [
      need(x)
        ? round16(b, b.conv2dGradInput({ dy: d, w: f16?.w ?? w.storage, geom: g }), on)
        : null,
      need(w)
        ? round16(b, b.conv2dGradWeight({ dy: d, x: f16?.x ?? x.storage, geom: g }), on)
        : null,
      need(bias)
        ? round16(b, b.channelSum({ x: d, planes: { n: g.n, c: g.k, h: g.oh, w: g.ow } }), on)
        : null,
    ];
    if (d !== dy) b.free(d);
    return grads;
  },
  convTranspose2d(node, dy, b) {
    // out = convT(x, w) is the input-gradient of a conv from out's space to x's space,
    // so its gradients are that conv's forward and weight-gradient.
    const [x, w, bias] = node.inputs;
    const { g, f16 } = node.state;
    const on = f16 !== null;
    const d = on ? b.roundF16({ x: dy }) : dy;
    const grads = [
      need(x)
        ? round16(b, b.conv2d({ x: d, w: f16?.w ?? w.storage, b: null, geom: g, relu: false }), on)
        : null,
      need(w)
        ? round16(b, b.conv2dGradWeight({ dy: f16?.x ?? x.storage, x: d, geom: g }), on)
        : null,
      need(bias)
        ? round16(b, b.channelSum({ x: d, planes: { n: g.n, c: g.c, h: g.h, w: g.w } }), on)
        : null,
    ];
    if (d !== dy) b.free(d);
    return grads;
  },
  maxPool2d(node, dy, b) {
    return [b.maxPool2dGrad({ dy, idx: node.state.idx, geom: node.state.g })];
  },
  relu(node, dy, b) {
    return [b.reluGrad({ dy, y: node.output.storage })];
  },
  binary(node, dy, b) {
    const [x, y] = node.inputs;
    const { op, scalarB } = node.state;
    const reduce = (s: Storage): Storage => {
      if (!scalarB) return s;
      const r = b.sum({ x: s, outer: 1, len: s.length, inner: 1 });
      b.free(s);
      return r;
    };
    let dx: Storage | null = null;
    let dyb: Storage | null = null;
    if (op === "add" || op === "sub") {
      if (need(x)) dx = b.affine({ x: dy, alpha: 1, beta: 0 });
      if (need(y)) dyb = reduce(b.affine({ x: dy, alpha: op === "add" ? 1 : -1, beta: 0 }));
    } else if (op === "mul") {
      if (need(x)) dx = b.binary({ op: "mul", a: dy, b: y.storage });
      if (need(y)) dyb = reduce(b.binary({ op: "mul", a: dy, b: x.storage }));
    } else {
      if (need(x)) dx = b.binary({ op: "div", a: dy, b: y.storage });
      if (need(y)) {
        // d(x / y)/dy = -out / y
        const t = b.binary({ op: "mul", a: dy, b: node.output.storage });
        const u = b.binary({ op: "div", a: t, b: y.storage });
        b.free(t);
        dyb = reduce(b.affine({ x: u, alpha: -1, beta: 0 }));
        b.free(u);
      }
    }
    return [dx, dyb];
  },
  affine(node, dy, b) {
    return [b.affine({ x: dy, alpha: node.state.alpha, beta: 0 })];
  },
  dropout(node, dy, b) {
    const { p, seed, group, seeds } = node.state;
    return [b.dropout({ x: dy, p, seed, group, seeds })];
  },
  batchNorm2d(node, dy, b) {
    const [x, gamma, beta] = node.inputs;
    const s = node.state;
    const args = {
      dy,
      x: x.storage,
      mean: s.mean,
      variance: s.var,
      gamma: gamma.storage,
      planes: s.p,
      eps: s.eps,
    };
    const r = s.sync
      ? syncBatchNormGrad(b, { ...args, count: s.count, sync: s.sync })
      : b.batchNormGrad({ ...args, training: s.training });
    const out: (Storage | null)[] = [r.dx, r.dgamma, r.dbeta];
    [x, gamma, beta].forEach((t, i) => {
      if (!need(t)) {
        b.free(out[i]!);
        out[i] = null;
      }
    });
    return out;
  },
  interpolate(node, dy, b) {
    const { p, oh, ow, alignCorners } = node.state;
    return [b.interpolateGrad({ dy, planes: p, oh, ow, alignCorners })];
  },
  crop(node, dy, b) {
    const { p, oh, ow, top, left } = node.state;
    return [b.cropGrad({ dy, planes: p, oh, ow, top, left })];
  },
  pad(node, dy, b) {
    const { p, oh, ow, top, left } = node.state;
    return [b.crop({ x: dy, planes: p, oh, ow, top, left })];
  },
  crossEntropy(node, dy, b) {
    const [logits, target, weight] = node.inputs;
    const { n, k, hw, ignoreIndex, denom } = node.state;
    const g = denom ? b.binary({ op: "div", a: dy, b: denom }) : dy;
    const dx = b.crossEntropyGrad({
      logits: logits.storage,
      target: target.storage,
      weight: weight?.storage ?? null,
      g,
      n,
      k,
      hw,
      ignoreIndex,
    });
    if (g !== dy) b.free(g);
    return [dx, null, null];
  },
  nllLoss(node, dy, b) {
    const [, target, weight] = node.inputs;
    const { n, k, hw, ignoreIndex, denom } = node.state;
    const g = denom ? b.binary({ op: "div", a: dy, b: denom }) : dy;
    const w = weight?.storage ?? null;
    const dx = b.nllLossGrad({ target: target.storage, weight: w, g, n, k, hw, ignoreIndex });
    if (g !== dy) b.free(g);
    return [dx, null, null];
  },
  softmax(node, dy, b) {
    return [b.softmaxGrad({ y: node.output.storage, dy, ...node.state })];
  },
  sum(node, dy, b) {
    const { outer, len, inner, scale } = node.state;
    const r = b.broadcast({ x: dy, outer, len, inner });
    if (scale === 1) return [r];
    const s = b.affine({ x: r, alpha: scale, beta: 0 });
    b.free(r);
    return [s];
  },
  matmul(node, dy, b) {
    const [x, y] = node.inputs;
    const { m, k, n, f16 } = node.state;
    const on = f16 !== null;
    const d = on ? b.roundF16({ x: dy }) : dy;
    const dx = { a: d, b: f16?.w ?? y.storage, m, k: n, n: k, transA: false, transB: true }; // [M,N] @ [N,K]
    const dw = { a: f16?.x ?? x.storage, b: d, m: k, k: m, n, transA: true, transB: false }; // [K,M] @ [M,N]
    const grads = [
      need(x) ? round16(b, b.matmul(dx), on) : null,
      need(y) ? round16(b, b.matmul(dw), on) : null,
    ];
    if (d !== dy) b.free(d);
    return grads;
  },
  reshape(_node, dy, b) {
    return [b.affine({ x: dy, alpha: 1, beta: 0 })];
  },
};

/**
 * Backpropagates from a one-element tensor, accumulating into leaves' `grad`, then releases the
 * tape. `Tensor.backward()` calls it.
 */
export function backward(root: TapeTensor): void {
  if (root.size !== 1) {
    throw new RangeError(
      `backward() needs a one-element loss but got shape [${root.shape}]; reduce it with sum() or mean()`,
    );
  }
  if (!root.requiresGrad) {
    throw new Error("backward() on a tensor that does not require grad: no parameter reached it");
  }
  const b = root.device.backend;
  const order = topoOrder(root);
  const grads = new Map<TapeTensor, Storage>([[
    root,
    b.fill({ length: 1, dtype: "f32", value: 1 }),
  ]]);
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = grads.get(t);
    if (g === undefined || t.node === null) continue;
    grads.delete(t);
    const node = t.node;
    const rule = rules[node.op] as Rule<OpName>;
    const inputGrads = rule(node, g, b);
    b.free(g);
    node.inputs.forEach((inp, j) => {
      const gi = inputGrads[j];
      if (!gi) return;
      if (!inp.requiresGrad) return b.free(gi);
      const prev = grads.get(inp);
      if (prev === undefined) grads.set(inp, gi);
      else {
        grads.set(inp, b.binary({ op: "add", a: prev, b: gi }));
        b.free(prev);
        b.free(gi);
      }
    });
  }
  // What remains are leaves' gradients.
  for (const [leaf, g] of grads) {
    if (leaf.grad === null) leaf.setGrad(g);
    else {
      const sum = b.binary({ op: "add", a: leaf.grad.storage, b: g });
      b.free(g);
      leaf.setGrad(sum);
    }
  }
  // Release the tape.
  for (const t of order) {
    const node = t.node;
    if (node === null) continue;
    for (const s of node.owned) b.free(s);
    t.node = null;
    if (t !== root && !t.kept) t.dispose();
  }
}

function topoOrder(root: TapeTensor): TapeTensor[] {
  const order: TapeTensor[] = [];
  const seen = new Set<TapeTensor>();
  const stack: [TapeTensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.requiresGrad && !seen.has(child)) {
        seen.add(child);
        stack.push([child, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}
