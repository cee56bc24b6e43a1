/**
 * The few path helpers the datasets need (forward slashes, which Deno accepts everywhere).
 *
 * @module
 */

/** Joins path parts with single slashes. */
export function join(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
}

/** The folder part of a path ("." when there is none). */
export function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
}

/** The file name without its folder and last extension. */
export function stem(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(0, dot) : name;
}

/** Whether `path` is an existing folder. */
export async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** Whether `path` is an existing file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Reads a text file, with an error naming it. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}
