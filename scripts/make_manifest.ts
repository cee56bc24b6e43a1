/**
 * Writes fixtures/manifest.json: the size and sha256 of every bundled file the commands may
 * fetch when the module runs from a URL (the synthetic dataset with all its split lists, the
 * bundled model). Run `deno task manifest` after changing any of them; tests/bundled_test.ts
 * fails until the manifest matches.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { BundledEntry } from "../lib/io/bundled.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** The bundled folders (relative to fixtures/) and, per folder, the files under it to list. */
const BUNDLED: Record<string, (path: string) => boolean> = {
  "synthetic/": (p) => p.startsWith("VOCdevkit/"),
  "model/": (p) => p === "config.json" || p === "best.safetensors",
};

async function walk(dir: URL, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    if (e.isDirectory) out.push(...await walk(new URL(`${e.name}/`, dir), `${rel}/`));
    else if (e.isFile) out.push(rel);
  }
  return out;
}

/** Size and sha256 of the bundled files under a fixtures folder, keyed by path, sorted. */
export async function buildManifest(
  fixtures: URL = FIXTURES,
): Promise<Record<string, BundledEntry>> {
  const keys: string[] = [];
  for (const [folder, keep] of Object.entries(BUNDLED)) {
    const files = await walk(new URL(folder, fixtures));
    keys.push(...files.filter(keep).map((f) => folder + f));
  }
  keys.sort();
  const files: Record<string, BundledEntry> = {};
  for (const key of keys) {
    const bytes = await Deno.readFile(new URL(key, fixtures));
    files[key] = { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  }
  return files;
}

/** The manifest's text: one file a line, so that a diff shows which file changed. */
export function manifestText(files: Record<string, BundledEntry>): string {
  const lines = Object.entries(files).map(([k, v]) =>
    `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`
  );
  return `{\n  "about": "Size and sha256 of the bundled files fetched when @x/fcn runs from a URL; ` +
    `regenerate with deno task manifest",\n  "files": {\n${lines.join(",\n")}\n  }\n}\n`;
}

if (import.meta.main) {
  const files = await buildManifest();
  await Deno.writeTextFile(new URL("manifest.json", FIXTURES), manifestText(files));
  const bytes = Object.values(files).reduce((a, f) => a + f.size, 0);
  console.log(`fixtures/manifest.json: ${Object.keys(files).length} files, ${bytes} bytes`);
}
