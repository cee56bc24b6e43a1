/**
 * zlib streams (through the platform's CompressionStream / DecompressionStream) and CRC-32, the
 * two checksummed layers a PNG is built from.
 *
 * @module
 */

/** Decompresses a zlib ("deflate" format) stream; rejects on corrupt or truncated data. */
export async function inflate(data: Uint8Array): Promise<Uint8Array> {
  return await pipe(data, new DecompressionStream("deflate"));
}

/** Compresses bytes into a zlib ("deflate" format) stream. */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  return await pipe(data, new CompressionStream("deflate"));
}

async function pipe(data: Uint8Array, stream: TransformStream<BufferSource, Uint8Array>) {
  const input = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(input).arrayBuffer());
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as in PNG and zlib's `crc32`) of `bytes`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
