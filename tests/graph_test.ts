/**
 * The module graph has no import cycle: `deno info --json` of mod.ts and of every task entry
 * point, counting code, type-only and dynamic imports, restricted to this repository's files.
 *
 * @module
 */
import { assertEquals } from "./assert.ts";

const ROOT = new URL("../", import.meta.url);

/** One module of `deno info --json`, as far as this test reads it. */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

/** The repository-local import graph reachable from `entries` (paths relative to the root). */
async function moduleGraph(entries: string[]): Promise<Map<string, Set<string>>> {
  const graph = new Map<string, Set<string>>();
  for (const entry of entries) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `deno info --json ${entry} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const info: { modules: InfoModule[] } = JSON.parse(new TextDecoder().decode(out.stdout));
    for (const m of info.modules) {
      if (!m.specifier.startsWith(ROOT.href)) continue;
      const edges = graph.get(rel(m.specifier)) ?? new Set<string>();
      graph.set(rel(m.specifier), edges);
      for (const d of m.dependencies ?? []) {
        for (const to of [d.code?.specifier, d.type?.specifier]) {
          if (to?.startsWith(ROOT.href)) edges.add(rel(to));
        }
      }
    }
  }
  return graph;
}

const rel = (specifier: string): string => specifier.slice(ROOT.href.length);

/**
 * The cycles of `graph`: in each strongly connected component (Tarjan), the shortest cycle
 * through each of its modules, without repeats, each written as the path `a -> b -> ... -> a`.
 */
function cycles(graph: Map<string, Set<string>>): string[] {
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), found: string[] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = new Set<string>();
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.add(w);
    } while (w !== v);
    if (scc.size === 1 && !graph.get(v)?.has(v)) return;
    const seen = new Set<string>();
    for (const u of [...scc].sort()) {
      const path = cycleThrough(u, scc, graph);
      const key = path.slice(0, -1).sort().join(" ");
      if (!seen.has(key)) found.push(path.join(" -> "));
      seen.add(key);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest path from `start` back to itself inside one component (breadth first). */
function cycleThrough(start: string, scc: Set<string>, graph: Map<string, Set<string>>): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)!) path.unshift(u);
        return [start, ...path];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  throw new Error(`${start} is in a cycle but no path leads back to it`);
}

Deno.test("graph: no import cycle from mod.ts or tasks/*.ts (code, type and dynamic imports)", async () => {
  const tasks = [...Deno.readDirSync(new URL("tasks/", ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `tasks/${e.name}`)
    .sort();
  const graph = await moduleGraph(["mod.ts", ...tasks]);
  assertEquals(graph.has("lib/tensor.ts"), true, "the graph should reach lib/tensor.ts");
  const found = cycles(graph);
  if (found.length > 0) {
    throw new Error(
      `${found.length} import cycle(s) in the module graph; break each one (move the shared ` +
        `types or code into a module both sides import):\n  ${found.join("\n  ")}`,
    );
  }
});

Deno.test("graph: the cycle finder names every cycle", () => {
  const g = new Map<string, Set<string>>([
    ["a.ts", new Set(["b.ts"])],
    ["b.ts", new Set(["a.ts", "c.ts", "g.ts"])],
    ["g.ts", new Set(["a.ts"])],
    ["c.ts", new Set(["d.ts"])],
    ["d.ts", new Set(["e.ts"])],
    ["e.ts", new Set(["c.ts"])],
    ["f.ts", new Set(["f.ts"])],
  ]);
  assertEquals(cycles(g).sort(), [
    "a.ts -> b.ts -> a.ts",
    "c.ts -> d.ts -> e.ts -> c.ts",
    "f.ts -> f.ts",
    "g.ts -> a.ts -> b.ts -> g.ts",
  ]);
});
