import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { StepProcess } from "./step_client.ts";

/** A stand-in step server: answers the setup, then each step with a growing ms; "fail" refuses. */
const FAKE = `
const enc = new TextEncoder();
const say = (o) => Deno.stdout.writeSync(enc.encode(JSON.stringify(o) + "\\n"));
let n = 0, rest = "";
console.log("a banner that is not an answer");
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  const parts = (rest + chunk).split("\\n");
  rest = parts.pop();
  for (const line of parts) {
    const m = JSON.parse(line);
    if (m.op === "quit") Deno.exit(0);
    if (m.op === "step") say({ ms: ++n, rssBytes: 1024 * n });
    else if (m.fail) say({ error: "cannot build " + m.fail });
    else if (m.die) Deno.exit(3);
    else say({ ok: true, description: "fake " + m.size, threads: 2 });
  }
}
`;
const CMD = [Deno.execPath(), "eval", FAKE];

Deno.test("a step server answers its setup, then one step per request, and quits", async () => {
  const p = await StepProcess.start("fake", CMD, { size: 7 });
  try {
    assertEquals([p.description, p.info.threads], ["fake 7", 2]);
    assert(p.pid > 0);
    assertEquals(await p.step(), { ms: 1, rssBytes: 1024 });
    assertEquals(await p.step(), { ms: 2, rssBytes: 2048 });
  } finally {
    await p.close();
  }
});

Deno.test("a step server that refuses or dies is an error naming it and why", async () => {
  await assertRejects(
    () => StepProcess.start("fake", CMD, { fail: "fcn9s" }),
    "fake: cannot build fcn9s",
  );
  await assertRejects(
    () => StepProcess.start("fake", CMD, { die: true }),
    "fake: the step server ended without answering",
  );
});
