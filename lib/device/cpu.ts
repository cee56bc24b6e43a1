/**
 * The plain TypeScript backend: storages are typed arrays and every kernel is the reference
 * implementation from `lib/kernels/<family>/reference.ts`. It is the oracle the other backends
 * are tested against, and runs everything where no adapter exists.
 *
 * @module
 */
import type {
  Backend,
  BackendKind,
  BinaryOp,
  ConvGeom,
  DType,
  HostArray,
  Planes,
  PoolGeom,
  SgdUpdate,
  Storage,
} from "./backend.ts";
import * as conv from "../kernels/conv/reference.ts";
import * as ew from "../kernels/elementwise/reference.ts";
import * as loss from "../kernels/loss/reference.ts";
import * as mm from "../kernels/matmul/reference.ts";
import * as norm from "../kernels/norm/reference.ts";
import * as optim from "../kernels/optim/reference.ts";
import * as pool from "../kernels/pool/reference.ts";
import * as red from "../kernels/reduce/reference.ts";
import * as rs from "../kernels/resize/reference.ts";

/** A storage of the CPU backends: a typed array. */
export interface HostStorage extends Storage {
  readonly data: HostArray;
}

/** Wraps a typed array as a storage. */
export function wrap(data: HostArray): HostStorage {
  return { length: data.length, dtype: data instanceof Int32Array ? "i32" : "f32", data };
}

/** The typed array of an f32 storage. */
export function f32of(s: Storage): Float32Array {
  return (s as HostStorage).data as Float32Array;
}

/** The typed array of an i32 storage. */
export function i32of(s: Storage): Int32Array {
  return (s as HostStorage).data as Int32Array;
}

/** The reference backend: plain loops over typed arrays. */
export class CpuBackend implements Backend {
  readonly kind: BackendKind = "cpu";
  readonly description: string = "TypeScript reference kernels";
  readonly supportsF16: boolean = true;
  #live = 0;

  /** Tracks a new host storage. */
  protected track(data: HostArray): HostStorage {
    this.#live += data.length * 4;
    return wrap(data);
  }

  upload(data: HostArray): Storage {
    return this.track(data.slice());
  }
  adopt(data: HostArray): Storage {
    return this.track(data);
  }
  read(s: Storage): Promise<HostArray> {
    return Promise.resolve((s as HostStorage).data.slice());
  }
  free(s: Storage): void {
    this.#live -= s.length * 4;
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
  liveBytes(): number {
    return this.#live;
  }
  destroy(): void {}

  fill(length: number, dtype: DType, value: number): Storage {
    return this.track(ew.fill(length, dtype, value));
  }
  binary(op: BinaryOp, a: Storage, b: Storage): Storage {
    return this.track(ew.binary(op, f32of(a), f32of(b)));
  }
  axpby(a: Storage, b: Storage, alpha: number, beta: number): Storage {
    return this.track(ew.axpby(f32of(a), f32of(b), alpha, beta));
  }
  affine(x: Storage, alpha: number, beta: number): Storage {
    return this.track(ew.affine(f32of(x), alpha, beta));
  }
  relu(x: Storage): Storage {
    return this.track(ew.relu(f32of(x)));
  }
  reluGrad(dy: Storage, y: Storage): Storage {
    return this.track(ew.reluGrad(f32of(dy), f32of(y)));
  }
  dropout(x: Storage, p: number, seed: number, group: number): Storage {
    return this.track(ew.dropout(f32of(x), p, seed, group));
  }
  roundF16(x: Storage): Storage {
    return this.track(ew.roundF16(f32of(x)));
  }

  conv2d(x: Storage, w: Storage, b: Storage | null, g: ConvGeom, relu: boolean): Storage {
    return this.track(conv.conv2d(f32of(x), f32of(w), b ? f32of(b) : null, g, relu));
  }
  conv2dGradInput(dy: Storage, w: Storage, g: ConvGeom): Storage {
    return this.track(conv.conv2dGradInput(f32of(dy), f32of(w), g));
  }
  conv2dGradWeight(dy: Storage, x: Storage, g: ConvGeom): Storage {
    return this.track(conv.conv2dGradWeight(f32of(dy), f32of(x), g));
  }
  channelSum(x: Storage, p: Planes): Storage {
    return this.track(conv.channelSum(f32of(x), p));
  }

  maxPool2d(x: Storage, g: PoolGeom): { y: Storage; idx: Storage } {
    const r = pool.maxPool2d(f32of(x), g);
    return { y: this.track(r.y), idx: this.track(r.idx) };
  }
  maxPool2dGrad(dy: Storage, idx: Storage, g: PoolGeom): Storage {
    return this.track(pool.maxPool2dGrad(f32of(dy), i32of(idx), g));
  }

  batchNormStats(x: Storage, p: Planes): { mean: Storage; var: Storage } {
    const r = norm.batchNormStats(f32of(x), p);
    return { mean: this.track(r.mean), var: this.track(r.var) };
  }
  batchNorm(
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    beta: Storage,
    p: Planes,
    eps: number,
  ): Storage {
    return this.track(
      norm.batchNorm(f32of(x), f32of(mean), f32of(variance), f32of(gamma), f32of(beta), p, eps),
    );
  }
  batchNormGrad(
    dy: Storage,
    x: Storage,
    mean: Storage,
    variance: Storage,
    gamma: Storage,
    p: Planes,
    eps: number,
    training: boolean,
  ): { dx: Storage; dgamma: Storage; dbeta: Storage } {
    const r = norm.batchNormGrad(
      f32of(dy),
      f32of(x),
      f32of(mean),
      f32of(variance),
      f32of(gamma),
      p,
      eps,
      training,
    );
    return { dx: this.track(r.dx), dgamma: this.track(r.dgamma), dbeta: this.track(r.dbeta) };
  }

  interpolate(x: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage {
    return this.track(rs.interpolate(f32of(x), p, oh, ow, alignCorners));
  }
  interpolateGrad(dy: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage {
    return this.track(rs.interpolateGrad(f32of(dy), p, oh, ow, alignCorners));
  }
  crop(x: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage {
    return this.track(rs.crop(f32of(x), p, oh, ow, top, left));
  }
  cropGrad(dy: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage {
    return this.track(rs.cropGrad(f32of(dy), p, oh, ow, top, left));
  }

  crossEntropy(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    n: number,
    k: number,
    hw: number,
    ignoreIndex: number,
  ): { loss: Storage; weight: Storage } {
    const r = loss.crossEntropy(
      f32of(logits),
      i32of(target),
      weight ? f32of(weight) : null,
      n,
      k,
      hw,
      ignoreIndex,
    );
    return { loss: this.track(r.loss), weight: this.track(r.weight) };
  }
  crossEntropyGrad(
    logits: Storage,
    target: Storage,
    weight: Storage | null,
    g: Storage,
    n: number,
    k: number,
    hw: number,
    ignoreIndex: number,
  ): Storage {
    return this.track(
      loss.crossEntropyGrad(
        f32of(logits),
        i32of(target),
        weight ? f32of(weight) : null,
        f32of(g),
        n,
        k,
        hw,
        ignoreIndex,
      ),
    );
  }

  argmax(x: Storage, outer: number, len: number, inner: number): Storage {
    return this.track(red.argmax(f32of(x), outer, len, inner));
  }
  sum(x: Storage, outer: number, len: number, inner: number): Storage {
    return this.track(red.sum(f32of(x), outer, len, inner));
  }
  broadcast(x: Storage, outer: number, len: number, inner: number): Storage {
    return this.track(red.broadcast(f32of(x), outer, len, inner));
  }

  matmul(
    a: Storage,
    b: Storage,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): Storage {
    return this.track(mm.matmul(f32of(a), f32of(b), m, k, n, transA, transB));
  }

  sgd(param: Storage, grad: Storage, buf: Storage | null, o: SgdUpdate): void {
    optim.sgd(f32of(param), f32of(grad), buf ? f32of(buf) : null, o);
  }
}
