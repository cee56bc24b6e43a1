import { type LastState, loadLastState, saveLastState } from "./checkpoint.ts";
import { assertEquals, assertRejects } from "../../tests/assert.ts";

function generation(step: number): LastState {
  return {
    state: { epoch: step, step, bestMeanIoU: 0.5, bestEpoch: 1, dropoutCounter: step * 10 },
    weights: { w: { dtype: "f32", shape: [2], data: new Float32Array([step, step]) } },
    optimizer: {
      "momentum_buffer.w": { dtype: "f32", shape: [2], data: new Float32Array([1, step]) },
    },
  };
}

const FILES = ["last.safetensors", "optimizer.safetensors", "state.json"];

Deno.test("saveLastState/loadLastState: the newest generation round-trips", async () => {
  const dir = await Deno.makeTempDir();
  await saveLastState(dir, generation(1));
  await saveLastState(dir, generation(2));
  const g = await loadLastState(dir);
  assertEquals(g.state.step, 2);
  assertEquals(Array.from(g.weights.w.data), [2, 2]);
  assertEquals(Array.from(g.optimizer["momentum_buffer.w"].data), [1, 2]);
  const left = [];
  for await (const e of Deno.readDir(dir)) left.push(e.name);
  assertEquals(left.sort(), [...FILES].sort());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadLastState: a crash at any point of a save leaves a complete generation", async () => {
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  await saveLastState(a, generation(1));
  await saveLastState(b, generation(2));
  // Every way the renames can be cut short: each file is the new one, the old one moved to
  // .prev, or the old one still in place.
  for (let mask = 0; mask < 27; mask++) {
    const dir = await Deno.makeTempDir();
    let m = mask;
    for (const f of FILES) {
      const stage = m % 3;
      m = Math.floor(m / 3);
      if (stage === 0) await Deno.copyFile(`${a}/${f}`, `${dir}/${f}`);
      if (stage === 1) await Deno.copyFile(`${a}/${f}`, `${dir}/${f}.prev`);
      if (stage === 2) {
        await Deno.copyFile(`${a}/${f}`, `${dir}/${f}.prev`);
        await Deno.copyFile(`${b}/${f}`, `${dir}/${f}`);
      }
    }
    const g = await loadLastState(dir);
    const step = g.state.step;
    assertEquals(Array.from(g.weights.w.data), [step, step], `case ${mask}`);
    assertEquals(g.optimizer["momentum_buffer.w"].data[1], step, `case ${mask}`);
    await Deno.remove(dir, { recursive: true });
  }
  for (const d of [a, b]) await Deno.remove(d, { recursive: true });
});

Deno.test("loadLastState: a folder without a run says what it expected", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(() => loadLastState(dir), "No resumable state");
  await Deno.remove(dir, { recursive: true });
});
