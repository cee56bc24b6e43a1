/**
 * Tensors: a shape, a dtype and a storage on one {@linkcode Device}, plus what autograd needs.
 *
 * Reads are async (`await t.toArray()`); buffers are freed by `dispose()` (or `using`), by
 * `backward()` for the intermediates of a graph, and by {@linkcode tidy} for everything a
 * function created and did not return.
 *
 * @module
 */
import type { Backend, BackendKind, DType, HostArray, Storage } from "./device/backend.ts";
import { backward, type Node, type TapeTensor } from "./autograd.ts";

/**
 * A compute device: one backend (WebGPU, BLAS or the TypeScript reference) behind one API.
 * Create it with `requestDevice()`.
 */
export class Device {
  /** @internal The runtime that owns memory and runs kernels (lib/device/backend.ts). */
  readonly backend: Backend;

  /** @internal Wraps a backend. Use `requestDevice()`. */
  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** Which backend runs the math. */
  get kind(): BackendKind {
    return this.backend.kind;
  }

  /** What the backend runs on, e.g. the adapter's description or the BLAS library. */
  get description(): string {
    return this.backend.description;
  }

  /** Submits all recorded work and waits until it has finished. */
  flush(): Promise<void> {
    return this.backend.flush();
  }

  /** Bytes held by live (not disposed) tensors and internal state. */
  liveBytes(): number {
    return this.backend.liveBytes();
  }

  /** Releases the device and everything on it. */
  destroy(): void {
    this.backend.destroy();
  }
}

/** Options of {@linkcode tensor}. */
export interface TensorOptions {
  /** Track gradients for this tensor (a leaf, such as a parameter). */
  requiresGrad?: boolean;
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

/**
 * An n-dimensional array on a device.
 *
 * @example Create, read and free
 * ```ts
 * import { requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * using t = tensor(new Float32Array([1, 2, 3, 4]), [2, 2], device);
 * assertEquals(t.shape, [2, 2]);
 * assertEquals(Array.from(await t.toArray()), [1, 2, 3, 4]);
 * ```
 */
export class Tensor {
  /** Unique id, for debugging. */
  readonly id: number = nextId++;
  /** Dimensions, outermost first (`[N, C, H, W]` for images). */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** The device holding the data. */
  readonly device: Device;
  /** Whether gradients flow to or through this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient after `backward()` (leaves only). */
  grad: Tensor | null = null;
  /** @internal How this tensor was made, when it is part of a graph (lib/autograd.ts). */
  node: Node | null = null;
  /** Exempt from `tidy()` and from being freed by `backward()`. */
  kept = false;
  /**
   * @internal Counts writes in place (`assign`, optimizer steps), as PyTorch's `_version`: what
   * is derived from the data (folded inference weights) is stale when it changed.
   */
  version = 0;
  #storage: Storage | null;

  /** @internal Wraps a backend storage. Use {@linkcode tensor} or the ops. */
  constructor(storage: Storage, shape: readonly number[], device: Device, requiresGrad = false) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== storage.length) {
      throw new RangeError(
        `Expected ${size} elements for shape [${shape}] but the storage has ${storage.length}`,
      );
    }
    this.#storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = storage.dtype;
    this.device = device;
    this.requiresGrad = requiresGrad;
    scopes.at(-1)?.add(this);
  }

  /** @internal The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this.#storage === null) {
      throw new Error(
        `Tensor #${this.id} [${this.shape}] was already disposed: ` +
          "keep() it or read it before backward() or the end of tidy()",
      );
    }
    return this.#storage;
  }

  /** Whether the data has been freed. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** Number of elements. */
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Copies the data to the host. */
  toArray(): Promise<HostArray> {
    return this.device.backend.read(this.storage);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new RangeError(`item() needs a tensor of 1 element but shape is [${this.shape}]`);
    }
    return (await this.toArray())[0];
  }

  /**
   * @internal Replaces the data with `s` (same length and dtype) and frees the old storage: how
   * optimizers and batch norm update parameters and buffers in place.
   */
  assign(s: Storage): void {
    const old = this.storage;
    if (s.length !== old.length || s.dtype !== old.dtype) {
      throw new RangeError(
        `assign: expected ${old.length} ${old.dtype} elements but got ${s.length} ${s.dtype}`,
      );
    }
    if (s !== old) this.device.backend.free(old);
    this.#storage = s;
    this.version++;
  }

  /** Marks this tensor to survive `tidy()` and `backward()`; returns it. */
  keep(): this {
    this.kept = true;
    return this;
  }

  /** Computes gradients of this scalar with respect to every leaf that requires them. */
  backward(): void {
    backward(this);
  }

  /** @internal Replaces `grad` by a kept tensor on `g` (taken over); backward() calls it. */
  setGrad(g: Storage): void {
    this.grad?.dispose();
    this.grad = new Tensor(g, this.shape, this.device).keep();
  }

  /** Frees the storage; later use throws. Safe to call twice. */
  dispose(): void {
    if (this.#storage !== null) {
      this.device.backend.free(this.#storage);
      this.#storage = null;
    }
    this.node = null;
  }

  /** `using t = ...` support. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * Creates a tensor from host data.
 *
 * @example
 * ```ts
 * import { requestDevice, tensor } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const w = tensor(new Float32Array(6), [2, 3], device, { requiresGrad: true });
 * assertEquals(w.requiresGrad, true);
 * ```
 */
export function tensor(
  data: HostArray | readonly number[],
  shape: readonly number[],
  device: Device,
  options: TensorOptions = {},
): Tensor {
  const host = data instanceof Float32Array || data instanceof Int32Array
    ? data
    : new Float32Array(data);
  const t = new Tensor(device.backend.upload(host), shape, device, options.requiresGrad ?? false);
  if (t.requiresGrad) t.kept = true;
  return t;
}

/**
 * Runs `fn` and disposes every tensor it created that is neither returned (directly, or in an
 * array or plain object) nor kept. The graph behind a returned tensor is kept too, so
 * `tidy(() => loss(...)).backward()` works; backward() then frees it.
 *
 * @example
 * ```ts
 * import { relu, requestDevice, tensor, tidy } from "@x/fcn";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const x = tensor([-1, 2], [2], device);
 * const before = device.liveBytes();
 * const y = tidy(() => relu(relu(x)));
 * assertEquals(device.liveBytes(), before + 8);
 * y.dispose();
 * ```
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  const out = new Set<TapeTensor>();
  collect(result, out);
  // The graphs behind returned tensors stay alive until their backward() frees them.
  const stack = [...out];
  while (stack.length > 0) {
    for (const t of stack.pop()!.node?.inputs ?? []) {
      if (!out.has(t)) {
        out.add(t);
        stack.push(t);
      }
    }
  }
  const parent = scopes.at(-1);
  for (const t of scope) {
    if (out.has(t) || t.kept) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collect(v: unknown, out: Set<TapeTensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) { for (const x of v) collect(x, out); }
  else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, out);
  }
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
