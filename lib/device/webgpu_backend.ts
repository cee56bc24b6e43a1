/**
 * The WebGPU backend: the {@linkcode WebGpuRuntime} plus the WGSL kernels of every family.
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
import { type WebGpuOptions, WebGpuRuntime } from "./webgpu.ts";
import * as conv from "../kernels/conv/webgpu.ts";
import * as ew from "../kernels/elementwise/webgpu.ts";
import * as loss from "../kernels/loss/webgpu.ts";
import * as mm from "../kernels/matmul/webgpu.ts";
import * as norm from "../kernels/norm/webgpu.ts";
import * as optim from "../kernels/optim/webgpu.ts";
import * as pool from "../kernels/pool/webgpu.ts";
import * as red from "../kernels/reduce/webgpu.ts";
import * as rs from "../kernels/resize/webgpu.ts";

/** Kernels on WebGPU. */
export class WebGpuBackend implements Backend {
  readonly kind: BackendKind = "webgpu";
  readonly rt: WebGpuRuntime;

  /** Wraps a runtime. */
  constructor(rt: WebGpuRuntime) {
    this.rt = rt;
  }

  /** Creates the runtime on the best adapter. */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    return new WebGpuBackend(await WebGpuRuntime.create(options));
  }

  get supportsF16(): boolean {
    return this.rt.hasF16;
  }

  get description(): string {
    const i = this.rt.adapterInfo;
    return [i.description, i.vendor && `vendor ${i.vendor}`, i.architecture].filter((s) => s)
      .join(", ") || "WebGPU adapter";
  }

  upload(data: HostArray): Storage {
    return this.rt.upload(data);
  }
  read(s: Storage): Promise<HostArray> {
    return this.rt.read(s);
  }
  free(s: Storage): void {
    this.rt.free(s);
  }
  flush(): Promise<void> {
    return this.rt.flush();
  }
  liveBytes(): number {
    return this.rt.liveBytes;
  }
  destroy(): void {
    this.rt.destroy();
  }

  fill(length: number, dtype: DType, value: number): Storage {
    return ew.fill(this.rt, length, dtype, value);
  }
  binary(op: BinaryOp, a: Storage, b: Storage): Storage {
    return ew.binary(this.rt, op, a, b);
  }
  axpby(a: Storage, b: Storage, alpha: number, beta: number): Storage {
    return ew.axpby(this.rt, a, b, alpha, beta);
  }
  affine(x: Storage, alpha: number, beta: number): Storage {
    return ew.affine(this.rt, x, alpha, beta);
  }
  relu(x: Storage): Storage {
    return ew.relu(this.rt, x);
  }
  reluGrad(dy: Storage, y: Storage): Storage {
    return ew.reluGrad(this.rt, dy, y);
  }
  dropout(x: Storage, p: number, seed: number, group: number): Storage {
    return ew.dropout(this.rt, x, p, seed, group);
  }
  roundF16(x: Storage): Storage {
    return ew.roundF16(this.rt, x);
  }

  conv2d(x: Storage, w: Storage, b: Storage | null, g: ConvGeom, relu: boolean): Storage {
    return conv.conv2d(this.rt, x, w, b, g, relu);
  }
  conv2dGradInput(dy: Storage, w: Storage, g: ConvGeom): Storage {
    return conv.conv2dGradInput(this.rt, dy, w, g);
  }
  conv2dGradWeight(dy: Storage, x: Storage, g: ConvGeom): Storage {
    return conv.conv2dGradWeight(this.rt, dy, x, g);
  }
  channelSum(x: Storage, p: Planes): Storage {
    return conv.channelSum(this.rt, x, p);
  }

  maxPool2d(x: Storage, g: PoolGeom): { y: Storage; idx: Storage } {
    return pool.maxPool2d(this.rt, x, g);
  }
  maxPool2dGrad(dy: Storage, idx: Storage, g: PoolGeom): Storage {
    return pool.maxPool2dGrad(this.rt, dy, idx, g);
  }

  batchNormStats(x: Storage, p: Planes): { mean: Storage; var: Storage } {
    return norm.batchNormStats(this.rt, x, p);
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
    return norm.batchNorm(this.rt, x, mean, variance, gamma, beta, p, eps);
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
    return norm.batchNormGrad(this.rt, dy, x, mean, variance, gamma, p, eps, training);
  }

  interpolate(x: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage {
    return rs.interpolate(this.rt, x, p, oh, ow, alignCorners);
  }
  interpolateGrad(dy: Storage, p: Planes, oh: number, ow: number, alignCorners: boolean): Storage {
    return rs.interpolateGrad(this.rt, dy, p, oh, ow, alignCorners);
  }
  crop(x: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage {
    return rs.crop(this.rt, x, p, oh, ow, top, left);
  }
  cropGrad(dy: Storage, p: Planes, oh: number, ow: number, top: number, left: number): Storage {
    return rs.cropGrad(this.rt, dy, p, oh, ow, top, left);
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
    return loss.crossEntropy(this.rt, logits, target, weight, n, k, hw, ignoreIndex);
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
    return loss.crossEntropyGrad(this.rt, logits, target, weight, g, n, k, hw, ignoreIndex);
  }

  argmax(x: Storage, outer: number, len: number, inner: number): Storage {
    return red.argmax(this.rt, x, outer, len, inner);
  }
  sum(x: Storage, outer: number, len: number, inner: number): Storage {
    return red.sum(this.rt, x, outer, len, inner);
  }
  broadcast(x: Storage, outer: number, len: number, inner: number): Storage {
    return red.broadcast(this.rt, x, outer, len, inner);
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
    return mm.matmul(this.rt, a, b, m, k, n, transA, transB);
  }

  sgd(param: Storage, grad: Storage, buf: Storage | null, o: SgdUpdate): void {
    optim.sgd(this.rt, param, grad, buf, o);
  }
}
