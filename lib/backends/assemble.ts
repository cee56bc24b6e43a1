/**
 * Putting a backend together: its runtime's memory functions plus a {@linkcode KernelTable}
 * (the slices of every kernel family, spread into one object) bound to the runtime.
 *
 * @module
 */
import type { Backend, KernelName, Kernels, KernelTable } from "../device/backend.ts";
import type { HostRuntime } from "../device/host.ts";

/**
 * The kernels of `table` bound to `rt`: `kernels.conv2d(args)` runs `table.conv2d(rt, args)`.
 *
 * @example Bind a table to its runtime
 * ```ts
 * import { assemble } from "./assemble.ts";
 * import { CPU_KERNELS } from "./cpu.ts";
 * import { f32of, HostRuntime } from "../device/host.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const rt = new HostRuntime();
 * const kernels = assemble(rt, CPU_KERNELS);
 * const y = kernels.fill({ length: 3, dtype: "f32", value: 2 });
 * assertEquals(f32of(y), new Float32Array([2, 2, 2]));
 * ```
 */
export function assemble<R>(rt: R, table: KernelTable<R>): Kernels {
  const kernels: Record<string, (args: unknown) => unknown> = {};
  for (const name of Object.keys(table) as KernelName[]) {
    const kernel = table[name] as (rt: R, args: unknown) => unknown;
    kernels[name] = (args) => kernel(rt, args);
  }
  return kernels as unknown as Kernels;
}

/** What a backend on host memory (cpu, blas) takes from its runtime: its memory functions. */
export type HostMemory = Pick<
  Backend,
  "upload" | "adopt" | "read" | "readSync" | "hostCall" | "free" | "flush" | "liveBytes" | "destroy"
>;

/** The memory functions of a host runtime, bound to it. */
export function hostMemory(rt: HostRuntime): HostMemory {
  return {
    upload: (data) => rt.upload(data),
    adopt: (data) => rt.track(data),
    read: (s) => rt.read(s),
    readSync: (s) => rt.readSync(s),
    hostCall: (inputs, lengths, fn) => rt.hostCall(inputs, lengths, fn),
    free: (s) => rt.free(s),
    flush: () => rt.flush(),
    liveBytes: () => rt.liveBytes(),
    destroy: () => rt.destroy(),
  };
}
