/**
 * `deno task bench:data [variant...] [--bundled] [--backend blas]`: trains with the default
 * recipe (`deno task train --data DIR --num-classes K`, no other flag) on datasets the defaults
 * were not tuned on (bench/shapes_data.ts) and prints each run's best val mIoU and wall time
 * against the target: mIoU >= 0.85 within 10 minutes on a 2-core machine; `--bundled` also
 * times the bundled demo (`deno task train`, target 90 s). Not a test: it takes minutes.
 *
 * @module
 */
import { makeShapesDataset, SHAPES_VARIANTS } from "./shapes_data.ts";

/** The targets of the default recipe. */
export const TARGETS = { meanIoU: 0.85, seconds: 600, bundledSeconds: 90 } as const;

/** One timed training run. */
export interface DataRun {
  name: string;
  classes: number;
  meanIoU: number;
  bestEpoch: number;
  epochs: number;
  seconds: number;
  /** CPU seconds of the training process (user + system, all threads). */
  cpuSeconds: number;
  /** The 1-minute load average before and after the run. */
  load: [number, number];
}

/** Runs `deno task train` with `args` in a child process; returns its run and wall time. */
export async function timedTrain(name: string, args: string[]): Promise<DataRun> {
  const out = await Deno.makeTempDir({ prefix: `bench_data_${name}_` });
  const load0 = Deno.loadavg()[0], t0 = performance.now();
  const train = new URL("../tasks/train.ts", import.meta.url).pathname;
  // bash's `time` gives the child's CPU seconds (user + system), which the load inflates less.
  const result = await new Deno.Command("bash", {
    args: [
      "-c",
      'TIMEFORMAT="cpu %U %S"; time "$0" "$@"',
      Deno.execPath(),
      ...["run", "-A", train, ...args, "--out", out],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  const text = new TextDecoder().decode(result.stdout);
  const err = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`deno task train ${args.join(" ")} failed:\n${err}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)/.exec(err);
  const history = (await Deno.readTextFile(`${out}/history.jsonl`)).trim().split("\n")
    .map((l) => JSON.parse(l) as { epoch: number; meanIoU: number });
  const best = history.reduce((a, h) => (h.meanIoU > a.meanIoU ? h : a), history[0]);
  await Deno.remove(out, { recursive: true });
  const classes = Number(/(\d+) classes/.exec(text)?.[1] ?? NaN);
  return {
    name,
    classes,
    meanIoU: best.meanIoU,
    bestEpoch: best.epoch,
    epochs: history.length,
    seconds,
    cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN,
    load: [load0, Deno.loadavg()[0]],
  };
}

/** The header of the result table. */
export const HEADER =
  "dataset    K  best val mIoU         wall   CPU    load (1-min avg, before -> after)";

/** One line of the result table: the run against the mIoU target and `seconds`. */
export function resultLine(r: DataRun, seconds: number): string {
  const ok = (r.meanIoU >= TARGETS.meanIoU || r.name === "bundled") && r.seconds <= seconds;
  const miou = `${(r.meanIoU * 100).toFixed(2)}% (epoch ${r.bestEpoch}/${r.epochs})`;
  return `${r.name.padEnd(8)} ${String(r.classes).padStart(3)}  ${miou.padEnd(20)}` +
    `${r.seconds.toFixed(0).padStart(5)} s ${r.cpuSeconds.toFixed(0).padStart(5)} s  ` +
    `${r.load.map((l) => l.toFixed(1)).join(" -> ").padEnd(12)}  ${ok ? "ok" : "MISSED"}`;
}

if (import.meta.main) {
  const bundled = Deno.args.includes("--bundled");
  const backend = Deno.args.includes("--backend")
    ? ["--backend", Deno.args[Deno.args.indexOf("--backend") + 1]]
    : [];
  const names = Deno.args.filter((a, i) => !a.startsWith("--") && Deno.args[i - 1] !== "--backend");
  const chosen = names.length ? names : Object.keys(SHAPES_VARIANTS);
  console.log(
    `target: val mIoU >= ${TARGETS.meanIoU} within ${TARGETS.seconds} s per dataset` +
      (bundled ? `; bundled demo within ${TARGETS.bundledSeconds} s` : ""),
  );
  console.log(HEADER);
  if (bundled) {
    console.log(resultLine(await timedTrain("bundled", backend), TARGETS.bundledSeconds));
  }
  for (const name of chosen) {
    const v = SHAPES_VARIANTS[name];
    if (!v) throw new Error(`Unknown dataset "${name}"; expected ${Object.keys(SHAPES_VARIANTS)}`);
    const dir = await Deno.makeTempDir({ prefix: `shapes_${name}_` });
    const k = await makeShapesDataset(dir, v);
    const run = await timedTrain(name, ["--data", dir, "--num-classes", String(k), ...backend]);
    console.log(resultLine(run, TARGETS.seconds));
    await Deno.remove(dir, { recursive: true });
  }
}
