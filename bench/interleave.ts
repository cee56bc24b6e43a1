/**
 * Interleaved rounds: every contender runs once per round, so that a machine whose load changes
 * slows them alike and the per-round ratios pair samples taken seconds apart.
 *
 * @module
 */
import { type RowLoad, startLoad } from "./load.ts";

/** One contender: a name and one timed run, returning its ms. */
export interface Contender {
  name: string;
  once: () => Promise<number>;
}

/** Options of {@linkcode interleave}. */
export interface InterleaveOptions {
  /** Untimed rounds first (page cache, allocators, JIT). */
  warmup: number;
  /** Timed rounds. */
  rounds: number;
  /** Processes of the bench that are alive during the rounds (their CPU time is the bench's own). */
  pids?: readonly number[];
  /** Called after each timed round with its index. */
  onRound?: (round: number) => void;
}

/** What {@linkcode interleave} measured. */
export interface InterleaveResult {
  /** Each contender's ms, `samples[name][i]` from round i. */
  samples: Record<string, number[]>;
  /** The machine's load during the timed rounds. */
  load: RowLoad | null;
}

/**
 * Runs `warmup` untimed rounds, then `rounds` timed ones; round i starts with contender
 * `i mod n` (the order rotates, so no contender always runs right after the same one).
 *
 * @example
 * ```ts
 * import { interleave } from "./interleave.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const log: string[] = [];
 * const c = (name: string) => ({ name, once: () => (log.push(name), Promise.resolve(1)) });
 * const r = await interleave([c("a"), c("b")], { warmup: 1, rounds: 2 });
 * assertEquals(log, ["a", "b", "a", "b", "b", "a"]);
 * assertEquals(r.samples, { a: [1, 1], b: [1, 1] });
 * ```
 */
export async function interleave(
  contenders: readonly Contender[],
  options: InterleaveOptions,
): Promise<InterleaveResult> {
  const n = contenders.length;
  for (let w = 0; w < options.warmup; w++) {
    for (const c of contenders) await c.once();
  }
  const samples: Record<string, number[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
  const window = startLoad(options.pids);
  for (let round = 0; round < options.rounds; round++) {
    for (let j = 0; j < n; j++) {
      const c = contenders[(round + j) % n];
      samples[c.name].push(await c.once());
    }
    options.onRound?.(round);
  }
  return { samples, load: window.end() };
}
