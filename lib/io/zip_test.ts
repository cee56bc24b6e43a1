import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { bytesOf, fixture, writeZip } from "./_helpers_test.ts";
import { crc32, ZipReader } from "./zip.ts";

const text = (s: string) => new TextEncoder().encode(s);
const big = new Uint8Array(70000).map((_, i) => (i * 7) % 251); // compressible, > 64 KB

Deno.test("crc32 matches the IEEE check value", () => {
  assertEquals(crc32(text("123456789")), 0xcbf43926);
  assertEquals(crc32(new Uint8Array(0)), 0);
});

Deno.test("crc32's word-sliced path matches the byte-wise CRC at every alignment and length", () => {
  const bytewise = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  const data = big.subarray(0, 300);
  for (const start of [0, 1, 2, 3, 5]) {
    for (const length of [63, 64, 65, 71, 200, 295]) {
      const b = data.subarray(start, start + length);
      assertEquals(crc32(b), bytewise(b), `offset ${start}, length ${length}`);
    }
  }
  assertEquals(crc32(text("123456789".repeat(10))), bytewise(text("123456789".repeat(10))));
});

for (const zip64 of [false, true]) {
  Deno.test(`ZipReader reads stored and deflated entries (zip64: ${zip64})`, async () => {
    const bytes = await writeZip([
      { name: "a/data.pkl", data: text("hello") },
      { name: "a/data/0", data: big, deflate: true },
      { name: "a/empty", data: new Uint8Array(0), deflate: true },
    ], { zip64, comment: "a comment" });
    const zip = new ZipReader(bytes);
    assertEquals([...zip.entries.keys()], ["a/data.pkl", "a/data/0", "a/empty"]);
    assertEquals(zip.entries.get("a/data/0")!.method, 8);
    assert(zip.entries.get("a/data/0")!.compressedSize < big.length / 4, "deflate shrank the data");
    assertEquals(new TextDecoder().decode(await zip.read("a/data.pkl")), "hello");
    assertEquals(await zip.read("a/data/0"), big);
    assertEquals((await zip.read("a/empty")).length, 0);
  });
}

Deno.test("ZipReader reads the zip that torch.save wrote (64-byte aligned records)", async () => {
  const zip = new ZipReader(await fixture("checkpoint.pth"));
  assertEquals(zip.entries.size, 13);
  assertEquals(new TextDecoder().decode(await zip.read("checkpoint/version")).trim(), "3");
  assertEquals((await zip.read("checkpoint/data/0")).length, 8);
});

Deno.test("ZipReader reports malformed archives", async () => {
  const good = await writeZip([{ name: "x", data: text("payload"), deflate: true }]);
  assertThrows(() => new ZipReader(new Uint8Array(10)), "no end-of-central-directory");
  assertThrows(() => new ZipReader(good.subarray(10)), "central directory");
  const zip = new ZipReader(good);
  await assertRejects(() => zip.read("y"), 'no entry "y" among 1 (x)');

  const corrupt = good.slice();
  corrupt[31] ^= 0xff; // first byte of the deflated payload (30-byte header + 1-byte name)
  await assertRejects(() => new ZipReader(corrupt).read("x"), 'entry "x" does not inflate');

  const stored = await writeZip([{ name: "x", data: text("payload") }]);
  const flipped = stored.slice();
  flipped[31 + 1] ^= 1; // one payload byte (30-byte header + 1-byte name)
  await assertRejects(() => new ZipReader(flipped).read("x"), "CRC-32");

  const method = stored.slice();
  const cd = stored.length - 22 - 47; // central header: 46 bytes + 1-byte name
  assertEquals(new DataView(method.buffer).getUint32(cd, true), 0x02014b50);
  method[cd + 10] = 12; // bzip2
  await assertRejects(() => new ZipReader(method).read("x"), "compression method 12");

  const lying = good.slice(); // declares 3 bytes but inflates to 7
  new DataView(lying.buffer).setUint32(lying.length - 22 - 47 + 24, 3, true);
  await assertRejects(() => new ZipReader(lying).read("x"), "inflates past its declared 3 bytes");
});

Deno.test("ZipReader refuses a ZIP64 marker without locator", () => {
  const eocd = bytesOf(0x50, 0x4b, 5, 6, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff);
  const bytes = bytesOf(eocd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0);
  assertThrows(() => new ZipReader(bytes), "no ZIP64 locator");
});
