/// <reference lib="deno.worker" />
// A Worker for dnnl_test.ts: builds a BLAS backend (oneDNN's OpenMP threads start with the
// first conv), runs 3x3 convs until told to stop, and answers each message with a checksum.
import { createBlasBackend } from "../../../backends/blas.ts";
import { f32of } from "../../../device/host.ts";

const be = createBlasBackend();
const g = {
  n: 1,
  c: 32,
  h: 40,
  w: 40,
  k: 32,
  kh: 3,
  kw: 3,
  oh: 40,
  ow: 40,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilH: 1,
  dilW: 1,
};
const x = be.upload(new Float32Array(32 * 1600).fill(0.5));
const w = be.upload(new Float32Array(32 * 32 * 9).fill(0.25));
self.onmessage = () => {
  const y = be.conv2d({ x, w, b: null, geom: g, relu: false });
  const sum = f32of(y).reduce((a, b) => a + b, 0);
  be.free(y);
  self.postMessage({ sum, dnnl: be.rt.dnnl !== null });
};
