/**
 * One line per run saying which backends are missing here and why (their tests skip), or, under
 * `CI=true`, a failure naming them (tests/backends.ts throws on import).
 */
import { missing, strict } from "./backends.ts";
import { devices } from "./harness.ts";
import { assertEquals } from "./assert.ts";

const absent = [...missing].map(([kind, cause]) => `${kind} (${cause})`).join("; ");

Deno.test({
  name: absent === ""
    ? "backends: webgpu, blas and cpu can all be created here"
    : `backends: missing here, so their tests are skipped: ${absent}`,
  ignore: absent !== "" && !strict,
  async fn() {
    assertEquals([...(await devices()).keys()], ["cpu", "webgpu", "blas"]);
  },
});
