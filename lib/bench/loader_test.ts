import { assert, assertEquals } from "../../tests/assert.ts";
import { defaultWorkers } from "../data/loader.ts";
import { benchLoaderSection } from "./loader.ts";

Deno.test({
  name: "the loader section measures the bundled dataset inline and with workers",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const rs = await benchLoaderSection({ epochs: 1 });
    assertEquals(rs.map((r) => [r.section, r.pass]), [
      ["loader", "inline"],
      ["loader", `${defaultWorkers()} worker(s) (default)`],
    ]);
    for (const r of rs) assert(r.imagesPerSec! > 0, r.note);
  },
});
