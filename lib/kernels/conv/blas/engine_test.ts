import { assertEquals } from "../../../../tests/assert.ts";
import { convEngine } from "./engine.ts";

const conv = (c: number, k: number, kernel: number, side: number) => ({
  n: 1,
  c,
  k,
  h: side,
  w: side,
  kh: kernel,
  kw: kernel,
  oh: side,
  ow: side,
  strideH: 1,
  strideW: 1,
  padH: kernel >> 1,
  padW: kernel >> 1,
  dilH: 1,
  dilW: 1,
});

Deno.test("convEngine: taps and wide 1x1 on oneDNN, thin 1x1 and huge weights over a crop on GEMMs", () => {
  const pick = (c: number, k: number, kernel: number, side: number) =>
    convEngine(conv(c, k, kernel, side), "forward");
  assertEquals(pick(64, 64, 3, 224), "dnnl");
  assertEquals(pick(1024, 256, 1, 60), "dnnl");
  assertEquals(pick(64, 21, 1, 60), "gemm");
  assertEquals(pick(512, 4096, 7, 7), "dnnl"); // fc6 at 224 px: eval keeps its packed copy
  assertEquals(pick(512, 4096, 7, 15), "gemm"); // fc6 at 480 px: no 411 MB reordered copy
  assertEquals(pick(4096, 4096, 1, 15), "gemm"); // fc7 likewise
});
