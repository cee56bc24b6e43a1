/**
 * Which backends this host can run, decided once per test process.
 *
 * Under `CI=true` (which `.ci/run` exports) every backend must exist: importing this module
 * throws, naming the backend that cannot be created and why, so that no test is skipped in CI.
 * Elsewhere a missing backend only skips its tests; tests/backends_test.ts says which, once.
 *
 * @module
 */
import type { BackendKind } from "../lib/device/backend.ts";
import { loadBlas } from "../lib/device/blas_ffi.ts";
import { ensureRuntimeDir } from "../lib/io/runtime_dir.ts";

/** Whether missing backends fail the run (`CI=true`) instead of skipping their tests. */
export const strict: boolean = Deno.env.get("CI")?.toLowerCase() === "true";

const describe = (e: unknown) => e instanceof Error ? `${e.name}: ${e.message}` : String(e);

async function webGpuCause(): Promise<string | null> {
  try {
    if (!navigator.gpu) return "navigator.gpu is undefined in this Deno";
    ensureRuntimeDir(); // as the runtime does: no Mesa "error: XDG_RUNTIME_DIR" line
    const adapter = await navigator.gpu.requestAdapter();
    if (adapter === null) {
      return `requestAdapter() returned null (DENO_WEBGPU_BACKEND=${
        Deno.env.get("DENO_WEBGPU_BACKEND") ?? "unset"
      })`;
    }
    return null;
  } catch (e) {
    return describe(e);
  }
}

function blasCause(): string | null {
  try {
    loadBlas();
    return null;
  } catch (e) {
    return describe(e);
  }
}

/** Why each backend that cannot be created here failed; empty when all can. */
export const missing: ReadonlyMap<BackendKind, string> = new Map<BackendKind, string>(
  ([["webgpu", await webGpuCause()], ["blas", blasCause()]] as [BackendKind, string | null][])
    .filter((e): e is [BackendKind, string] => e[1] !== null),
);

/** What to install for each backend. */
export const remedy: Readonly<Record<string, string>> = {
  webgpu: "install mesa-vulkan-drivers and set DENO_WEBGPU_BACKEND=vulkan (or gl)",
  blas: "install libopenblas0-pthread or point FCN_BLAS at a BLAS library",
};

/** The error a strict run fails with when `kind` cannot be created. */
export function missingBackendError(kind: BackendKind, cause: string): Error {
  return new Error(
    `CI=true but the ${kind} backend cannot be created: ${cause}. ` +
      `Either ${remedy[kind] ?? "install it"}, or unset CI to skip its tests.`,
  );
}

if (strict) {
  for (const [kind, cause] of missing) throw missingBackendError(kind, cause);
}

/** Whether a WebGPU adapter exists (to skip GPU-only tests; always true under `CI=true`). */
export const hasWebGpu: boolean = !missing.has("webgpu");

/** Whether the BLAS library loads (to skip BLAS-only tests; always true under `CI=true`). */
export const hasBlas: boolean = !missing.has("blas");
