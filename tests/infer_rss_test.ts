/**
 * `predict --tile` on a large generated image keeps its peak resident set size within a bound
 * that follows the tile and the width, not the image's area times the class count: a subprocess
 * (tests/_rss_predict.ts) runs predict with the bundled model on the BLAS backend and prints its
 * VmHWM; the same on a 64x64 image gives the base (Deno, the model, BLAS).
 *
 * The bound above the base, for an H x W image, tile S and K classes:
 * - 32 bytes per pixel for the 8-bit work predict does on any image: PNG decoding, the mask, the
 *   overlay and the PNG encoders' buffers (29 B/px measured with no inference at all);
 * - 400 bytes per window pixel, S^2, for one window's activations (the bundled model holds about
 *   260 B per pixel at its peak);
 * - 8 K S W bytes for the logits band (K x S x W f32) and the rows handed on;
 * - 16 MB for the allocators' and the garbage collector's timing: the base alone moves between 76
 *   and 92 MB from run to run.
 * For 2000x1500 and S = 256 that is 152 MB. The peak above the base (71-92 MB) was 109-113 MB in
 * session 12 and 118-150 MB in single runs of session 19: the 8-bit buffers are freed when V8
 * collects them, so the test takes the lower of two runs for the base and for the large image.
 * Keeping every row of logits (a K x H x W f32 array, 57 MB) made it 154 MB and failed; an f32
 * copy of the image would add 34 MB, and a whole-image forward of the bundled model needs over
 * 1 GB.
 */
import { encodeRgbPng } from "../lib/data/image.ts";
import { hasBlas } from "./harness.ts";
import { assert } from "./assert.ts";

const H = 1500, W = 2000, S = 256, K = 5;
const script = new URL("./_rss_predict.ts", import.meta.url).pathname;

/** A test image: stripes, gradients and flat boxes, so the windows see varied content. */
function picture(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = 3 * (y * width + x), box = x % 400 < 200 && y % 300 < 150;
      data[i] = box ? 200 : (x * 7) % 256;
      data[i + 1] = box ? 30 : (y * 3) % 256;
      data[i + 2] = (x + y) % 256;
    }
  }
  return { width, height, data };
}

/** Runs predict on `image` with `--tile`; returns the peak RSS in bytes. */
async function peakRss(dir: string, name: string, width: number, height: number) {
  const path = `${dir}/${name}.png`;
  await Deno.writeFile(path, await encodeRgbPng(picture(width, height)));
  const args = [path, "--tile", String(S), "--overlap", "0.25", "--out", `${dir}/out`];
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args, "--backend", "blas"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert(code === 0, `predict failed (${code}): ${out}${new TextDecoder().decode(stderr)}`);
  const kb = /peak_rss_kb (\d+)/.exec(out);
  assert(kb, `no peak_rss_kb line in: ${out}`);
  return Number(kb[1]) * 1024;
}

Deno.test({
  name: `predict --tile ${S}: peak RSS on a ${W}x${H} image follows the tile and width`,
  ignore: !hasBlas || Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "fcn_rss_" });
    try {
      const base = Math.min(
        await peakRss(dir, "small", 64, 64),
        await peakRss(dir, "small", 64, 64),
      );
      const peak = Math.min(await peakRss(dir, "large", W, H), await peakRss(dir, "large", W, H));
      const bound = 32 * H * W + 400 * S * S + 8 * K * S * W + 16 * 2 ** 20;
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
      assert(
        peak - base <= bound,
        `peak RSS ${mb(peak)} is ${mb(peak - base)} above the base ${mb(base)}; ` +
          `the bound is ${mb(bound)} (a K x H x W f32 array alone is ${mb(4 * K * H * W)})`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
