/**
 * Reading a whole file with one allocation: the file's size is asked first, one buffer of that
 * size is allocated and filled by reads straight into it. `Deno.readFile` grows its buffer as it
 * goes (copies) and took 1.2-3 s for a 537 MB checkpoint where this takes 0.6-0.75 s.
 *
 * The buffer starts at offset 0 of its own ArrayBuffer, so records that the writer aligned in
 * the file (torch.save: 64 bytes, safetensors: 8) are aligned in memory too and load as
 * Float32Array views without a copy.
 *
 * @example Reading a file
 * ```ts
 * import { readWhole } from "./read_whole.ts";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
 * const bytes = await readWhole(path);
 * console.assert(bytes.length === 3 && bytes.byteOffset === 0);
 * await Deno.remove(path);
 * ```
 *
 * @module
 */

/** The bytes of `path`, read into one buffer of the file's size (grown if the file grows). */
export async function readWhole(path: string | URL): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const size = (await file.stat()).size;
    let buf = new Uint8Array(size);
    let at = 0;
    for (;;) {
      if (at === buf.length) {
        // The file may have grown since stat (or stat said 0, as for /proc files): peek, grow.
        const probe = new Uint8Array(Math.max(65536, buf.length));
        const n = await file.read(probe);
        if (n === null) break;
        const grown = new Uint8Array(at + probe.length);
        grown.set(buf);
        grown.set(probe.subarray(0, n), at);
        buf = grown;
        at += n;
        continue;
      }
      const n = await file.read(buf.subarray(at));
      if (n === null) break;
      at += n;
    }
    return at === buf.length ? buf : buf.subarray(0, at);
  } finally {
    file.close();
  }
}
