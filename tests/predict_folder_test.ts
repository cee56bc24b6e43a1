/**
 * `predict` on a folder with image workers: the same files, byte for byte, and the same lines in
 * the same order as inline (`--workers 0`); a bad image is reported in its place and skipped;
 * the last line gives images/s.
 */
import { run } from "../lib/cli/main.ts";
import { encodeRgbPng } from "../lib/data/image.ts";
import { assert, assertEquals } from "./assert.ts";

const jpegs = new URL("../fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages/", import.meta.url)
  .pathname;

/** A folder of 7 images: JPEGs of several sizes (two the same size in a row), a PNG, a bad file. */
async function mixedFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "fcn_predict_folder_" });
  // syn_000027 and syn_000033 are both 88x72: with --batch-size 2 they share a forward pass.
  for (const [id, as] of [["000001", "a"], ["000027", "b"], ["000033", "c"], ["000040", "e"]]) {
    await Deno.copyFile(`${jpegs}syn_${id}.jpg`, `${dir}/${as}.jpg`);
  }
  await Deno.writeTextFile(`${dir}/d.jpg`, "not a jpeg");
  const data = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 7) % 256);
  await Deno.writeFile(`${dir}/f.png`, await encodeRgbPng({ width: 40, height: 30, data }));
  await Deno.writeFile(`${dir}/g.png`, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
  return dir;
}

/** Runs predict, returning its exit code and its lines (stdout and stderr in one stream). */
async function predict(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = (m: string) => lines.push(`out: ${m}`);
  console.error = (m: string) => lines.push(`err: ${m}`);
  try {
    return { code: await run(["predict", ...args]), lines };
  } finally {
    console.log = log;
    console.error = err;
  }
}

async function files(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) out.set(e.name, await Deno.readFile(`${dir}/${e.name}`));
  return out;
}

Deno.test("predict on a folder: image workers write the same bytes and lines as inline; bad images are skipped in place", async () => {
  const dir = await mixedFolder();
  const common = [dir, "--backend", "cpu", "--batch-size", "2"];
  const inline = await predict([...common, "--out", `${dir}/inline`, "--workers", "0"]);
  const pooled = await predict([...common, "--out", `${dir}/pooled`, "--workers", "2"]);
  assertEquals([inline.code, pooled.code], [1, 1]);

  const a = await files(`${dir}/inline`), b = await files(`${dir}/pooled`);
  assertEquals([...a.keys()].sort(), [...b.keys()].sort());
  assertEquals(a.size, 10, "mask and overlay of the 5 good images");
  for (const [name, bytes] of a) assertEquals(b.get(name), bytes, name);

  // The same lines in the same order, up to the output folder, the timings and the rate.
  const rate = /image\(s\) in [\d.]+ s: [\d.]+ images\/s/;
  const norm = (lines: string[], out: string) =>
    lines.filter((l) => !rate.test(l)).map((l) =>
      l.replaceAll(out, "OUT").replace(/[\d.]+ ms/, "T ms")
    );
  const body = norm(inline.lines, `${dir}/inline`);
  assertEquals(norm(pooled.lines, `${dir}/pooled`), body);
  // g.png is read while f.png waits for a batch-mate: its line comes first, as it always did.
  const order = body.filter((l) => l.startsWith(`out: ${dir}`) || l.startsWith("err: Skipping"))
    .map((l) => `${l.slice(0, 3)} ${l.match(/\/(\w)\.(jpg|png)/)![1]}`);
  assertEquals(order, ["out a", "out b", "out c", "err d", "out e", "err g", "out f"]);
  assert(body.some((l) => l.startsWith("err: Skipping") && l.includes("d.jpg: Cannot decode")));
  assert(body.at(-1)!.startsWith("err: 2 of 7 image(s) failed: "), body.at(-1));

  // The rate line: images/s, and how the work ran.
  const line = (r: { lines: string[] }) => r.lines.find((l) => rate.test(l))!;
  assertEquals(
    line(inline).replace(/[\d.]+ s: [\d.]+/, "S s: R"),
    "out: 5 image(s) in S s: R images/s (decoding and writing inline)",
  );
  assertEquals(
    line(pooled).replace(/[\d.]+ s: [\d.]+/, "S s: R"),
    "out: 5 image(s) in S s: R images/s (2 image workers)",
  );
  await Deno.remove(dir, { recursive: true });
});
