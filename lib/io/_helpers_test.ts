/**
 * Test helpers for lib/io (a `_test.ts` module so that it is never published): fixture loading, a
 * JSON normal form of reader results, hand-assembled pickles and a small ZIP writer.
 *
 * @module
 */

import { crc32 } from "./zip.ts";

const FIXTURES = new URL("../../fixtures/io/", import.meta.url);

/** Bytes of `fixtures/io/<name>`. */
export function fixture(name: string): Promise<Uint8Array> {
  return Deno.readFile(new URL(name, FIXTURES));
}

/** `fixtures/io/expected.json`, written by scripts/make_io_fixtures.py. */
export async function expected(): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(new URL("expected.json", FIXTURES)));
}

/**
 * The JSON form scripts/make_io_fixtures.py's `describe` writes: typed arrays become arrays,
 * Uint8Array `{bytes}`, bigint `{bigint}`, keys sorted (as `json.dump(sort_keys=True)`); then
 * through JSON so that -0 compares equal to 0.
 */
export function normalize(v: unknown): unknown {
  const walk = (x: unknown): unknown => {
    if (typeof x === "bigint") return { bigint: String(x) };
    if (x instanceof Uint8Array) return { bytes: Array.from(x) };
    if (x instanceof Float32Array || x instanceof Int32Array) return Array.from(x);
    if (Array.isArray(x)) return x.map(walk);
    if (typeof x === "object" && x !== null) {
      const entries = Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return Object.fromEntries(entries.map(([k, y]) => [k, walk(y)]));
    }
    return x;
  };
  return JSON.parse(JSON.stringify(walk(v)));
}

/** Concatenates bytes, numbers (one byte each) and strings (latin-1, one byte per char). */
export function bytesOf(...parts: (number | string | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") { for (const c of p) out.push(c.charCodeAt(0)); }
    else for (const b of p) out.push(b);
  }
  return new Uint8Array(out);
}

/** `n` as `width` little-endian bytes. */
export function le(n: number, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(n);
  for (let i = 0; i < width; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** A file to put in a test archive. */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  /** Deflate it (method 8) instead of storing it. */
  deflate?: boolean;
}

/**
 * Writes a ZIP archive (stored or deflated entries; with `zip64`, every size and offset goes
 * through ZIP64 extra fields and a ZIP64 end-of-central-directory record and locator).
 */
export async function writeZip(
  files: ZipInput[],
  { zip64 = false, comment = "" }: { zip64?: boolean; comment?: string } = {},
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [], central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  const push = (c: Uint8Array) => (chunks.push(c), offset += c.length);
  for (const f of files) {
    const name = enc.encode(f.name);
    const body = f.deflate ? await deflateRaw(f.data) : f.data;
    const method = f.deflate ? 8 : 0, crc = crc32(f.data), at = offset;
    const ff = 0xffffffff;
    const extra = zip64
      ? bytesOf(le(1, 2), le(24, 2), le(f.data.length, 8), le(body.length, 8))
      : new Uint8Array(0);
    const cextra = zip64
      ? bytesOf(le(1, 2), le(24, 2), le(f.data.length, 8), le(body.length, 8), le(at, 8))
      : new Uint8Array(0);
    const sizes = zip64
      ? bytesOf(le(ff, 4), le(ff, 4))
      : bytesOf(le(body.length, 4), le(f.data.length, 4));
    push(bytesOf(le(0x04034b50, 4), le(45, 2), le(0x800, 2), le(method, 2), le(0, 4), le(crc, 4)));
    push(bytesOf(sizes, le(name.length, 2), le(extra.length, 2), name, extra, body));
    central.push(bytesOf(
      le(0x02014b50, 4),
      le(45, 2),
      le(45, 2),
      le(0x800, 2),
      le(method, 2),
      le(0, 4),
      le(crc, 4),
      sizes,
      le(name.length, 2),
      le(cextra.length, 2),
      le(0, 2),
      le(0, 2),
      le(0, 2),
      le(0, 4),
      le(zip64 ? ff : at, 4),
      name,
      cextra,
    ));
  }
  const cdStart = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdStart, n = files.length;
  if (zip64) {
    const record = offset;
    push(bytesOf(
      le(0x06064b50, 4),
      le(44, 8),
      le(45, 2),
      le(45, 2),
      le(0, 4),
      le(0, 4),
      le(n, 8),
      le(n, 8),
      le(cdSize, 8),
      le(cdStart, 8),
    ));
    push(bytesOf(le(0x07064b50, 4), le(0, 4), le(record, 8), le(1, 4)));
  }
  const note = enc.encode(comment);
  push(bytesOf(
    le(0x06054b50, 4),
    le(0, 2),
    le(0, 2),
    le(zip64 ? 0xffff : n, 2),
    le(zip64 ? 0xffff : n, 2),
    le(zip64 ? 0xffffffff : cdSize, 4),
    le(zip64 ? 0xffffffff : cdStart, 4),
    le(note.length, 2),
    note,
  ));
  return bytesOf(...chunks);
}

async function deflateRaw(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
