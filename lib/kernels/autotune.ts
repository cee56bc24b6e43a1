/**
 * Per-adapter choice of kernel parameters (register tiles, workgroup sizes) among a small, fixed
 * set of candidates per kernel family.
 *
 * Kernels are recorded synchronously, so they cannot time anything themselves: a kernel asks
 * {@linkcode choose} for its parameters, which answers at once with the family's default and
 * notes the shape class as pending, until the program calls {@linkcode autotune} (typically once
 * at start and once after the first training step or forward pass). From then on `choose`
 * answers with the tuned or cached choice: `autotune` takes each pending class from the JSON
 * cache on disk, or times every candidate on a scaled-down representative problem (a few hundred
 * milliseconds per class) and keeps the fastest, in memory and on disk. Programs that never call
 * `autotune` (the tests) always run the defaults. Pipelines stay cached by source, so once
 * chosen a kernel compiles nothing per call.
 *
 * The disk cache is `autotune/autotune.json` under the cache root of lib/io/cache.ts (`FCN_CACHE`),
 * keyed by the adapter, the Deno version, the family, a hash of the candidates' WGSL and the
 * shape class. `FCN_AUTOTUNE=0` turns all of this off: every kernel uses its default.
 *
 * @module
 */
import type { WebGpuRuntime } from "../device/webgpu.ts";
import { cacheDir } from "../io/cache.ts";

/** A kernel family whose parameters are tuned. `C` must be a JSON-serializable value. */
export interface Family<C> {
  /** Unique name, e.g. `conv2d.forward.3x3`. */
  readonly name: string;
  /** Every configuration that may be chosen (each must pass the family's reference tests). */
  readonly candidates: readonly C[];
  /** The configuration used without tuning. */
  readonly fallback: C;
  /** WGSL of the candidates' pipelines: its hash is part of the cache key. */
  sources(): string[];
  /**
   * Allocates inputs for `problem` and returns `run(c)`, which records one call with `c` and
   * frees its result, and `dispose()`, which frees the inputs.
   */
  bench(rt: WebGpuRuntime, problem: unknown): { run(c: C): void; dispose(): void };
}

/** One tuning result. */
export interface Choice {
  /** The family's name. */
  family: string;
  /** The shape class the choice is for. */
  shapeClass: string;
  /** The chosen configuration. */
  config: unknown;
  /** Milliseconds per call of every candidate tried, in candidate order (null: did not fit). */
  timings: (number | null)[];
  /** Where the choice came from. */
  source: "tuned" | "cache" | "default";
}

interface Pending {
  family: Family<unknown>;
  shapeClass: string;
  problem: unknown;
  usable: (c: unknown) => boolean;
}

const memory = new Map<string, Choice>();
const pending = new Map<string, Pending>();
/** What `choose` answered per key, for the report. */
const used = new Map<string, Choice>();
let disk: Record<string, Choice> | null = null;
/** Set by the first {@linkcode autotune} call: from then on choices are used. */
let active = false;

let enabled: boolean | null = null;

/** Whether tuning is enabled: `FCN_AUTOTUNE` is not `0` (read once, until a reset). */
export function autotuneEnabled(): boolean {
  if (enabled === null) {
    try {
      enabled = Deno.env.get("FCN_AUTOTUNE") !== "0";
    } catch {
      enabled = true; // no env permission: tune
    }
  }
  return enabled;
}

/** 32-bit FNV-1a of a string, as 8 hex digits. */
export function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

const sourceHashes = new WeakMap<Family<unknown>, string>();

function key(rt: WebGpuRuntime, fam: Family<unknown>, shapeClass: string): string {
  let h = sourceHashes.get(fam);
  if (h === undefined) sourceHashes.set(fam, h = hash(fam.sources().join("\n")));
  const a = rt.adapterInfo;
  const adapter = [a.vendor, a.architecture, a.device, a.description].join("/");
  return `${adapter}|deno ${Deno.version.deno}|${fam.name}|${h}|${shapeClass}`;
}

/** The folder {@linkcode resetAutotune} pinned, if any (tests), else the cache root's. */
let pinnedDir: string | undefined;

/** The cache file, or null when the platform gives no cache directory. */
export function cacheFile(): string | null {
  const dir = pinnedDir ?? cacheDir("autotune");
  return dir ? `${dir}/autotune.json` : null;
}

function loadDisk(): Record<string, Choice> {
  if (disk) return disk;
  disk = {};
  const file = cacheFile();
  if (!file) return disk;
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(file));
    if (parsed && typeof parsed === "object") disk = parsed as Record<string, Choice>;
  } catch {
    // missing, unreadable or corrupt: start afresh
  }
  return disk;
}

function saveDisk(): void {
  const file = cacheFile();
  if (!file || !disk) return;
  try {
    Deno.mkdirSync(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(file, JSON.stringify(disk, null, 1));
  } catch {
    // read-only home or no permission: the choices stay in memory
  }
}

/**
 * The configuration of `fam` for `shapeClass`: once {@linkcode autotune} has run, the tuned or
 * cached choice when there is one (and `usable` accepts it); otherwise the default (or the
 * first usable candidate), noting the class as pending with `problem` as its representative.
 * Never waits.
 */
export function choose<C>(
  rt: WebGpuRuntime,
  fam: Family<C>,
  shapeClass: string,
  problem: unknown,
  usable: (c: C) => boolean = () => true,
): C {
  const fallback = usable(fam.fallback)
    ? fam.fallback
    : (fam.candidates.find(usable) ?? fam.fallback);
  if (!autotuneEnabled()) return fallback;
  const k = key(rt, fam as Family<unknown>, shapeClass);
  const hit = active ? memory.get(k) : undefined;
  if (hit) {
    const c = fam.candidates.find((c) => JSON.stringify(c) === JSON.stringify(hit.config));
    if (c !== undefined && usable(c)) {
      used.set(k, hit);
      return c;
    }
  } else if (!pending.has(k)) {
    pending.set(k, {
      family: fam as Family<unknown>,
      shapeClass,
      problem,
      usable: usable as (c: unknown) => boolean,
    });
  }
  used.set(k, {
    family: fam.name,
    shapeClass,
    config: fallback,
    timings: [],
    source: "default",
  });
  return fallback;
}

/** Shape classes waiting for {@linkcode autotune}. */
export function pendingCount(): number {
  return pending.size;
}

/** Timed rounds over the candidates of a class. */
const ROUNDS = 2;

/** Options of {@linkcode autotune}. */
export interface AutotuneOptions {
  /** Timed calls per candidate (after one untimed call that compiles it). Default 2. */
  reps?: number;
  /** Print each result. */
  verbose?: boolean;
}

/**
 * Turns the tuned choices on, and resolves every pending shape class: from the disk cache, or
 * by timing each candidate on the class's representative problem and keeping the fastest (in
 * memory and on disk). Waits for the work already recorded on `rt` first. Does nothing when
 * tuning is disabled.
 */
export async function autotune(rt: WebGpuRuntime, options: AutotuneOptions = {}): Promise<void> {
  const reps = options.reps ?? 2;
  if (!autotuneEnabled()) {
    pending.clear();
    return;
  }
  active = true;
  await rt.flush();
  const stored = loadDisk();
  for (const [k, p] of [...pending]) {
    pending.delete(k);
    if (stored[k]) {
      memory.set(k, { ...stored[k], source: "cache" });
      continue;
    }
    const started = performance.now();
    const { run, dispose } = p.family.bench(rt, p.problem);
    const usable = p.family.candidates.map((c) => p.usable(c));
    const timings: (number | null)[] = usable.map(() => null);
    try {
      // One untimed call each (compiles the pipeline), then rounds over the candidates so that a
      // change of machine load hits them all alike; each keeps its best round.
      for (let round = 0; round <= ROUNDS; round++) {
        for (const [i, c] of p.family.candidates.entries()) {
          if (!usable[i]) continue;
          const t0 = performance.now();
          for (let r = 0; r < (round === 0 ? 1 : reps); r++) run(c);
          await rt.flush();
          const t = (performance.now() - t0) / reps;
          if (round > 0) timings[i] = Math.min(timings[i] ?? Infinity, t);
        }
      }
    } finally {
      dispose();
    }
    let best = -1;
    timings.forEach((t, i) => {
      if (t !== null && (best < 0 || t < timings[best]!)) best = i;
    });
    if (best < 0) continue;
    const choice: Choice = {
      family: p.family.name,
      shapeClass: p.shapeClass,
      config: p.family.candidates[best],
      timings: timings.map((t) => t === null ? null : Math.round(t * 100) / 100),
      source: "tuned",
    };
    memory.set(k, choice);
    stored[k] = { ...choice, source: "cache" };
    if (options.verbose) {
      console.error(`${describe(choice)} in ${(performance.now() - started).toFixed(0)} ms`);
    }
  }
  saveDisk();
}

function describe(c: Choice): string {
  return `${c.family} [${c.shapeClass}]: ${JSON.stringify(c.config)} (${c.source}; ms ${
    c.timings.map((t) => t ?? "-").join(" ")
  })`;
}

/** The choice per kernel family and shape class used so far, one line each (for reports). */
export function autotuneReport(): string {
  if (!autotuneEnabled()) return "autotune: off (FCN_AUTOTUNE=0), defaults everywhere";
  const lines = [...used.values()].map(describe);
  if (!active) lines.push("(autotune() not called yet: defaults everywhere)");
  if (pending.size) lines.push(`${pending.size} shape class(es) pending for autotune()`);
  return ["autotune:", ...lines].join("\n  ");
}

/**
 * Forgets every choice in memory and every pending class, turns choices off again and reads
 * `FCN_AUTOTUNE` afresh. `cacheDir` puts the cache file in that folder instead of the cache
 * root's `autotune/` until the next reset (tests, which must not change the process's variables:
 * test files running in parallel share them).
 */
export function resetAutotune(options: { cacheDir?: string } = {}): void {
  pinnedDir = options.cacheDir;
  enabled = null;
  memory.clear();
  pending.clear();
  used.clear();
  disk = null;
  active = false;
}
