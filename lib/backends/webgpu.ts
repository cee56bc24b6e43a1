/**
 * The WebGPU backend: the {@linkcode WebGpuRuntime} plus the WGSL kernels of every family.
 *
 * @module
 */
import type { Backend, KernelTable } from "../device/backend.ts";
import { type WebGpuOptions, WebGpuRuntime } from "../device/webgpu.ts";
import { convWebGpu } from "../kernels/conv/webgpu.ts";
import { elementwiseWebGpu } from "../kernels/elementwise/webgpu.ts";
import { lossWebGpu } from "../kernels/loss/webgpu.ts";
import { softmaxWebGpu } from "../kernels/softmax/webgpu.ts";
import { matmulWebGpu } from "../kernels/matmul/webgpu.ts";
import { normWebGpu } from "../kernels/norm/webgpu.ts";
import { optimWebGpu } from "../kernels/optim/webgpu.ts";
import { poolWebGpu } from "../kernels/pool/webgpu.ts";
import { reduceWebGpu } from "../kernels/reduce/webgpu.ts";
import { resizeWebGpu } from "../kernels/resize/webgpu.ts";
import { assemble } from "./assemble.ts";

/** Every kernel of the WebGPU backend. */
export const WEBGPU_KERNELS: KernelTable<WebGpuRuntime> = {
  ...elementwiseWebGpu,
  ...convWebGpu,
  ...poolWebGpu,
  ...normWebGpu,
  ...resizeWebGpu,
  ...lossWebGpu,
  ...softmaxWebGpu,
  ...reduceWebGpu,
  ...matmulWebGpu,
  ...optimWebGpu,
};

/** The WebGPU backend, with its runtime. */
export interface WebGpuBackend extends Backend {
  /** The device, pools, pipeline cache and recorder. */
  readonly rt: WebGpuRuntime;
}

/** The backend of a runtime. */
export function webGpuBackend(rt: WebGpuRuntime): WebGpuBackend {
  const i = rt.adapterInfo;
  const description = [i.description, i.vendor && `vendor ${i.vendor}`, i.architecture]
    .filter((s) => s).join(", ") || "WebGPU adapter";
  return {
    kind: "webgpu",
    description,
    supportsF16: rt.hasF16,
    rt,
    upload: (data) => rt.upload(data),
    read: (s) => rt.read(s),
    free: (s) => rt.free(s),
    flush: () => rt.flush(),
    liveBytes: () => rt.liveBytes,
    destroy: () => rt.destroy(),
    ...assemble(rt, WEBGPU_KERNELS),
  };
}

/**
 * Creates the runtime on the best adapter and its backend; throws `NoWebGpuError` where there
 * is no adapter.
 *
 * @example Where an adapter exists
 * ```ts ignore
 * import { createWebGpuBackend } from "./webgpu.ts";
 *
 * const gpu = await createWebGpuBackend();
 * console.log(gpu.description, gpu.rt.isSoftware);
 * ```
 */
export async function createWebGpuBackend(options: WebGpuOptions = {}): Promise<WebGpuBackend> {
  return webGpuBackend(await WebGpuRuntime.create(options));
}
