import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { createBlasBackend } from "../backends/blas.ts";
import { blasCandidates, BlasNotFoundError, loadBlas } from "./blas_ffi.ts";
import { hasDnnl } from "./dnnl_ffi.ts";
import { requestDevice } from "./request.ts";

const hasBlas = (() => {
  try {
    loadBlas();
    return true;
  } catch {
    return false;
  }
})();

/** Runs `code` in a fresh `deno eval` with `env` added; returns its exit code and output. */
async function evalWith(
  code: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, out: text };
}

const requestUrl = new URL("./request.ts", import.meta.url).href;
const printBlas = `import { requestDevice } from "${requestUrl}";
try {
  console.log((await requestDevice({ backend: "blas" })).description);
} catch (e) {
  console.log(e.name + ": " + e.message);
}`;

Deno.test({
  name: "blas backend: requestDevice finds the library without configuration",
  ignore: !hasBlas,
  async fn() {
    const device = await requestDevice({ backend: "blas" });
    assertEquals(device.kind, "blas");
    assert(/\d+ threads?|default thread count/.test(device.description), device.description);
    device.destroy();
  },
});

Deno.test("blas backend: candidates per OS, OpenBLAS before the reference libblas", () => {
  const linux = blasCandidates("linux", "x86_64");
  assertEquals(linux[0], "libopenblas.so.0");
  assert(linux.includes("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"));
  assert(linux.indexOf("libblas.so.3") > linux.indexOf("/usr/lib64/libopenblas.so.0"));
  assertEquals(
    blasCandidates("darwin", "aarch64")[0],
    "/System/Library/Frameworks/Accelerate.framework/Accelerate",
  );
  assert(blasCandidates("linux", "aarch64").includes("/usr/lib/aarch64-linux-gnu/libblas.so.3"));
});

Deno.test("blas backend: a missing library says what to install and how to pick another", () => {
  const err = assertThrows(() => createBlasBackend({ path: "/nonexistent/libopenblas.so.0" }));
  assert(err instanceof BlasNotFoundError);
  for (
    const part of [
      "/nonexistent/libopenblas.so.0",
      "apt-get install libopenblas0",
      'backend: "webgpu" | "cpu"',
      "FCN_BACKEND",
    ]
  ) {
    assert(err.message.includes(part), `"${part}" missing from: ${err.message}`);
  }
});

Deno.test("blas backend: FCN_BLAS pointing to a missing file rejects requestDevice", async () => {
  const { out } = await evalWith(printBlas, { FCN_BLAS: "/nonexistent/libblas.so" });
  assert(
    out.includes(
      "BlasNotFoundError: Cannot load the BLAS library FCN_BLAS=/nonexistent/libblas.so",
    ),
    out,
  );
  assert(out.includes("apt-get install libopenblas0"), out);
});

Deno.test({
  name: "blas backend: FCN_BLAS and FCN_BLAS_THREADS are honoured",
  ignore: !hasBlas,
  async fn() {
    const path = loadBlas().path;
    const { out } = await evalWith(printBlas, { FCN_BLAS: path, FCN_BLAS_THREADS: "1" });
    assert(out.includes(`(${path})`), out);
    if (loadBlas().threads !== null) assert(out.includes(", 1 thread\n"), out);
    const bad = await evalWith(printBlas, { FCN_BLAS_THREADS: "many" });
    assert(
      bad.out.includes('Expected FCN_BLAS_THREADS to be an integer >= 1 but found "many"'),
      bad.out,
    );
  },
});

Deno.test({
  name: "blas backend: the description says whether oneDNN is used; FCN_DNNL=off turns it off",
  ignore: !hasBlas,
  async fn() {
    const off = await evalWith(printBlas, { FCN_DNNL: "off" });
    assert(off.out.includes("; oneDNN off (FCN_DNNL=off)"), off.out);
    const missing = await evalWith(printBlas, { FCN_DNNL: "/nonexistent/libdnnl.so.2" });
    assert(missing.out.includes("; no oneDNN (libdnnl.so.2 not found)"), missing.out);
    if (!hasDnnl()) return;
    const on = await evalWith(printBlas, { FCN_BLAS_THREADS: "1" });
    assert(
      / \+ oneDNN 2\.\d+\.\d+ \(libdnnl\.so\.2\) for convolutions and GEMMs, 1 thread\n/.test(
        on.out,
      ),
      on.out,
    );
  },
});
