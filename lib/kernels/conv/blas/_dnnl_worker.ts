/// <reference lib="deno.worker" />
// A Worker for dnnl_test.ts: builds a BLAS backend (oneDNN's OpenMP threads start with the
// first conv), runs 3x3 convs until told to stop, and answers each message with a checksum.
import { createBlasBackend } from "../../../backends/blas.ts";
import { f32of } from "../../../device/host.ts";

const be = createBlasBackend();
// A 3x3 same-size conv of 32 channels over 40x40.
const side = { h: 40, w: 40, oh: 40, ow: 40 }, one = { strideH: 1, strideW: 1, dilH: 1, dilW: 1 };
const g = { n: 1, c: 32, k: 32, kh: 3, kw: 3, padH: 1, padW: 1, ...side, ...one };
const x = be.upload(new Float32Array(32 * 1600).fill(0.5));
const w = be.upload(new Float32Array(32 * 32 * 9).fill(0.25));
self.onmessage = () => {
  const y = be.conv2d({ x, w, b: null, geom: g, relu: false });
  const sum = f32of(y).reduce((a, b) => a + b, 0);
  be.free(y);
  self.postMessage({ sum, dnnl: be.rt.dnnl !== null });
};
