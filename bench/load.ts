/**
 * The machine's load during one benchmark row: how busy all cores were, how much of that was the
 * bench itself (this process, its finished children and the step servers it names), the rest
 * being other work sharing the machine. Read from `/proc` (Linux); null elsewhere.
 *
 * @module
 */

/** Load of the machine while a row was timed. */
export interface RowLoad {
  /** 1-minute load average at the end of the row. */
  avg1: number;
  /** Percent of all cores' time busy during the row, every process counted. */
  busyPct: number;
  /** Percent of all cores' time spent by the bench's own processes during the row. */
  ownPct: number;
  /** `busyPct - ownPct` (at least 0): other work sharing the machine. */
  otherPct: number;
  /** Length of the window, seconds. */
  seconds: number;
}

/** CPU ticks of every core, busy and in all, from the first line of `/proc/stat`. */
export function parseProcStat(text: string): { busy: number; total: number } {
  const v = text.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0); // idle + iowait
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * CPU ticks of one process from its `/proc/<pid>/stat` line: utime + stime, plus cutime +
 * cstime (its children already waited for) when `children`.
 *
 * @example
 * ```ts
 * import { parseProcessTicks } from "./load.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * // Fields 14-17 (utime, stime, cutime, cstime); the name may hold spaces and parentheses.
 * const line = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 100 20 3 4 20 0";
 * assertEquals([parseProcessTicks(line, false), parseProcessTicks(line, true)], [120, 127]);
 * ```
 */
export function parseProcessTicks(text: string, children: boolean): number {
  const fields = text.slice(text.lastIndexOf(")") + 2).trim().split(/\s+/).map(Number);
  // fields[0] is field 3 (state): utime is field 14 -> index 11.
  const [utime, stime, cutime, cstime] = fields.slice(11, 15);
  return utime + stime + (children ? cutime + cstime : 0);
}

function read(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** Ticks of this process (with its waited children) and of `pids` (gone ones count 0). */
function ownTicks(pids: readonly number[]): number {
  const self = read("/proc/self/stat");
  let t = self ? parseProcessTicks(self, true) : 0;
  for (const pid of pids) {
    const s = read(`/proc/${pid}/stat`);
    if (s) t += parseProcessTicks(s, false);
  }
  return t;
}

/** A started load window; `end()` closes it. */
export interface LoadWindow {
  /** The load since the window started, or null off Linux or when no tick passed. */
  end(): RowLoad | null;
}

/**
 * Starts a load window. `pids`: processes the bench started and has not waited for yet (step
 * servers), counted as the bench's own work; a finished child counts through this process's
 * cutime/cstime.
 *
 * @example
 * ```ts
 * import { startLoad } from "./load.ts";
 * import { assert } from "../tests/assert.ts";
 *
 * const w = startLoad();
 * let x = 0;
 * for (const t0 = Date.now(); Date.now() - t0 < 50;) x++;
 * const l = w.end();
 * if (l) assert(l.busyPct >= 0 && l.busyPct <= 100 && l.otherPct <= l.busyPct, JSON.stringify(l));
 * ```
 */
export function startLoad(pids: readonly number[] = []): LoadWindow {
  const statA = read("/proc/stat");
  const ownA = ownTicks(pids);
  const t0 = performance.now();
  return {
    end(): RowLoad | null {
      const statB = read("/proc/stat");
      if (!statA || !statB) return null;
      const a = parseProcStat(statA), b = parseProcStat(statB);
      const total = b.total - a.total;
      if (total <= 0) return null;
      const pct = (ticks: number) => Math.min(100, Math.max(0, Math.round(ticks / total * 100)));
      const busyPct = pct(b.busy - a.busy);
      const ownPct = Math.min(busyPct, pct(ownTicks(pids) - ownA));
      let avg1 = NaN;
      try {
        avg1 = Math.round(Deno.loadavg()[0] * 100) / 100;
      } catch {
        // no load average on this OS
      }
      return {
        avg1,
        busyPct,
        ownPct,
        otherPct: busyPct - ownPct,
        seconds: Math.round(performance.now() - t0) / 1000,
      };
    },
  };
}

/** Of several loads, the one with the most other work (the worst condition a row saw). */
export function worstLoad(loads: readonly (RowLoad | null | undefined)[]): RowLoad | undefined {
  let worst: RowLoad | undefined;
  for (const l of loads) if (l && (!worst || l.otherPct > worst.otherPct)) worst = l;
  return worst;
}
