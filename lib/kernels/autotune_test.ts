import type { WebGpuRuntime } from "../device/webgpu.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import {
  autotune,
  autotuneReport,
  cacheFile,
  choose,
  type Family,
  hash,
  pendingCount,
  resetAutotune,
} from "./autotune.ts";

/** A runtime stand-in: autotune only flushes and reads the adapter's description. */
const fakeRt = {
  adapterInfo: { vendor: "test", architecture: "", device: "0", description: "fake adapter" },
  flush: () => Promise.resolve(),
} as unknown as WebGpuRuntime;

/** Spins for `ms` milliseconds: a candidate that is slow for sure, whatever the load. */
function spin(ms: number) {
  const t = performance.now();
  while (performance.now() - t < ms) { /* busy */ }
}

interface Tile {
  size: number;
}

/**
 * A family whose candidate `size` costs `size` x `problem` ms per call; 4 is the default, 1 the
 * best. Problems of 10-15 ms per unit keep the ranking clear of a loaded machine's preemptions
 * (a 2-vs-4 ms gap was seen reversed under a load average of 14).
 */
function family(calls: number[]): Family<Tile> {
  return {
    name: "test.spin",
    candidates: [{ size: 4 }, { size: 1 }, { size: 8 }, { size: 2 }],
    fallback: { size: 4 },
    sources: () => ["fn main() {}"],
    bench: (_rt, problem) => ({
      run: (c) => {
        calls.push(c.size);
        spin(c.size * (problem as number));
      },
      dispose: () => {},
    }),
  };
}

/** Runs `f` with the cache in a fresh temporary directory and tuning on. */
async function withCacheDir(f: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  const saved = Deno.env.get("FCN_AUTOTUNE");
  Deno.env.delete("FCN_AUTOTUNE");
  resetAutotune({ cacheDir: dir });
  try {
    await f(dir);
  } finally {
    if (saved === undefined) Deno.env.delete("FCN_AUTOTUNE");
    else Deno.env.set("FCN_AUTOTUNE", saved);
    resetAutotune();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("autotune: defaults until autotune() runs, then the fastest candidate, cached", async () => {
  await withCacheDir(async (dir) => {
    const calls: number[] = [];
    const fam = family(calls);
    // First use: the default, the class noted as pending, nothing timed.
    assertEquals(choose(fakeRt, fam, "class a", 15), { size: 4 });
    assertEquals(choose(fakeRt, fam, "class a", 15), { size: 4 });
    assertEquals(pendingCount(), 1);
    assertEquals(calls, []);
    await autotune(fakeRt, { reps: 1 });
    assertEquals(pendingCount(), 0);
    // One untimed and two timed rounds of every candidate.
    assertEquals(calls.length, 4 * 3);
    assertEquals(choose(fakeRt, fam, "class a", 15), { size: 1 });
    assert(autotuneReport().includes('test.spin [class a]: {"size":1} (tuned'), autotuneReport());
    // The choice is on disk under the cache directory, keyed by adapter and source hash.
    assertEquals(cacheFile(), `${dir}/autotune.json`);
    const stored = JSON.parse(await Deno.readTextFile(`${dir}/autotune.json`));
    const keys = Object.keys(stored);
    assertEquals(keys.length, 1);
    assert(keys[0].includes("fake adapter") && keys[0].includes(hash("fn main() {}")), keys[0]);
    // A new process (simulated): defaults until autotune(), which then reads the cache.
    resetAutotune({ cacheDir: dir });
    calls.length = 0;
    assertEquals(choose(fakeRt, fam, "class a", 15), { size: 4 });
    await autotune(fakeRt);
    assertEquals(calls, []);
    assertEquals(choose(fakeRt, fam, "class a", 15), { size: 1 });
    assert(autotuneReport().includes("(cache"), autotuneReport());
  });
});

Deno.test("autotune: unusable candidates are skipped; FCN_AUTOTUNE=0 keeps the defaults", async () => {
  await withCacheDir(async (dir) => {
    const calls: number[] = [];
    const fam = family(calls);
    const small = (c: Tile) => c.size >= 2; // size 1 does not fit this problem
    assertEquals(choose(fakeRt, fam, "class b", 10, small), { size: 4 });
    await autotune(fakeRt, { reps: 1 });
    assert(!calls.includes(1), `${calls}`);
    assertEquals(choose(fakeRt, fam, "class b", 10, small), { size: 2 });
    // With the default unusable, the first usable candidate stands in for it.
    const big = (c: Tile) => c.size === 8;
    assertEquals(choose(fakeRt, fam, "class c", 10, big), { size: 8 });

    Deno.env.set("FCN_AUTOTUNE", "0");
    resetAutotune({ cacheDir: dir });
    calls.length = 0;
    assertEquals(choose(fakeRt, fam, "class b", 10, small), { size: 4 });
    await autotune(fakeRt);
    assertEquals(pendingCount(), 0);
    assertEquals(calls, []);
    assertEquals(choose(fakeRt, fam, "class b", 10, small), { size: 4 });
    assert(autotuneReport().includes("off"), autotuneReport());
  });
});

Deno.test("autotune: hash is FNV-1a", () => {
  assertEquals(hash(""), "811c9dc5");
  assertEquals(hash("a"), "e40c292c");
});
