import { assertEquals } from "../../tests/assert.ts";
import { readWhole } from "./read_whole.ts";

Deno.test("readWhole returns the file's bytes in one buffer at offset 0", async () => {
  const path = await Deno.makeTempFile();
  try {
    const data = new Uint8Array(300_001).map((_, i) => (i * 31) % 256);
    await Deno.writeFile(path, data);
    const bytes = await readWhole(path);
    assertEquals(bytes.byteOffset, 0);
    assertEquals(bytes.buffer.byteLength, data.length);
    assertEquals(bytes, data);
    await Deno.writeFile(path, new Uint8Array(0));
    assertEquals((await readWhole(path)).length, 0);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test({
  name: "readWhole reads files whose size stat does not know (/proc)",
  ignore: Deno.build.os !== "linux",
}, async () => {
  const text = new TextDecoder().decode(await readWhole("/proc/self/status"));
  assertEquals(text.startsWith("Name:"), true);
});
