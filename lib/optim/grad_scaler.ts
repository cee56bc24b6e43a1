/**
 * Dynamic loss scaling for mixed precision, with `torch.cuda.amp.GradScaler`'s rules.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { scale } from "../ops/elementwise.ts";
import type { SGD } from "./sgd.ts";

/** Options of {@linkcode GradScaler}; PyTorch's defaults. */
export interface GradScalerOptions {
  /** Initial scale (default 2^16). */
  initScale?: number;
  /** Factor applied after `growthInterval` clean steps (default 2). */
  growthFactor?: number;
  /** Factor applied on overflow (default 0.5). */
  backoffFactor?: number;
  /** Clean steps before growing (default 2000). */
  growthInterval?: number;
}

/** The resumable part of a scaler. */
export interface GradScalerState {
  /** The current loss scale. */
  scale: number;
  /** Clean steps since the scale last changed. */
  growthTracker: number;
}

/**
 * Scales the loss before `backward()` so that small f16 gradients do not flush to zero, then
 * unscales the gradients and steps — or, when any gradient overflowed, skips the step and halves
 * the scale; after 2000 clean steps in a row the scale doubles.
 *
 * @example
 * ```ts
 * import { GradScaler, requestDevice, SGD, sum, tensor } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * const w = tensor([1, 2], [2], device, { requiresGrad: true });
 * const sgd = new SGD([w], { lr: 0.5 });
 * const scaler = new GradScaler();
 * scaler.scale(sum(w)).backward();
 * assertEquals(await scaler.step(sgd), true);
 * assertEquals(Array.from(await w.toArray()), [0.5, 1.5]);
 * ```
 */
export class GradScaler {
  /** Current scale. */
  scaleValue: number;
  /** Clean steps since the last growth or overflow. */
  growthTracker = 0;
  readonly #growth: number;
  readonly #backoff: number;
  readonly #interval: number;

  /** Starts at `initScale`. */
  constructor(options: GradScalerOptions = {}) {
    this.scaleValue = options.initScale ?? 65536;
    this.#growth = options.growthFactor ?? 2;
    this.#backoff = options.backoffFactor ?? 0.5;
    this.#interval = options.growthInterval ?? 2000;
  }

  /** `loss * scale` (differentiable). */
  scale(loss: Tensor): Tensor {
    return scale(loss, this.scaleValue);
  }

  /**
   * Unscales every gradient of `sgd`'s parameters, checks them for infinities and NaNs (one
   * read of a single value), steps when all are finite, and updates the scale. Returns whether
   * the step was taken. In a data-parallel job, `agree` turns this process's verdict into the
   * job's (finite only where every rank's was), so that every rank steps or skips alike.
   */
  async step(
    sgd: SGD,
    options: { agree?: (finite: boolean) => boolean } = {},
  ): Promise<boolean> {
    const params = sgd.params.filter((p) => p.grad !== null);
    if (params.length === 0) return false;
    const inv = 1 / this.scaleValue;
    for (const p of params) {
      const g = p.grad!;
      g.assign(g.device.backend.affine({ x: g.storage, alpha: inv, beta: 0 }));
    }
    // 0 * x is NaN exactly when x is infinite or NaN, so this sum is finite iff all are.
    const b = params[0].device.backend;
    let probe = b.fill({ length: 1, dtype: "f32", value: 0 });
    for (const p of params) {
      const z = b.affine({ x: p.grad!.storage, alpha: 0, beta: 0 });
      const s = b.sum({ x: z, outer: 1, len: z.length, inner: 1 });
      const next = b.binary({ op: "add", a: probe, b: s });
      for (const t of [z, s, probe]) b.free(t);
      probe = next;
    }
    const local = Number.isFinite((await b.read(probe))[0]);
    b.free(probe);
    const finite = options.agree ? options.agree(local) : local;
    if (finite) {
      sgd.step();
      if (++this.growthTracker >= this.#interval) {
        this.scaleValue *= this.#growth;
        this.growthTracker = 0;
      }
    } else {
      this.scaleValue *= this.#backoff;
      this.growthTracker = 0;
    }
    return finite;
  }

  /** The resumable state. */
  state(): GradScalerState {
    return { scale: this.scaleValue, growthTracker: this.growthTracker };
  }

  /** Restores a state saved by {@linkcode GradScaler.state}. */
  load(s: GradScalerState): void {
    if (!(s.scale > 0)) {
      throw new RangeError(`GradScaler: expected a positive scale but got ${s.scale}`);
    }
    this.scaleValue = s.scale;
    this.growthTracker = s.growthTracker;
  }
}
