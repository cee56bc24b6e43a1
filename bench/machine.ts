/**
 * A description of the machine a benchmark ran on.
 *
 * @module
 */
import { parseProcStat } from "./load.ts";
import type { MachineInfo } from "./types.ts";

/** The CPU's model name from `/proc/cpuinfo` (Linux), else the OS and architecture. */
export async function cpuModel(): Promise<string> {
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    const m = info.match(/^model name\s*:\s*(.+)$/m);
    if (m) return m[1].trim();
  } catch {
    // not Linux, or no permission: fall through
  }
  return `${Deno.build.os} ${Deno.build.arch}`;
}

/**
 * The thread count of our BLAS backend by default (FCN_BLAS_THREADS, else the hardware's), which
 * the peers are given so that every contender computes on as many threads.
 */
export function blasThreads(): number {
  return Number(Deno.env.get("FCN_BLAS_THREADS")) || navigator.hardwareConcurrency || 1;
}

/** Load averages (1, 5, 15 minutes), or an empty list where the OS has none. */
export function loadAverage(): number[] {
  try {
    return Deno.loadavg().map((v) => Math.round(v * 100) / 100);
  } catch {
    return [];
  }
}

/** Busy and total jiffies of all CPUs from `/proc/stat`, or null off Linux. */
async function cpuTimes(): Promise<{ busy: number; total: number } | null> {
  try {
    return parseProcStat(await Deno.readTextFile("/proc/stat"));
  } catch {
    return null;
  }
}

/**
 * Percent of all cores' time spent busy during the next `ms` milliseconds (Linux), or null:
 * taken before the run starts, it says how much other work shares the machine.
 */
export async function cpuBusyPercent(ms = 1000): Promise<number | null> {
  const a = await cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = await cpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return Math.round((b.busy - a.busy) / (b.total - a.total) * 100);
}

/** The machine, with the backends and peers filled in later by the run. */
export async function describeMachine(): Promise<MachineInfo> {
  return {
    cpu: await cpuModel(),
    cores: navigator.hardwareConcurrency,
    busyBefore: await cpuBusyPercent(),
    loadStart: loadAverage(),
    loadEnd: [],
    backends: {},
    peers: {},
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os} ${Deno.build.arch}`,
    date: new Date().toISOString(),
  };
}
