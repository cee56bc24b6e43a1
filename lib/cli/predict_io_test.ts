import { PredictIo } from "./predict_io.ts";
import { encodeRgbPng, readImage } from "../data/image.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";

const image = (w: number, h: number, seed: number) => ({
  width: w,
  height: h,
  data: new Uint8Array(w * h * 3).map((_, i) => (i * seed) % 251),
});

/** Runs `fn` with console.log and console.error collected, in order, as "out ..."/"err ...". */
async function capture(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const [log, err] = [console.log, console.error];
  console.log = (m: string) => lines.push(`out ${m}`);
  console.error = (m: string) => lines.push(`err ${m}`);
  try {
    await fn();
  } finally {
    console.log = log;
    console.error = err;
  }
  return lines;
}

for (const workers of [0, 2]) {
  Deno.test(`PredictIo (${workers} workers): decodes in order, errors in place; lines in order once written`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "fcn_predict_io_" });
    const paths: string[] = [];
    for (let i = 0; i < 5; i++) {
      const p = `${dir}/in${i}.png`;
      if (i === 2) await Deno.writeTextFile(p, "broken");
      else await Deno.writeFile(p, await encodeRgbPng(image(9 + i, 7, i + 1)));
      paths.push(p);
    }
    const io = new PredictIo({ workers, ahead: 2 });
    const lines = await capture(async () => {
      try {
        for await (const d of io.decode(paths)) {
          if ("error" in d) {
            await io.report(`skip ${d.path.slice(-7)}: ${d.error.message.includes(d.path)}`);
            continue;
          }
          const k = d.path.slice(-5, -4), { width, height } = d.image;
          const mask = { width, height, data: new Uint8Array(width * height).fill(1) };
          await io.write({
            kind: "write",
            image: d.image,
            mask,
            palette: new Uint8Array([0, 0, 0, 200, 100, 0]),
            alpha: 0.5,
            maskPath: `${dir}/m${k}.png`,
            overlayPath: `${dir}/o${k}.png`,
          }, `wrote ${k} ${width}x${height}`);
        }
        await io.flush();
      } finally {
        io.close();
      }
    });
    assertEquals(lines, [
      "out wrote 0 9x7",
      "out wrote 1 10x7",
      "err skip in2.png: true",
      "out wrote 3 12x7",
      "out wrote 4 13x7",
    ]);
    const o4 = await readImage(`${dir}/o4.png`), src = image(13, 7, 5);
    assertEquals(o4.data[0], Math.round(0.5 * src.data[0] + 0.5 * 200));
    await Deno.remove(dir, { recursive: true });
  });

  Deno.test(`PredictIo (${workers} workers): a write that fails names its file and stops the run`, async () => {
    const io = new PredictIo({ workers });
    const job = {
      kind: "write" as const,
      image: image(2, 2, 1),
      mask: { width: 2, height: 2, data: new Uint8Array(4) },
      palette: new Uint8Array(3),
      alpha: 0.5,
      maskPath: "/nonexistent/dir/x_mask.png",
      overlayPath: "/nonexistent/dir/x_overlay.png",
    };
    const lines = await capture(async () => {
      try {
        await assertRejects(async () => {
          await io.write(job, "never printed");
          await io.flush();
        }, "/nonexistent/dir/x_mask.png");
      } finally {
        io.close();
      }
    });
    assertEquals(lines, []);
  });
}

Deno.test("PredictIo: workers must be a count", () => {
  assertThrows(
    () => new PredictIo({ workers: -1 }),
    "Expected workers to be an integer >= 0 but found -1",
  );
});

Deno.test("PredictIo: when the workers cannot start, the work goes on inline, said once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "fcn_predict_io_" });
  const paths = [0, 1, 2].map((i) => `${dir}/in${i}.png`);
  for (const [i, p] of paths.entries()) await Deno.writeFile(p, await encodeRgbPng(image(3, 2, i)));
  const url = new URL("./no_such_worker.ts", import.meta.url);
  const io = new PredictIo({ workers: 2, url });
  const sizes: number[] = [];
  const lines = await capture(async () => {
    try {
      for await (const d of io.decode(paths)) sizes.push("image" in d ? d.image.width : -1);
      await io.flush();
    } finally {
      io.close();
    }
  });
  assertEquals(sizes, [3, 3, 3]);
  assertEquals(lines.length, 1, lines.join("\n"));
  assert(lines[0].startsWith("err Image worker failed: "), lines[0]);
  assert(lines[0].endsWith("; decoding and writing inline from here"), lines[0]);
  assertEquals(io.workers, 0);
  await Deno.remove(dir, { recursive: true });
});
