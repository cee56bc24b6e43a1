/**
 * The `cold` section: one 320x224 image predicted with the 537 MB FCN-8s/VGG16 checkpoint, from
 * process start to the mask PNG, ours (`deno run -A mod.ts predict ... --backend blas`) with the
 * .pth and the .safetensors file against PyTorch (`scripts/bench_cold_torch.py`: torch.load +
 * build + load_state_dict + forward + argmax + PNG). Each round starts every process once, in a
 * rotating order; a warm-up round first fills the page cache and Deno's module cache. The inputs
 * are made once by `scripts/make_bench_checkpoints.py` into `.cache/bench/`.
 *
 * @module
 */
import { type Contender, interleave } from "./interleave.ts";
import { INSTALL_TORCH } from "./headtohead.ts";
import { blasThreads } from "./machine.ts";
import { summarize } from "./stats.ts";
import { PYTHON, torchAvailable } from "./torch.ts";
import type { BenchResult } from "./types.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Where the cold-start inputs live. */
export const COLD_DIR = `${ROOT}.cache/bench`;

/** The command that makes them. */
export const MAKE_CHECKPOINTS = `${PYTHON} scripts/make_bench_checkpoints.py`;

/** The files the section needs, under {@linkcode COLD_DIR}. */
export const COLD_FILES = [
  "fcn8s/fcn8s.pth",
  "fcn8s/fcn8s.safetensors",
  "fcn8s/config.json",
  "image.png",
];

/** Options of {@linkcode benchCold}. */
export interface ColdOptions {
  /** Where the inputs are (default {@linkcode COLD_DIR}). */
  dir?: string;
  warmup: number;
  rounds: number;
  onResult?: (r: BenchResult) => void;
  onDescription?: (impl: string, description: string) => void;
}

const LABEL = "FCN-8s VGG16 537 MB, 320x224 image";
const FORMATS = ["pth", "safetensors"] as const;

function row(format: string, impl: string, extra: Partial<BenchResult>): BenchResult {
  return {
    section: "cold",
    id: `cold/fcn8s/${format}`,
    label: `${LABEL}, .${format}`,
    pass: "start to mask",
    impl,
    peer: impl !== "blas",
    ...extra,
  };
}

/** Runs `cmd` to the end and returns its wall time, ms; throws with its stderr's last lines. */
async function timeProcess(name: string, cmd: string[], env: Record<string, string>) {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const ms = performance.now() - t0;
  if (!r.success) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${name} exited with ${r.code}: ${err}`);
  }
  return { ms, stdout: new TextDecoder().decode(r.stdout) };
}

/** Whether the system Python has the `safetensors` package (for PyTorch's .safetensors row). */
async function pythonHasSafetensors(): Promise<boolean> {
  try {
    return (await new Deno.Command(PYTHON, {
      args: ["-c", "import safetensors"],
      stdout: "null",
      stderr: "null",
    }).output()).success;
  } catch {
    return false;
  }
}

/** The contenders: ours on each file, PyTorch on the .pth (and the .safetensors when it can). */
function contenders(out: string, torch: boolean, torchSafetensors: boolean, o: ColdOptions) {
  const dir = o.dir ?? COLD_DIR;
  const image = `${dir}/image.png`;
  const list: Contender[] = FORMATS.map((f) => ({
    name: `blas ${f}`,
    once: async () =>
      (await timeProcess(`ours .${f}`, [
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}mod.ts`,
        "predict",
        image,
        "--weights",
        `${dir}/fcn8s/fcn8s.${f}`,
        "--backend",
        "blas",
        "--out",
        out,
      ], {})).ms,
  }));
  const formats = torch ? (torchSafetensors ? FORMATS : (["pth"] as const)) : [];
  for (const f of formats) {
    list.push({
      name: `torch ${f}`,
      once: async () => {
        const cmd = [PYTHON, `${ROOT}scripts/bench_cold_torch.py`, `${dir}/fcn8s/fcn8s.${f}`];
        const r = await timeProcess(`PyTorch .${f}`, [...cmd, image, `${out}/torch_mask.png`], {
          TORCH_THREADS: String(blasThreads()),
        });
        const info = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
        o.onDescription?.(
          "torch",
          `PyTorch ${info.torch}, ${info.threads} threads (set to match ours; its default here: ${info.default_threads}), other settings default`,
        );
        return r.ms;
      },
    });
  }
  return list;
}

/** The rows of the section from the interleaved samples. */
function rows(samples: Record<string, number[]>, load: BenchResult["load"] | null): BenchResult[] {
  const out: BenchResult[] = [];
  for (const f of FORMATS) {
    for (const impl of ["blas", "torch"]) {
      const own = samples[`${impl} ${f}`];
      const s = own ?? (impl === "torch" ? samples["torch pth"] : undefined);
      if (!s) continue;
      const sum = summarize(s);
      out.push(row(f, impl, {
        ms: sum.median,
        samples: s,
        spreadPct: sum.spreadPct,
        interleaved: true,
        ...(load ? { load } : {}),
        ...(own ? {} : {
          note:
            "PyTorch reads the .pth here (no python3-safetensors): the same runs as the .pth row",
        }),
      }));
    }
  }
  return out;
}

/**
 * Runs the cold-start section; missing inputs or PyTorch become notes naming the fix.
 *
 * @example
 * ```ts
 * import { benchCold } from "./cold_start.ts";
 * import type { BenchResult } from "./types.ts";
 * import { assertEquals } from "../tests/assert.ts";
 *
 * const rows: BenchResult[] = [];
 * await benchCold({ dir: "/nonexistent", warmup: 1, rounds: 5, onResult: (r) => rows.push(r) });
 * assertEquals(rows.map((r) => `${r.id} ${r.impl}`), [
 *   "cold/fcn8s/pth blas", "cold/fcn8s/pth torch", "cold/fcn8s/safetensors blas", "cold/fcn8s/safetensors torch",
 * ]);
 * assertEquals(rows[0].note, "n/a: /nonexistent/fcn8s/fcn8s.pth is missing: run /usr/bin/python3 scripts/make_bench_checkpoints.py");
 * ```
 */
export async function benchCold(o: ColdOptions): Promise<void> {
  const emit = (r: BenchResult) => o.onResult?.(r);
  const dir = o.dir ?? COLD_DIR;
  for (const f of COLD_FILES) {
    if (!await Deno.stat(`${dir}/${f}`).then(() => true, () => false)) {
      const note = `n/a: ${dir}/${f} is missing: run ${MAKE_CHECKPOINTS}`;
      for (const format of FORMATS) {
        for (const impl of ["blas", "torch"]) emit(row(format, impl, { note }));
      }
      return;
    }
  }
  const torch = await torchAvailable();
  const out = await Deno.makeTempDir({ prefix: "fcn-cold-" });
  try {
    const list = contenders(out, torch, torch && await pythonHasSafetensors(), o);
    const r = await interleave(list, {
      warmup: o.warmup,
      rounds: o.rounds,
      onRound: (i) => console.error(`  [cold] round ${i + 1} of ${o.rounds}`),
    });
    rows(r.samples, r.load).forEach(emit);
    if (!torch) {
      const note = `skipped: ${PYTHON} -c "import torch" failed: ${INSTALL_TORCH}`;
      for (const f of FORMATS) emit(row(f, "torch", { note }));
    }
  } catch (e) {
    const note = `n/a: ${(e as Error).message.split("\n")[0]}`;
    for (const f of FORMATS) for (const impl of ["blas", "torch"]) emit(row(f, impl, { note }));
  } finally {
    await Deno.remove(out, { recursive: true });
  }
}
