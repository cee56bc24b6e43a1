/**
 * The reference backend: storages are typed arrays and every kernel is the plain loop of
 * `lib/kernels/<family>/reference.ts`. It is the oracle the other backends are tested against,
 * and runs everything where no adapter exists.
 *
 * @module
 */
import type { Backend, KernelTable } from "../device/backend.ts";
import { HostRuntime } from "../device/host.ts";
import { convCpu } from "../kernels/conv/cpu.ts";
import { elementwiseCpu } from "../kernels/elementwise/cpu.ts";
import { lossCpu } from "../kernels/loss/cpu.ts";
import { softmaxCpu } from "../kernels/softmax/cpu.ts";
import { matmulCpu } from "../kernels/matmul/cpu.ts";
import { normCpu } from "../kernels/norm/cpu.ts";
import { optimCpu } from "../kernels/optim/cpu.ts";
import { poolCpu } from "../kernels/pool/cpu.ts";
import { reduceCpu } from "../kernels/reduce/cpu.ts";
import { resizeCpu } from "../kernels/resize/cpu.ts";
import { assemble } from "./assemble.ts";

/** Every kernel of the reference backend. */
export const CPU_KERNELS: KernelTable<HostRuntime> = {
  ...elementwiseCpu,
  ...convCpu,
  ...poolCpu,
  ...normCpu,
  ...resizeCpu,
  ...lossCpu,
  ...softmaxCpu,
  ...reduceCpu,
  ...matmulCpu,
  ...optimCpu,
};

/** The reference backend, with its host runtime. */
export interface CpuBackend extends Backend {
  /** Its memory. */
  readonly rt: HostRuntime;
}

/**
 * A new reference backend.
 *
 * @example Run a kernel
 * ```ts
 * import { createCpuBackend } from "./cpu.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const be = createCpuBackend();
 * const a = be.upload(new Float32Array([1, 2, 3, 4]));
 * const y = be.matmul({ a, b: a, m: 2, k: 2, n: 2, transA: false, transB: false });
 * assertEquals(await be.read(y), new Float32Array([7, 10, 15, 22]));
 * ```
 */
export function createCpuBackend(): CpuBackend {
  const rt = new HostRuntime();
  return {
    kind: "cpu",
    description: "TypeScript reference kernels",
    supportsF16: true,
    rt,
    upload: (data) => rt.upload(data),
    adopt: (data) => rt.track(data),
    read: (s) => rt.read(s),
    readSync: (s) => rt.readSync(s),
    free: (s) => rt.free(s),
    flush: () => rt.flush(),
    liveBytes: () => rt.liveBytes(),
    destroy: () => rt.destroy(),
    ...assemble(rt, CPU_KERNELS),
  };
}
