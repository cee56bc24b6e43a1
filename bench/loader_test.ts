import { assert, assertEquals } from "../tests/assert.ts";
import { defaultWorkers } from "../lib/data/loader.ts";
import { benchLoader, benchLoaderSection, FIXTURE } from "./loader.ts";

Deno.test("benchLoader reports images per second", async () => {
  const rate = await benchLoader(FIXTURE, {
    batchSize: 8,
    workers: 0,
    crop: 32,
    baseSize: 40,
    split: "val",
  });
  assert(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
});

Deno.test({
  name: "the loader section measures the bundled dataset inline and with workers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const rs = await benchLoaderSection({ epochs: 1, reps: 2 });
    assertEquals(rs.map((r) => [r.section, r.pass]), [
      ["loader", "inline"],
      ["loader", `${defaultWorkers()} worker(s) (default)`],
    ]);
    for (const r of rs) {
      assert(r.imagesPerSec! > 0, r.note);
      assertEquals(r.samples?.length, 2);
    }
  },
});
