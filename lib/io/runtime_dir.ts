/**
 * Mesa's Vulkan loader probes its window-system platforms at the first adapter request and prints
 * `error: XDG_RUNTIME_DIR is invalid or not set in the environment.` when the variable is unset
 * (many containers and CI images), although nothing has gone wrong. `ensureRuntimeDir` sets it,
 * on Linux only and only when unset, to a private folder (`/tmp/fcn-runtime-<uid>`, mode 0700),
 * so that a run that succeeds prints no `error:` line; real errors still print.
 *
 * @module
 */

/**
 * Sets `XDG_RUNTIME_DIR` to a private folder when it is unset on Linux; a no-op otherwise or
 * without the permissions to do so.
 *
 * @example
 * ```ts
 * import { ensureRuntimeDir } from "./runtime_dir.ts";
 * ensureRuntimeDir();
 * ```
 */
export function ensureRuntimeDir(): void {
  try {
    if (Deno.build.os !== "linux" || Deno.env.get("XDG_RUNTIME_DIR")) return;
    const uid = Deno.uid();
    let dir = `/tmp/fcn-runtime-${uid}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = Deno.statSync(dir);
    if (st.uid !== uid || ((st.mode ?? 0) & 0o077) !== 0) {
      dir = Deno.makeTempDirSync({ prefix: "fcn-runtime-" });
    }
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // No env/write permission: Mesa prints its line, nothing else changes.
  }
}
