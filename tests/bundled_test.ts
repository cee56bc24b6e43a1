/**
 * The bundled files when the module runs from a URL: the shipped manifest matches them, a tampered
 * file is refused, a truncated cached file is fetched again, and `mod.ts predict` served over HTTP
 * from 127.0.0.1 works from an empty folder with an empty cache, then offline.
 */
import { assert, assertEquals, assertRejects } from "./assert.ts";
import { BUNDLED_FILES, bundledFolder } from "../lib/io/bundled.ts";
import { buildManifest } from "../scripts/make_manifest.ts";
import { readMask } from "../mod.ts";
import { VERSION } from "../lib/version.ts";

const repo = new URL("..", import.meta.url);
const fixtures = new URL("fixtures/", repo);
const voc = "synthetic/VOCdevkit/VOC2012/";

const TYPES: Record<string, string> = {
  ts: "application/typescript",
  json: "application/json",
  wgsl: "text/plain",
};

/** Serves a folder on 127.0.0.1; `edit` may change a file's bytes by its path. */
function serve(
  dir: URL,
  edit: (path: string, b: Uint8Array<ArrayBuffer>) => Uint8Array<ArrayBuffer> = (_, b) => b,
) {
  const ac = new AbortController();
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname).slice(1);
      requests.push(path);
      try {
        const bytes = edit(path, await Deno.readFile(new URL(path, dir)));
        const type = TYPES[path.split(".").pop() ?? ""] ?? "application/octet-stream";
        return new Response(bytes, { headers: { "content-type": type } });
      } catch {
        return new Response("missing", { status: 404 });
      }
    },
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}/`,
    requests,
    async stop() {
      ac.abort();
      await server.finished;
    },
  };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...(await files(`${dir}/${e.name}`)).map((f) => `${e.name}/${f}`));
    else out.push(e.name);
  }
  return out;
}

Deno.test("manifest: fixtures/manifest.json matches the shipped files and covers every split", async () => {
  const actual = await buildManifest(fixtures);
  const keys = new Set([...Object.keys(actual), ...Object.keys(BUNDLED_FILES)]);
  const stale = [...keys].filter((k) =>
    JSON.stringify(actual[k]) !== JSON.stringify(BUNDLED_FILES[k])
  );
  assertEquals(stale, [], "fixtures/manifest.json is stale: run deno task manifest");
  for (
    const k of ["model/config.json", "model/best.safetensors", "synthetic/VOCdevkit/classes.json"]
  ) {
    assert(k in BUNDLED_FILES, k);
  }
  for (const split of ["train", "val", "trainval"]) {
    const list = `${voc}ImageSets/Segmentation/${split}.txt`;
    assert(list in BUNDLED_FILES, list);
    const ids = (await Deno.readTextFile(new URL(list, fixtures))).split("\n").filter((l) => l);
    assert(ids.length > 0, list);
    for (const id of ids) {
      assert(`${voc}JPEGImages/${id}.jpg` in BUNDLED_FILES, id);
      assert(`${voc}SegmentationClass/${id}.png` in BUNDLED_FILES, id);
    }
  }
});

Deno.test("bundled: a tampered file is refused and nothing is cached under its name", async () => {
  const server = serve(fixtures, (path, b) => {
    if (path !== "model/config.json") return b;
    const t = b.slice();
    t[10] ^= 1;
    return t;
  });
  const cache = await Deno.makeTempDir();
  try {
    const want = BUNDLED_FILES["model/config.json"];
    const err = await assertRejects(
      () => bundledFolder(new URL("model/", server.base), { cacheDir: cache, log: () => {} }),
      "model/config.json",
    );
    for (const part of [`expects ${want.size} bytes with sha256 ${want.sha256}`, "it has "]) {
      assert(err.message.includes(part), `"${part}" in: ${err.message}`);
    }
    const left = await files(cache).catch(() => []);
    assert(!left.some((f) => f.startsWith("model/config.json")), left.join(", "));
  } finally {
    await server.stop();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("bundled: a cached file of the wrong size is fetched again; a right one is reused", async () => {
  const server = serve(fixtures);
  const cache = await Deno.makeTempDir();
  try {
    const opts = { cacheDir: cache, log: () => {} };
    const dir = await bundledFolder(new URL("model/", server.base), opts);
    assertEquals(dir, `${cache}/model`);
    assertEquals(server.requests.length, 2);
    await Deno.writeTextFile(`${dir}/config.json`, "{"); // an interrupted copy
    await bundledFolder(new URL("model/", server.base), opts);
    assertEquals(server.requests.slice(2), ["model/config.json"]);
    const text = await Deno.readTextFile(`${dir}/config.json`);
    assertEquals(text.length, BUNDLED_FILES["model/config.json"].size);
    assertEquals((await files(cache)).sort(), ["model/best.safetensors", "model/config.json"]);
  } finally {
    await server.stop();
    await Deno.remove(cache, { recursive: true });
  }
});

/** A DENO_DIR of its own (the remote modules of a random port do not pile up in the user's),
 * sharing the user's npm cache. */
async function denoDir(tmp: string): Promise<string> {
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  const npm = JSON.parse(new TextDecoder().decode(info.stdout)).npmCache as string;
  await Deno.mkdir(`${tmp}/deno`);
  await Deno.mkdir(npm, { recursive: true });
  await Deno.symlink(npm, `${tmp}/deno/npm`);
  return `${tmp}/deno`;
}

Deno.test("anywhere: mod.ts served on 127.0.0.1 runs predict from an empty folder with an empty FCN_CACHE, then offline", async () => {
  const tmp = await Deno.makeTempDir();
  const server = serve(repo);
  try {
    const cwd = `${tmp}/empty`;
    const cache = `${tmp}/cache`;
    await Promise.all([cwd, cache].map((d) => Deno.mkdir(d)));
    const image = `${tmp}/photo.jpg`;
    await Deno.copyFile(new URL(`${voc}JPEGImages/syn_000001.jpg`, fixtures), image);
    const env = { NO_COLOR: "1", FCN_CACHE: cache, DENO_DIR: await denoDir(tmp) };
    const predict = async (out: string) => {
      const res = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${server.base}mod.ts`,
          "predict",
          image,
          "--out",
          out,
          "--backend",
          "cpu",
        ],
        cwd,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
      assertEquals(res.code, 0, text);
      return await readMask(`${out}/photo_mask.png`);
    };
    const online = await predict(`${tmp}/online`);
    const cached = await files(`${cache}/bundled`);
    assert(cached.length === 2 && cached.every((f) => f.startsWith(`${VERSION}-`)), cached.join());
    assert(server.requests.includes("fixtures/model/best.safetensors"));
    // the bundled model segments its own training image
    const truth = await readMask(
      new URL(`${voc}SegmentationClass/syn_000001.png`, fixtures).pathname,
    );
    assertEquals([online.width, online.height], [truth.width, truth.height]);
    let right = 0;
    for (let i = 0; i < truth.data.length; i++) right += +(online.data[i] === truth.data[i]);
    assert(right / truth.data.length > 0.9, `pixel accuracy ${right / truth.data.length}`);
    await server.stop();
    const offline = await predict(`${tmp}/offline`);
    assertEquals(offline.data, online.data);
    assertEquals(await Deno.readDir(cwd)[Symbol.asyncIterator]().next(), {
      done: true,
      value: undefined,
    });
  } finally {
    await server.stop();
    await Deno.remove(tmp, { recursive: true });
  }
});
