import { Image } from "imagescript";
import {
  encodeMaskPng,
  encodeRgbPng,
  overlay,
  readImage,
  readMask,
  writeMaskPng,
  writeRgbPng,
} from "./image.ts";
import { paletteOf, vocPalette } from "./palette.ts";
import { decodePng, encodePng } from "./png.ts";
import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";

// 16x16 JPEGs made with libjpeg-turbo's cjpeg: left half (200, 30, 30), right half (30, 60, 210).
const PROGRESSIVE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wgARCAAQABADASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAABQf/xAAUAQEAAAAAAAAAAAAAAAAAAAAG/9oADAMBAAIQAxAAAAGQitCs3X//xAAUEAEAAAAAAAAAAAAAAAAAAAAg/9oACAEBAAEFAh//xAAYEQACAwAAAAAAAAAAAAAAAAAAB0SDw//aAAgBAwEBPwFywbcz/8QAGBEAAgMAAAAAAAAAAAAAAAAAAAdEg8P/2gAIAQIBAT8BTk6vQ//EABQQAQAAAAAAAAAAAAAAAAAAACD/2gAIAQEABj8CH//EABQQAQAAAAAAAAAAAAAAAAAAACD/2gAIAQEAAT8hH//aAAwDAQACAAMAAAAQA//EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQMBAT8QZ//EABQRAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQIBAT8QF//EABQQAQAAAAAAAAAAAAAAAAAAACD/2gAIAQEAAT8QH//Z";
const GRAYSCALE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wAALCAAQABABAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APkOuLrtK4uv/9k=";

const bytesOf = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const near = (a: ArrayLike<number>, b: number[], tol: number) =>
  b.every((v, i) => Math.abs(a[i] - v) <= tol);

Deno.test("image: reads baseline, progressive and grayscale JPEGs as RGB", async () => {
  const prog = await readImage(bytesOf(PROGRESSIVE));
  assertEquals([prog.width, prog.height, prog.data.length], [16, 16, 768]);
  assert(near(prog.data.subarray(3 * 17), [200, 30, 30], 6), `left ${prog.data.subarray(51, 54)}`);
  assert(near(prog.data.subarray(3 * 30), [30, 60, 210], 6), `right ${prog.data.subarray(90, 93)}`);
  const gray = await readImage(bytesOf(GRAYSCALE));
  assertEquals(Array.from(gray.data.subarray(3 * 17, 3 * 18)), [81, 81, 81]);
  assertEquals(Array.from(gray.data.subarray(3 * 30, 3 * 31)), [68, 68, 68]);
  const img = new Image(4, 2).fill(0x3080c0ff);
  const base = await readImage(await img.encodeJPEG(95));
  assert(near(base.data, [48, 128, 192], 4), `baseline ${base.data.subarray(0, 3)}`);
});

Deno.test("image: reads PNGs of any type as RGB, dropping alpha", async () => {
  const rgba = await encodePng({ width: 1, height: 1, data: new Uint8Array([9, 8, 7, 0]) });
  assertEquals(Array.from((await readImage(rgba)).data), [9, 8, 7]);
  const palette = new Uint8Array([1, 2, 3, 4, 5, 6]);
  const indexed = await encodePng({ width: 2, height: 1, data: new Uint8Array([1, 0]), palette });
  assertEquals(Array.from((await readImage(indexed)).data), [4, 5, 6, 1, 2, 3]);
  const rgb = await encodeRgbPng({ width: 1, height: 1, data: new Uint8Array([5, 6, 7]) });
  assertEquals(Array.from((await readImage(rgb)).data), [5, 6, 7]);
});

Deno.test("image: undecodable files give errors naming the file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/a.jpg`, "hello");
  await assertRejects(
    () => readImage(`${dir}/a.jpg`),
    `Cannot decode image ${dir}/a.jpg: not a JPEG`,
  );
  const broken = bytesOf(PROGRESSIVE).subarray(0, 200);
  await Deno.writeFile(`${dir}/b.jpg`, broken);
  await assertRejects(() => readImage(`${dir}/b.jpg`), `Cannot decode image ${dir}/b.jpg`);
  await assertRejects(() => readImage(`${dir}/none.jpg`), `Cannot read ${dir}/none.jpg`);
  const png = await encodeMaskPng({ width: 2, height: 2, data: new Uint8Array(4) });
  await Deno.writeFile(`${dir}/c.png`, png.subarray(0, png.length - 20));
  await assertRejects(() => readMask(`${dir}/c.png`), `Cannot decode mask ${dir}/c.png`);
  await Deno.writeFile(`${dir}/d.png`, bytesOf(GRAYSCALE));
  await assertRejects(() => readMask(`${dir}/d.png`), "masks must be PNG files (found a JPEG");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("image: masks from palette, gray and RGB PNGs", async () => {
  const ids = new Uint8Array([0, 1, 2, 255]);
  const fromPalette = await readMask(await encodeMaskPng({ width: 4, height: 1, data: ids }));
  assertEquals(fromPalette.data, ids);
  const fromGray = await readMask(await encodePng({ width: 4, height: 1, data: ids }));
  assertEquals(fromGray.data, ids);
  const colors = [[0, 0, 0], [10, 20, 30], [200, 0, 0]] as const;
  const rgb = new Uint8Array([0, 0, 0, 10, 20, 30, 200, 0, 0, 224, 224, 192]);
  const png = await encodePng({ width: 4, height: 1, data: rgb });
  assertEquals((await readMask(png, { colors })).data, ids);
  await assertRejects(() => readMask(png), "RGB image but no class colours");
  const wrong = rgb.slice();
  wrong[4] = 21;
  const e = await assertRejects(
    async () => readMask(await encodePng({ width: 4, height: 1, data: wrong }), { colors }),
    "has colour (10, 21, 30) at (1, 0), which is not a class colour",
  );
  assert(e.message.includes("<bytes>"));
  const deep = await encodePng({ width: 1, height: 1, data: new Uint16Array([300]) });
  await assertRejects(() => readMask(deep), "has value 300 at (0, 0)");
});

Deno.test("image: mask PNGs keep indices and palette; overlay blends", async () => {
  const path = await Deno.makeTempFile({ suffix: ".png" });
  const palette = paletteOf([[0, 0, 0], [255, 0, 0]]);
  await writeMaskPng(path, { width: 3, height: 1, data: new Uint8Array([0, 1, 255]) }, palette);
  const png = await decodePng(await Deno.readFile(path));
  assertEquals([png.colorType, png.bitDepth, ...png.data], [3, 8, 0, 1, 255]);
  assertEquals(Array.from(png.palette!.subarray(0, 6)), [0, 0, 0, 255, 0, 0]);
  assertEquals(Array.from(png.palette!.subarray(765)), [224, 224, 192]);
  await writeRgbPng(path, { width: 1, height: 1, data: new Uint8Array([1, 2, 3]) });
  assertEquals(Array.from((await readImage(path)).data), [1, 2, 3]);
  await Deno.remove(path);
  const p = vocPalette();
  assertEquals(Array.from(p.subarray(6, 9)), [0, 128, 0]);
  assertEquals(Array.from(p.subarray(45, 48)), [192, 128, 128]); // 15 person
  const image = { width: 2, height: 1, data: new Uint8Array([100, 100, 100, 0, 0, 0]) };
  const blended = overlay(image, { width: 2, height: 1, data: new Uint8Array([2, 255]) }, p, 0.25);
  assertEquals(Array.from(blended.data), [75, 107, 75, 56, 56, 48]);
});
