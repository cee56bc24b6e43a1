/**
 * JPEG decoding and encoding through imagescript, loaded on first use (its type declarations
 * also stay out of the static module graph, which `deno doc` cannot parse).
 *
 * @module
 */

type ImageScript = typeof import("npm:imagescript@1.3.1");
let lib: Promise<ImageScript> | null = null;

function imagescript(): Promise<ImageScript> {
  // A bare "imagescript" would resolve through the importer's deno.json (another project, a
  // URL run), not ours: the versioned specifier resolves the same from anywhere (issue 12).
  // deno-lint-ignore no-import-prefix
  return lib ??= import("npm:imagescript@1.3.1");
}

/** Decodes a JPEG (baseline or progressive, gray, RGB or CMYK) to `[H, W, 3]` RGB bytes. */
export async function decodeJpeg(
  bytes: Uint8Array,
): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { Image } = await imagescript();
  const img = await Image.decode(bytes);
  const n = img.width * img.height, rgba = img.bitmap, data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[3 * i] = rgba[4 * i];
    data[3 * i + 1] = rgba[4 * i + 1];
    data[3 * i + 2] = rgba[4 * i + 2];
  }
  return { width: img.width, height: img.height, data };
}

/** Encodes `[H, W, 3]` RGB bytes as a baseline JPEG of `quality` 1..100. */
export async function encodeJpeg(
  image: { width: number; height: number; data: Uint8Array },
  quality = 90,
): Promise<Uint8Array> {
  const { Image } = await imagescript();
  const { width, height, data } = image;
  const img = new Image(width, height);
  for (let i = 0; i < width * height; i++) {
    img.bitmap[4 * i] = data[3 * i];
    img.bitmap[4 * i + 1] = data[3 * i + 1];
    img.bitmap[4 * i + 2] = data[3 * i + 2];
    img.bitmap[4 * i + 3] = 255;
  }
  return await img.encodeJPEG(quality as Parameters<typeof img.encodeJPEG>[0]);
}
