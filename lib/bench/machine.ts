/**
 * A description of the machine a benchmark ran on.
 *
 * @module
 */
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

/** Load averages (1, 5, 15 minutes), or an empty list where the OS has none. */
export function loadAverage(): number[] {
  try {
    return Deno.loadavg().map((v) => Math.round(v * 100) / 100);
  } catch {
    return [];
  }
}

/** The machine, with the backends and peers filled in later by the run. */
export async function describeMachine(): Promise<MachineInfo> {
  return {
    cpu: await cpuModel(),
    cores: navigator.hardwareConcurrency,
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
