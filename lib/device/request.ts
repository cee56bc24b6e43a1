/**
 * Choosing and creating a device.
 *
 * @module
 */
import type { BackendKind } from "./backend.ts";
import { NoWebGpuError, type WebGpuOptions } from "./webgpu.ts";
import { createCpuBackend } from "../backends/cpu.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../backends/webgpu.ts";
import { Device } from "../tensor.ts";

/** Options of {@linkcode requestDevice}. */
export interface RequestDeviceOptions extends WebGpuOptions {
  /**
   * "webgpu", "blas" (native BLAS through FFI) or "cpu" (TypeScript reference kernels).
   * Default: `FCN_BACKEND`, else WebGPU on a hardware adapter, else BLAS when a software
   * adapter is all there is and BLAS loads, else WebGPU.
   */
  backend?: BackendKind;
  /**
   * Say (once per process, on stderr) when the automatic choice takes BLAS over a software
   * adapter (default true).
   */
  verbose?: boolean;
}

/** Backends that can be named. */
export const BACKENDS: readonly BackendKind[] = ["webgpu", "blas", "cpu"];

let saidSoftware = false;

/** The BLAS backend, loaded on first use (its module opens a native library). */
async function createBlas(): Promise<Device> {
  const { createBlasBackend } = await import("../backends/blas.ts");
  return new Device(createBlasBackend());
}

/**
 * A device on the requested (or best available) backend. WebGPU devices are created with the
 * adapter's highest limits.
 *
 * @example Run on the reference backend
 * ```ts
 * import { requestDevice } from "@x/fcn";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const device = await requestDevice({ backend: "cpu" });
 * assertEquals(device.kind, "cpu");
 * ```
 */
export async function requestDevice(options: RequestDeviceOptions = {}): Promise<Device> {
  const env = Deno.env.get("FCN_BACKEND")?.trim().toLowerCase();
  const wanted = options.backend ?? (env ? env as BackendKind : undefined);
  if (wanted !== undefined && !BACKENDS.includes(wanted)) {
    throw new RangeError(
      `Unknown backend "${wanted}"${options.backend ? "" : " in FCN_BACKEND"}; expected one of ${
        BACKENDS.join(", ")
      }`,
    );
  }
  if (wanted === "cpu") return new Device(createCpuBackend());
  if (wanted === "blas") return await createBlas();
  if (wanted === "webgpu") return new Device(await createWebGpuBackend(options));
  // Automatic choice.
  let gpu: WebGpuBackend | null = null;
  try {
    gpu = await createWebGpuBackend(options);
  } catch (e) {
    if (!(e instanceof NoWebGpuError)) throw e;
  }
  if (gpu && !gpu.rt.isSoftware) return new Device(gpu);
  try {
    const blas = await createBlas();
    gpu?.destroy();
    if ((options.verbose ?? true) && !saidSoftware) {
      saidSoftware = true;
      console.error(
        `Using BLAS (${blas.description}): ` +
          (gpu
            ? `the only WebGPU adapter is a software one (${gpu.description})`
            : "no WebGPU adapter"),
      );
    }
    return blas;
  } catch (e) {
    if (gpu) return new Device(gpu);
    throw new NoWebGpuError(`and BLAS did not load: ${(e as Error).message}`);
  }
}
