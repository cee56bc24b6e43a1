/**
 * Stochastic gradient descent with PyTorch's update rule.
 *
 * @module
 */
import type { HostTensor } from "../io/host_tensor.ts";
import { Tensor } from "../tensor.ts";

/** Options of {@linkcode SGD}. */
export interface SgdOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false). */
  nesterov?: boolean;
}

/** A group of parameters sharing options (e.g. a larger learning rate for new layers). */
export interface ParamGroup {
  /** The parameters of the group. */
  params: Tensor[];
  /** Multiplies the optimizer's learning rate for this group (default 1). */
  lrMultiplier?: number;
}

/**
 * `torch.optim.SGD`: `d = g + wd * p; buf = momentum * buf + (1 - dampening) * d`
 * (`buf = d` on the first step); `d = nesterov ? d + momentum * buf : buf; p -= lr * d`.
 * Updates run on the device, in place.
 *
 * @example
 * ```ts
 * import { requestDevice, SGD, sum, tensor } from "@x/fcn";
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const w = tensor([1], [1], device, { requiresGrad: true });
 * const sgd = new SGD([w], { lr: 0.1 });
 * sum(w).backward(); // grad 1
 * sgd.step();
 * assertAlmostEquals(await w.item(), 0.9, 1e-6);
 * ```
 */
export class SGD {
  /** Base learning rate (schedules change it between steps). */
  lr: number;
  /** Momentum factor. */
  readonly momentum: number;
  /** Dampening of the momentum. */
  readonly dampening: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  /** Parameter groups. */
  readonly groups: ParamGroup[];
  #buffers = new Map<Tensor, Tensor>();

  /** Optimises `params` (tensors or groups). */
  constructor(params: Tensor[] | ParamGroup[], options: SgdOptions) {
    this.groups = params.length > 0 && "params" in params[0]
      ? params as ParamGroup[]
      : [{ params: params as Tensor[] }];
    if (!(options.lr >= 0)) throw new RangeError(`SGD: expected lr >= 0 but got ${options.lr}`);
    this.lr = options.lr;
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.weightDecay = options.weightDecay ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError("SGD: nesterov needs momentum > 0 and dampening 0");
    }
  }

  /** All optimised parameters. */
  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Frees and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Updates every parameter that has a gradient. */
  step(): void {
    for (const group of this.groups) {
      const lr = this.lr * (group.lrMultiplier ?? 1);
      for (const p of group.params) {
        if (!p.grad) continue;
        const b = p.device.backend;
        let buf = this.#buffers.get(p) ?? null;
        const first = this.momentum !== 0 && buf === null;
        if (first) {
          buf = new Tensor(b.fill({ length: p.size, dtype: "f32", value: 0 }), p.shape, p.device)
            .keep();
          this.#buffers.set(p, buf);
        }
        b.sgd({
          param: p.storage,
          grad: p.grad.storage,
          buf: buf?.storage ?? null,
          update: {
            lr,
            momentum: this.momentum,
            dampening: this.dampening,
            weightDecay: this.weightDecay,
            nesterov: this.nesterov,
            first,
          },
        });
        p.version++;
      }
    }
  }

  /** Momentum buffers in parameter order (null where none yet), for checkpoints. */
  async stateDict(): Promise<(HostTensor | null)[]> {
    const out: (HostTensor | null)[] = [];
    for (const p of this.params) {
      const buf = this.#buffers.get(p);
      out.push(buf ? { dtype: "f32", shape: [...p.shape], data: await buf.toArray() } : null);
    }
    return out;
  }

  /** Restores momentum buffers saved by {@linkcode SGD.stateDict}. */
  loadStateDict(state: (HostTensor | null)[]): void {
    const params = this.params;
    if (state.length !== params.length) {
      throw new RangeError(
        `SGD state has ${state.length} buffers but the optimizer has ${params.length} parameters`,
      );
    }
    params.forEach((p, i) => {
      this.#buffers.get(p)?.dispose();
      this.#buffers.delete(p);
      const s = state[i];
      if (!s) return;
      if (s.data.length !== p.size) {
        throw new RangeError(`SGD state ${i}: expected ${p.size} values but got ${s.data.length}`);
      }
      const t = new Tensor(
        p.device.backend.upload(Float32Array.from(s.data)),
        p.shape,
        p.device,
      ).keep();
      this.#buffers.set(p, t);
    });
  }

  /** Frees the momentum buffers. */
  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
  }
}
