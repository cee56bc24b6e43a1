import { assert, assertEquals } from "./assert.ts";
import { VERSION } from "../lib/version.ts";
import { cacheDir, cacheRoot } from "../lib/io/cache.ts";
import { readImage } from "../mod.ts";

const root = new URL("..", import.meta.url);

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("mod.ts", root).pathname, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("version: lib/version.ts matches deno.json", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  assertEquals(VERSION, cfg.version);
});

Deno.test("cache: FCN_CACHE, then XDG_CACHE_HOME/x-fcn, then HOME/.cache/x-fcn", () => {
  // A lookup of its own, not the process's variables: test files run in parallel share those.
  const env = (vars: Record<string, string>) => (k: string) => vars[k];
  const all = { FCN_CACHE: "/tmp/fcn-c", XDG_CACHE_HOME: "/tmp/xdg", HOME: "/home/u" };
  assertEquals(cacheDir("weights", env(all)), "/tmp/fcn-c/weights");
  assertEquals(cacheDir("autotune", env({ ...all, FCN_CACHE: "" })), "/tmp/xdg/x-fcn/autotune");
  if (Deno.build.os === "linux") {
    assertEquals(cacheRoot(env({ HOME: "/home/u" })), "/home/u/.cache/x-fcn");
    assertEquals(cacheRoot(env({})), null);
  }
});

Deno.test("cli: --help lists the commands (exit 0), no command exits 2, --version", async () => {
  const help = await cli(["--help"]);
  assertEquals(help.code, 0);
  for (const c of ["train", "eval", "predict"]) {
    assert(new RegExp(`^  ${c} `, "m").test(help.stdout));
  }
  const none = await cli([]);
  assertEquals(none.code, 2);
  assert(none.stderr.includes("  predict "));
  const v = await cli(["--version"]);
  assertEquals([v.code, v.stdout.trim()], [0, VERSION]);
});

Deno.test("imports: a project with its own deno.json imports mod.ts by path and reads a JPEG with readImage", async () => {
  const dir = await Deno.makeTempDir();
  const jpg = new URL("fixtures/synthetic/VOCdevkit/VOC2012/JPEGImages/syn_000001.jpg", root);
  try {
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports: {} }));
    const mod = new URL("mod.ts", root).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { readImage } from ${JSON.stringify(mod)};
const img = await readImage(${JSON.stringify(jpg.pathname)});
let sum = 0;
for (const v of img.data) sum += v;
console.log(img.width, img.height, sum);`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    // the same pixels as decoded here, through our own deno.json
    const here = await readImage(jpg.pathname);
    const sum = here.data.reduce((a, v) => a + v, 0);
    assert(here.width > 0 && sum > 0);
    assertEquals(
      [out.code, new TextDecoder().decode(out.stdout).trim()],
      [0, `${here.width} ${here.height} ${sum}`],
      text,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webgpu: with XDG_RUNTIME_DIR unset, requesting the adapter prints no error: line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const webgpu = new URL("lib/device/webgpu.ts", root).href;
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { WebGpuRuntime } from ${JSON.stringify(webgpu)};
try { await WebGpuRuntime.create(); console.log("adapter"); } catch (e) { console.log("none", (e as Error).message); }`,
    );
    const env = Deno.env.toObject();
    delete env.XDG_RUNTIME_DIR;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: dir,
      env: { ...env, NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, stderr);
    assert(!/^error:/m.test(stderr), `stderr has an error: line:\n${stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
