/**
 * Modules: trees of named parameters, buffers and children whose flattened names are exactly
 * PyTorch's `state_dict` keys.
 *
 * @module
 */
import type { HostTensor, StateDict } from "../io/host_tensor.ts";
import { type Device, Tensor, tensor } from "../tensor.ts";
import { initSkipped } from "./init.ts";

/** What {@linkcode Module.loadStateDict} did. */
export interface LoadReport {
  /** Keys loaded. */
  loaded: string[];
  /** Keys of the model absent from the dict (left as initialised). */
  missing: string[];
  /** Keys of the dict the model does not have (ignored). */
  unexpected: string[];
  /** Keys present in both with different shapes (left as initialised). */
  mismatched: { key: string; expected: number[]; found: number[] }[];
}

/** Options of {@linkcode Module.loadStateDict}. */
export interface LoadOptions {
  /** Throw unless every key matches in name and shape (default true). */
  strict?: boolean;
  /**
   * Let the parameters take the dict's arrays themselves where the backend keeps host memory
   * (BLAS, cpu): no copy, but the dict must not be used afterwards (default false).
   */
  adopt?: boolean;
}

/** A host-side integer buffer (e.g. BatchNorm's `num_batches_tracked`). */
export interface HostScalar {
  /** The current value. */
  value: number;
}

/** Base class of layers and models. */
export abstract class Module {
  /** Training mode (batch statistics, dropout) or evaluation mode. */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #scalars = new Map<string, HostScalar>();
  readonly #children = new Map<string, Module>();

  /** Registers a trainable parameter (it requires grad and survives tidy). */
  protected addParameter(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.keep();
    this.#params.set(name, t);
    return t;
  }

  /** Registers a non-trainable device buffer (e.g. running statistics). */
  protected addBuffer(name: string, t: Tensor): Tensor {
    t.keep();
    this.#buffers.set(name, t);
    return t;
  }

  /** Registers a host integer buffer saved in the state dict as a 0-d i32 tensor. */
  protected addScalar(name: string, s: HostScalar): HostScalar {
    this.#scalars.set(name, s);
    return s;
  }

  /** Registers a child module under `name`. */
  addModule<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }

  /** Direct children by name. */
  children(): [string, Module][] {
    return [...this.#children];
  }

  /** Every parameter with its full dotted name, in registration order. */
  namedParameters(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.#params) out.push([prefix + n, t]);
    for (const [n, m] of this.#children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Every device buffer with its full dotted name. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, t] of this.#buffers) out.push([prefix + n, t]);
    for (const [n, m] of this.#children) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  /** Every host scalar with its full dotted name. */
  namedScalars(prefix = ""): [string, HostScalar][] {
    const out: [string, HostScalar][] = [];
    for (const [n, s] of this.#scalars) out.push([prefix + n, s]);
    for (const [n, m] of this.#children) out.push(...m.namedScalars(`${prefix}${n}.`));
    return out;
  }

  /** The trainable parameters. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Number of trainable values. */
  parameterCount(): number {
    return this.parameters().reduce((a, t) => a + t.size, 0);
  }

  /** Sets training mode on this module and its children; returns this. */
  train(mode = true): this {
    if (mode) this.releaseDerived();
    this.training = mode;
    for (const m of this.#children.values()) m.train(mode);
    return this;
  }

  /** Sets evaluation mode; returns this. */
  eval(): this {
    return this.train(false);
  }

  /** Parameters and buffers copied to the host, keyed as PyTorch's `state_dict()`. */
  async stateDict(): Promise<StateDict> {
    const out: StateDict = {};
    const tensors = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    const scalars = new Map(this.namedScalars());
    for (const k of this.#keyOrder()) {
      const t = tensors.get(k);
      if (t) out[k] = { dtype: t.dtype, shape: [...t.shape], data: await t.toArray() };
      else out[k] = { dtype: "i32", shape: [], data: new Int32Array([scalars.get(k)!.value]) };
    }
    return out;
  }

  /** Keys in PyTorch's order: a module's own parameters, then buffers, then children. */
  #keyOrder(prefix = ""): string[] {
    const out = [...this.#params.keys(), ...this.#buffers.keys(), ...this.#scalars.keys()].map(
      (n) => prefix + n,
    );
    for (const [n, m] of this.#children) out.push(...m.#keyOrder(`${prefix}${n}.`));
    return out;
  }

  /**
   * Loads parameters and buffers by PyTorch key. Strict (the default) throws listing every
   * missing, unexpected and shape-mismatched key; otherwise loads what fits and reports the rest.
   */
  loadStateDict(dict: StateDict, options: LoadOptions = {}): LoadReport {
    const strict = options.strict ?? true;
    const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [] };
    const tensors = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    const scalars = new Map(this.namedScalars());
    const known = new Set([...tensors.keys(), ...scalars.keys()]);
    for (const key of Object.keys(dict)) if (!known.has(key)) report.unexpected.push(key);
    const updates: [Tensor, HostTensor][] = [];
    for (const [key, t] of tensors) {
      const h = dict[key];
      if (!h) {
        report.missing.push(key);
      } else if (h.shape.reduce((a, b) => a * b, 1) !== t.size || !sameShape(h.shape, t.shape)) {
        report.mismatched.push({ key, expected: [...t.shape], found: [...h.shape] });
      } else updates.push([t, h]);
    }
    if (
      strict &&
      (report.missing.length || report.unexpected.length || report.mismatched.length)
    ) {
      throw new Error(`loadStateDict: the weights do not match the model.\n${describe(report)}`);
    }
    for (const [t, h] of updates) {
      const data = t.dtype === "f32" ? toF32(h.data) : toI32(h.data);
      const b = t.device.backend;
      t.assign(options.adopt && b.adopt ? b.adopt(data) : b.upload(data));
    }
    for (const [key, s] of scalars) {
      const h = dict[key];
      if (h && h.data.length === 1) {
        s.value = Number(h.data[0]);
        report.loaded.push(key);
      } else if (!h) report.missing.push(key);
    }
    report.loaded.push(...updates.map(([t]) => [...tensors].find(([, v]) => v === t)![0]));
    return report;
  }

  /**
   * Frees what a layer keeps derived from its tensors (folded inference weights); called on
   * this module and its children by `train(true)` and `dispose()`.
   */
  protected releaseDerived(): void {}

  #releaseAll(): void {
    this.releaseDerived();
    for (const m of this.#children.values()) m.#releaseAll();
  }

  /** Frees every parameter and buffer (and their gradients). */
  dispose(): void {
    this.#releaseAll();
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      t.grad?.dispose();
      t.dispose();
    }
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  // A 0-d tensor and a 1-element tensor are interchangeable (num_batches_tracked).
  if (a.length === 0 || b.length === 0) return a.length + b.length <= 1;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function toF32(d: Float32Array | Int32Array): Float32Array {
  return d instanceof Float32Array ? d : Float32Array.from(d);
}

function toI32(d: Float32Array | Int32Array): Int32Array {
  return d instanceof Int32Array ? d : Int32Array.from(d);
}

/** A human-readable list of what did not match. */
export function describe(r: LoadReport): string {
  const lines: string[] = [];
  const list = (xs: string[]) => xs.slice(0, 20).join(", ") + (xs.length > 20 ? ", ..." : "");
  if (r.missing.length) lines.push(`  missing (${r.missing.length}): ${list(r.missing)}`);
  if (r.unexpected.length) {
    lines.push(`  unexpected (${r.unexpected.length}): ${list(r.unexpected)}`);
  }
  if (r.mismatched.length) {
    lines.push(
      `  shape mismatch (${r.mismatched.length}): ` +
        r.mismatched.slice(0, 20).map((m) => `${m.key} model [${m.expected}] file [${m.found}]`)
          .join(", "),
    );
  }
  return lines.join("\n");
}

/** Creates a kept f32 tensor (parameters and buffers). */
export function hostTensor(data: Float32Array, shape: number[], device: Device): Tensor {
  const b = device.backend;
  if (initSkipped() && b.adopt) return new Tensor(b.adopt(data), shape, device).keep(); // no copy
  return tensor(data, shape, device).keep();
}
