/**
 * The bundled files (synthetic dataset, bundled model) as local folders. In a checkout they are
 * the folders under fixtures/ themselves; when the module runs from a URL (JSR, a web server)
 * they are fetched once into `<cache root>/bundled/<version>-<manifest hash>/` (lib/io/cache.ts),
 * each file written to a temporary name, checked against the size and sha256 that
 * fixtures/manifest.json records for it, then renamed into place. A cached file is reused when
 * its size matches the manifest (fetched again otherwise), so later runs work offline.
 *
 * @module
 */
import { createHash } from "node:crypto";
import manifest from "../../fixtures/manifest.json" with { type: "json" };
import { cacheDir, type EnvLookup } from "./cache.ts";
import { VERSION } from "../version.ts";

/** What the manifest records for one bundled file. */
export interface BundledEntry {
  /** Size in bytes. */
  size: number;
  /** sha256, lowercase hex. */
  sha256: string;
}

/** The shipped manifest's files, keyed by their path under fixtures/ (`model/config.json`). */
export const BUNDLED_FILES: Readonly<Record<string, BundledEntry>> = manifest.files;

/** Options of {@linkcode bundledFolder}. */
export interface BundledFolderOptions {
  /** Files to fetch, relative to the folder (default: every file the manifest lists in it). */
  files?: string[];
  /** Folder that holds the fetched folders (default {@linkcode bundledCacheDir}). */
  cacheDir?: string;
  /** Where the one progress line goes (default stderr). */
  log?: (line: string) => void;
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The cache folder of this module's bundled files: `<cache root>/bundled/<version>-<hash>`, the
 * hash being the first 12 hex digits of the manifest's sha256, so that a changed bundled file
 * never meets an older copy. Null when there is no cache root.
 *
 * @example
 * ```ts
 * import { bundledCacheDir } from "./bundled.ts";
 * const dir = bundledCacheDir();
 * if (dir !== null && !/\/bundled\/[^/]+-[0-9a-f]{12}$/.test(dir)) throw new Error(dir);
 * ```
 */
export function bundledCacheDir(env?: EnvLookup): string | null {
  const root = cacheDir("bundled", env);
  if (root === null) return null;
  return `${root}/${VERSION}-${sha256(JSON.stringify(BUNDLED_FILES)).slice(0, 12)}`;
}

/** Downloads one file, checks it against its entry, then renames it to `dest`. */
async function fetchChecked(url: URL, dest: string, want: BundledEntry): Promise<void> {
  const res = await fetch(url).catch((e) => {
    throw new Error(
      `Cannot download the bundled file ${url.href}: ${(e as Error).message} ` +
        "(the bundled files are fetched once; run once online or pass --data/--weights)",
    );
  });
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`Cannot download the bundled file ${url.href}: HTTP ${res.status}`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  const hash = sha256(bytes);
  if (bytes.length !== want.size || hash !== want.sha256) {
    throw new Error(
      `Refused the bundled file ${url.href}: fixtures/manifest.json expects ${want.size} bytes ` +
        `with sha256 ${want.sha256}, it has ${bytes.length} bytes with sha256 ${hash}; ` +
        "nothing was cached (a tampered or truncated file)",
    );
  }
  await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
  const tmp = `${dest}.part-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, dest);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** The manifest keys a folder fetch covers, each checked to be in the manifest. */
function keysOf(name: string, files: string[] | undefined): string[] {
  const keys = files?.map((f) => `${name}/${f}`) ??
    Object.keys(BUNDLED_FILES).filter((k) => k.startsWith(`${name}/`));
  const unknown = keys.filter((k) => !(k in BUNDLED_FILES));
  if (unknown.length || keys.length === 0) {
    throw new Error(
      `${unknown.length ? unknown.join(", ") : `The folder "${name}"`} is not in the bundled ` +
        "manifest (fixtures/manifest.json; regenerate it with deno task manifest)",
    );
  }
  return keys;
}

/**
 * A local path for a bundled folder URL (`…/fixtures/model/`): the folder itself when the URL is
 * a file, else its cached copy, fetching the files not yet cached (or of the wrong size).
 *
 * @example
 * ```ts
 * import { bundledFolder } from "./bundled.ts";
 * const dir = await bundledFolder(new URL("../../fixtures/model/", import.meta.url));
 * if (!dir.endsWith("/fixtures/model/")) throw new Error(dir);
 * ```
 */
export async function bundledFolder(url: URL, options: BundledFolderOptions = {}): Promise<string> {
  if (url.protocol === "file:") return decodeURIComponent(url.pathname);
  const name = url.pathname.split("/").filter((p) => p).at(-1) ?? "";
  const keys = keysOf(name, options.files);
  const dir = options.cacheDir ?? bundledCacheDir();
  if (dir === null) {
    throw new Error(`No cache folder for the bundled files of ${url.href}: set FCN_CACHE`);
  }
  const missing: string[] = [];
  for (const key of keys) {
    const size = await Deno.stat(`${dir}/${key}`).then((s) => s.size, () => -1);
    if (size !== BUNDLED_FILES[key].size) missing.push(key);
  }
  if (missing.length) {
    const mb = missing.reduce((a, k) => a + BUNDLED_FILES[k].size, 0) / 1e6;
    (options.log ?? ((l: string) => console.error(l)))(
      `Fetching ${missing.length} bundled file(s) (${mb.toFixed(1)} MB) into ${dir}/${name}`,
    );
    const base = new URL("../", url);
    let next = 0;
    const worker = async () => {
      while (next < missing.length) {
        const key = missing[next++];
        try {
          await fetchChecked(new URL(key, base), `${dir}/${key}`, BUNDLED_FILES[key]);
        } catch (e) {
          next = missing.length; // the other workers stop after their current file
          throw e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, missing.length) }, worker));
  }
  return `${dir}/${name}`;
}
