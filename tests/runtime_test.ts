/**
 * The WebGPU runtime's error reporting, the missing-adapter error, and fetching the bundled
 * files when the module runs from a remote URL (as from JSR).
 */
import { KernelError, requestDevice } from "../mod.ts";
import type { WebGpuBackend } from "../lib/backends/webgpu.ts";
import { BUNDLED_FILES, bundledCacheDir, bundledFolder } from "../lib/io/bundled.ts";
import { VERSION } from "../lib/version.ts";
import { hasWebGpu } from "./harness.ts";
import { assert, assertEquals, assertRejects } from "./assert.ts";

Deno.test({
  name: "a kernel that fails to compile is reported with its name and numbered WGSL",
  ignore: !hasWebGpu,
  fn: async () => {
    const device = await requestDevice({ backend: "webgpu" });
    const rt = (device.backend as WebGpuBackend).rt;
    const k = rt.kernel(
      "broken_kernel",
      "@compute @workgroup_size(1)\nfn main() {\n  let x: f32 = nope;\n}\n",
    );
    rt.dispatch(k, [], null, 1);
    const err = await assertRejects(() => device.flush(), "broken_kernel");
    assert(err instanceof KernelError, "a KernelError");
    assert(err.message.includes("   3|   let x: f32 = nope;"), err.message);
    device.destroy();
  },
});

Deno.test("no WebGPU adapter: NoWebGpuError says what to install and how to use the CPU", async () => {
  const code = `import { requestDevice } from "${new URL("../mod.ts", import.meta.url)}";
try { await requestDevice({ backend: "webgpu" }); console.log("adapter"); }
catch (e) { console.log(e.name + ": " + e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { DENO_WEBGPU_BACKEND: "dx12", XDG_RUNTIME_DIR: "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (text.startsWith("adapter")) return; // a platform where dx12 exists
  assert(text.startsWith("NoWebGpuError"), text);
  for (const part of ["mesa-vulkan-drivers", 'backend: "blas"', "FCN_BACKEND"]) {
    assert(text.includes(part), `"${part}" in: ${text}`);
  }
});

Deno.test("from a remote URL the bundled data and model are fetched once into the cache, then work offline", async () => {
  const root = new URL("../fixtures/", import.meta.url).pathname;
  const ac = new AbortController();
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      try {
        return new Response(await Deno.readFile(root + path.slice(1)));
      } catch {
        return new Response("missing", { status: 404 });
      }
    },
  );
  const cache = await Deno.makeTempDir();
  // FCN_CACHE=cache for this test alone (the process's variables are shared by parallel tests).
  const dir = bundledCacheDir((k) => k === "FCN_CACHE" ? cache : undefined)!;
  const opts = { cacheDir: dir, log: () => {} };
  try {
    const base = `http://127.0.0.1:${server.addr.port}/`;
    const data = await bundledFolder(new URL("synthetic/", base), opts);
    assertEquals(data, `${dir}/synthetic`);
    assert(data.startsWith(`${cache}/bundled/${VERSION}-`), data);
    const lists = `${data}/VOCdevkit/VOC2012/ImageSets/Segmentation`;
    for (const split of ["train", "val", "trainval"]) {
      const ids = (await Deno.readTextFile(`${lists}/${split}.txt`)).split("\n").filter((l) => l);
      for (const id of ids) await Deno.stat(`${data}/VOCdevkit/VOC2012/JPEGImages/${id}.jpg`);
    }
    await Deno.stat(`${data}/VOCdevkit/classes.json`);
    const files = ["config.json", "best.safetensors"];
    const model = await bundledFolder(new URL("model/", base), { ...opts, files });
    await Deno.stat(`${model}/best.safetensors`);
    const synthetic = Object.keys(BUNDLED_FILES).filter((k) => k.startsWith("synthetic/"));
    assertEquals(requests.length, synthetic.length + 2); // each file once
    ac.abort();
    await server.finished;
    // offline: everything comes from the cache, split lists included
    assertEquals(await bundledFolder(new URL("synthetic/", base), opts), data);
    const config = ["config.json"];
    assertEquals(await bundledFolder(new URL("model/", base), { ...opts, files: config }), model);
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(cache, { recursive: true });
  }
});
