import { Image } from "imagescript";
import {
  decodePng,
  encodePng,
  isPng,
  type PngBitDepth,
  type PngColorType,
  type PngImage,
  pngToRgb,
} from "./png.ts";
import { crc32 } from "./_zlib.ts";
import { Rng } from "../random.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

const CASES: [PngColorType, PngBitDepth[], number][] = [
  [0, [1, 2, 4, 8, 16], 1],
  [2, [8, 16], 3],
  [3, [1, 2, 4, 8], 1],
  [4, [8, 16], 2],
  [6, [8, 16], 4],
];

function randomImage(
  rng: Rng,
  w: number,
  h: number,
  ct: PngColorType,
  bd: PngBitDepth,
  ch: number,
) {
  const n = w * h * ch;
  const data = bd === 16 ? new Uint16Array(n) : new Uint8Array(n);
  const entries = ct === 3 ? Math.min(2 ** bd, 7) : 2 ** bd;
  for (let i = 0; i < n; i++) data[i] = rng.int(entries);
  const palette = ct === 3
    ? new Uint8Array(entries * 3).map((_, i) => (i * 37 + 11) & 0xff)
    : undefined;
  return { width: w, height: h, colorType: ct, bitDepth: bd, data, palette };
}

Deno.test("png: round-trips every colour type, bit depth, filter and interlacing", async () => {
  const rng = new Rng(7);
  let count = 0;
  for (const [ct, depths, ch] of CASES) {
    for (const bd of depths) {
      for (const [w, h] of [[1, 1], [3, 2], [13, 9]]) {
        for (const interlaced of [false, true]) {
          for (const filter of [0, 1, 2, 3, 4, "adaptive"] as const) {
            const img = { ...randomImage(rng, w, h, ct, bd, ch), interlaced };
            const back = await decodePng(await encodePng(img, { filter }));
            const what =
              `type ${ct} depth ${bd} ${w}x${h} interlaced ${interlaced} filter ${filter}`;
            assertEquals(
              [back.width, back.height, back.colorType, back.bitDepth, back.interlaced],
              [w, h, ct, bd, interlaced],
              what,
            );
            assertEquals(back.data.constructor, img.data.constructor, what);
            assertEquals(back.data, img.data, what);
            if (ct === 3) assertEquals(back.palette, img.palette, what);
            count++;
          }
        }
      }
    }
  }
  assertEquals(count, 15 * 3 * 2 * 6);
});

Deno.test("png: our files decode identically in an independent decoder (imagescript)", async () => {
  const rng = new Rng(3);
  for (const [ct, depths, ch] of CASES) {
    for (const bd of depths) {
      for (const interlaced of [false, true]) {
        const img = { ...randomImage(rng, 11, 7, ct, bd, ch), interlaced };
        const bytes = await encodePng(img);
        const theirs = await Image.decode(bytes);
        const rgb = pngToRgb(await decodePng(bytes));
        const want = new Uint8Array(11 * 7 * 3);
        for (let i = 0; i < 11 * 7; i++) want.set(theirs.bitmap.subarray(4 * i, 4 * i + 3), 3 * i);
        assertEquals(rgb, want, `type ${ct} depth ${bd} interlaced ${interlaced}`);
      }
    }
  }
});

Deno.test("png: decodes files written by another encoder (imagescript, RGBA)", async () => {
  const img = new Image(5, 3);
  for (let y = 1; y <= 3; y++) {
    for (let x = 1; x <= 5; x++) {
      img.setPixelAt(x, y, ((x * 40) << 24 | (y * 60) << 16 | 7 << 8 | 200) >>> 0);
    }
  }
  const png = await decodePng(await img.encode());
  assertEquals([png.width, png.height, png.colorType, png.bitDepth], [5, 3, 6, 8]);
  assertEquals(Array.from(png.data.subarray(0, 8)), [40, 60, 7, 200, 80, 60, 7, 200]);
  assertEquals(Array.from(pngToRgb(png).subarray(-3)), [200, 180, 7]);
});

Deno.test("png: writes the chunk layout and CRCs of the specification", async () => {
  const palette = new Uint8Array([0, 0, 0, 128, 0, 0, 224, 224, 192]);
  const bytes = await encodePng({
    width: 2,
    height: 2,
    data: new Uint8Array([0, 1, 2, 1]),
    palette,
  });
  assert(isPng(bytes));
  const view = new DataView(bytes.buffer);
  const types: string[] = [];
  for (let pos = 8; pos < bytes.length;) {
    const len = view.getUint32(pos);
    types.push(String.fromCharCode(...bytes.subarray(pos + 4, pos + 8)));
    assertEquals(view.getUint32(pos + 8 + len), crc32(bytes.subarray(pos + 4, pos + 8 + len)));
    pos += 12 + len;
  }
  assertEquals(types, ["IHDR", "PLTE", "IDAT", "IEND"]);
  // IHDR: 2x2, depth 8, colour type 3; IEND's CRC is the well-known 0xAE426082.
  assertEquals(Array.from(bytes.subarray(16, 26)), [0, 0, 0, 2, 0, 0, 0, 2, 8, 3]);
  assertEquals(view.getUint32(bytes.length - 4), 0xae426082);
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("png: rejects corrupt files with what is wrong", async () => {
  const bytes = await encodePng({ width: 4, height: 4, data: new Uint8Array(16).fill(3) });
  const badCrc = bytes.slice();
  badCrc[20] ^= 1;
  await assertRejects(() => decodePng(badCrc), "CRC of chunk IHDR");
  await assertRejects(() => decodePng(bytes.subarray(0, 40)), "Truncated PNG");
  await assertRejects(() => decodePng(new Uint8Array([1, 2, 3])), "signature");
  await assertRejects(
    () => encodePng({ width: 2, height: 1, data: new Uint8Array([0, 4]), bitDepth: 2 }),
    "Sample 4 at index 1 does not fit 2 bits",
  );
  await assertRejects(
    () => encodePng({ width: 2, height: 2, data: new Uint8Array(3) }),
    "Expected 2x2 pixels",
  );
  await assertRejects(
    () => encodePng({ width: 1, height: 1, data: new Uint8Array([2]), palette: new Uint8Array(6) }),
    "palette of 2 entries",
  );
});

Deno.test("png: pngToRgb rescales gray depths and looks up palettes", () => {
  const cases: [PngImage, number[]][] = [
    [
      { width: 2, height: 1, colorType: 0, bitDepth: 16, data: new Uint16Array([65535, 511]) },
      [255, 255, 255, 1, 1, 1],
    ],
    [{ width: 1, height: 1, colorType: 4, bitDepth: 8, data: new Uint8Array([9, 0]) }, [9, 9, 9]],
    [
      {
        width: 1,
        height: 1,
        colorType: 3,
        bitDepth: 8,
        data: new Uint8Array([1]),
        palette: new Uint8Array([0, 0, 0, 1, 2, 3]),
      },
      [1, 2, 3],
    ],
  ];
  for (const [image, rgb] of cases) {
    assertEquals(Array.from(pngToRgb(image)), rgb, `colour type ${image.colorType}`);
  }
});
