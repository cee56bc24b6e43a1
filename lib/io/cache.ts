/**
 * The one cache root of the toolkit: `FCN_CACHE`, else `$XDG_CACHE_HOME/x-fcn`, else
 * `~/.cache/x-fcn` (`%LOCALAPPDATA%\x-fcn` on Windows, `~/Library/Caches/x-fcn` on macOS).
 * Bundled files, downloaded weights and autotune results each live in a sub-folder.
 *
 * @module
 */

/** Reads one environment variable; tests pass their own instead of changing the process's. */
export type EnvLookup = (name: string) => string | undefined;

const processEnv: EnvLookup = (k) => Deno.env.get(k) || undefined;

/**
 * The cache root, or null when the environment names none (no HOME, or no env permission).
 * `env` reads the variables (default: the process environment).
 *
 * @example
 * ```ts
 * import { cacheRoot } from "./cache.ts";
 * const root = cacheRoot();
 * if (root !== null && !root.length) throw new Error("empty cache root");
 * ```
 */
export function cacheRoot(env: EnvLookup = processEnv): string | null {
  try {
    const own = env("FCN_CACHE");
    if (own) return own;
    const xdg = env("XDG_CACHE_HOME");
    if (xdg) return `${xdg}/x-fcn`;
    if (Deno.build.os === "windows") {
      const local = env("LOCALAPPDATA");
      return local ? `${local}/x-fcn` : null;
    }
    const home = env("HOME");
    if (!home) return null;
    return `${home}/${Deno.build.os === "darwin" ? "Library/Caches" : ".cache"}/x-fcn`;
  } catch {
    return null;
  }
}

/**
 * A named sub-folder of the cache root (`"autotune"`, `"weights"`, `"bundled"`), not created;
 * null when there is no cache root. `env` as in {@linkcode cacheRoot}.
 *
 * @example
 * ```ts
 * import { cacheDir } from "./cache.ts";
 * const dir = cacheDir("weights");
 * if (dir !== null && !dir.endsWith("/weights")) throw new Error(dir);
 * ```
 */
export function cacheDir(name: string, env: EnvLookup = processEnv): string | null {
  const root = cacheRoot(env);
  return root === null ? null : `${root}/${name}`;
}
