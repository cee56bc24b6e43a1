/**
 * Cold start, ours against PyTorch's: one 320x224 image predicted with the 537 MB FCN-8s/VGG16
 * checkpoint, from process start to the mask PNG. Run by hand:
 *
 *   /usr/bin/python3 scripts/make_bench_checkpoints.py      # once: .cache/bench/
 *   deno run -A bench/cold_start.ts [--samples 5] [--before /path/to/older/checkout]
 *
 * Each round runs, in turn, `deno run -A mod.ts predict <image> --weights fcn8s.pth` and
 * `... fcn8s.safetensors` (BLAS backend), PyTorch (`scripts/bench_cold_torch.py`: torch.load +
 * build + forward + argmax + PNG save, 2 threads) and, with `--before`, the older checkout's
 * predict on the .pth: interleaved, so that a busy machine slows every row alike. Prints the
 * median wall time of each row, its ratio to PyTorch's, and /proc/loadavg before and after.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const BENCH = `${ROOT}.cache/bench`;
const PYTHON = Deno.env.get("FCN_PYTHON") ?? "/usr/bin/python3";

function flag(name: string, fallback?: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const samples = Number(flag("samples", "5"));
const before = flag("before");

interface Row {
  name: string;
  cmd: string[];
  cwd: string;
  times: number[];
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

for (const f of ["fcn8s/fcn8s.pth", "fcn8s/fcn8s.safetensors", "fcn8s/config.json", "image.png"]) {
  if (!await exists(`${BENCH}/${f}`)) {
    console.error(
      `bench/cold_start.ts: ${BENCH}/${f} is missing: run /usr/bin/python3 scripts/make_bench_checkpoints.py`,
    );
    Deno.exit(2);
  }
}

const out = await Deno.makeTempDir({ prefix: "fcn-cold-" });
const ours = (weights: string, cwd = ROOT): string[] => [
  Deno.execPath(),
  "run",
  "-A",
  `${cwd}/mod.ts`,
  "predict",
  `${BENCH}/image.png`,
  "--weights",
  `${BENCH}/fcn8s/${weights}`,
  "--backend",
  "blas",
  "--out",
  out,
];
const rows: Row[] = [
  { name: "ours .pth", cmd: ours("fcn8s.pth"), cwd: ROOT, times: [] },
  { name: "ours .safetensors", cmd: ours("fcn8s.safetensors"), cwd: ROOT, times: [] },
  {
    name: "PyTorch 1.13 .pth",
    cmd: [
      PYTHON,
      `${ROOT}scripts/bench_cold_torch.py`,
      `${BENCH}/fcn8s/fcn8s.pth`,
      `${BENCH}/image.png`,
      `${out}/torch_mask.png`,
    ],
    cwd: ROOT,
    times: [],
  },
];
if (before) {
  rows.push({
    name: `before (${before}) .pth`,
    cmd: ours("fcn8s.pth", before),
    cwd: before,
    times: [],
  });
}

async function timeOnce(row: Row): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(row.cmd[0], {
    args: row.cmd.slice(1),
    cwd: row.cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", OMP_NUM_THREADS: "2", TORCH_THREADS: "2" },
  }).output();
  const s = (performance.now() - t0) / 1000;
  if (!r.success) {
    throw new Error(
      `bench/cold_start.ts: "${row.name}" failed (exit ${r.code}):\n${
        new TextDecoder().decode(r.stderr)
      }`,
    );
  }
  return s;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const load = async () => (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).trim();

const loadBefore = await load();
for (const row of rows) await timeOnce(row); // warm the page cache and Deno's module cache
for (let i = 0; i < samples; i++) {
  for (const row of rows) row.times.push(await timeOnce(row));
}
const loadAfter = await load();
const torch = median(rows[2].times);
console.log(`Cold start, 320x224, FCN-8s/VGG16 537 MB, ${samples} interleaved samples each`);
console.log(`loadavg before: ${loadBefore}; after: ${loadAfter}`);
for (const row of rows) {
  const m = median(row.times);
  console.log(
    `${row.name.padEnd(28)} median ${m.toFixed(2)} s (x${(m / torch).toFixed(2)} PyTorch)  [${
      row.times.map((t) => t.toFixed(2)).join(", ")
    }]`,
  );
}
await Deno.remove(out, { recursive: true });
