/**
 * Per-shape, per-pass timing of the two conv engines of the BLAS backend (oneDNN and our GEMMs
 * on OpenBLAS), for bench/dnnl_probe.ts --passes: the conv geometries a model's training step
 * runs are recorded, then each pass of each geometry is timed on both engines, interleaved.
 *
 * @module
 */
import type { ConvGeom } from "../lib/device/backend.ts";
import { type BlasBackend, createBlasBackend } from "../lib/backends/blas.ts";
import type { ConvPass } from "../lib/device/blas_runtime.ts";
import { createModel } from "../lib/models/create.ts";
import { crossEntropy } from "../lib/ops/loss.ts";
import { Device, tensor, tidy } from "../lib/tensor.ts";
import { f32of } from "../lib/device/host.ts";

/** The distinct conv geometries of one training step of `model` at `size` px, batch 1. */
export function recordGeoms(
  name: "fcn8s" | "fcn_resnet50",
  size: number,
): { g: ConvGeom; passes: Set<ConvPass>; count: number }[] {
  const be = createBlasBackend({ dnnl: false });
  const seen = new Map<string, { g: ConvGeom; passes: Set<ConvPass>; count: number }>();
  const note = (g: ConvGeom, pass: ConvPass) => {
    const key = JSON.stringify(g);
    const e = seen.get(key) ?? { g, passes: new Set<ConvPass>(), count: 0 };
    e.passes.add(pass);
    // Calls per step: a conv's forward count, or a transposed conv's backward-data count.
    if (pass === "forward" || !e.passes.has("forward") && pass === "backwardData") e.count++;
    seen.set(key, e);
  };
  const wrapped: BlasBackend = {
    ...be,
    conv2d: (a) => (note(a.geom, "forward"), be.conv2d(a)),
    conv2dGradInput: (a) => (note(a.geom, "backwardData"), be.conv2dGradInput(a)),
    conv2dGradWeight: (a) => (note(a.geom, "backwardWeight"), be.conv2dGradWeight(a)),
  };
  const device = new Device(wrapped);
  const model = createModel(name, { numClasses: 21, aux: false }, device).train();
  const x = tensor(new Float32Array(3 * size * size).fill(0.1), [1, 3, size, size], device);
  const t = tensor(new Int32Array(size * size), [1, size, size], device);
  tidy(() => crossEntropy(model.forward(x).out, t).backward());
  model.dispose();
  be.destroy();
  return [...seen.values()];
}

/** A pass, or the forward of training: the weight changed since the last call (SGD). */
export type ProbePass = ConvPass | "forwardTrain";

/** Stored inputs for one pass of `g` on `be`, and the call. */
function passCall(be: BlasBackend, g: ConvGeom, pass: ProbePass, seed: number): () => void {
  const fill = (n: number, s: number) =>
    be.upload(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s) * 0.1));
  const x = fill(g.n * g.c * g.h * g.w, seed), w = fill(g.k * g.c * g.kh * g.kw, seed + 1);
  const b = fill(g.k, seed + 2), dy = fill(g.n * g.k * g.oh * g.ow, seed + 3);
  const run = pass === "forward"
    ? () => be.conv2d({ x, w, b, geom: g, relu: true })
    : pass === "forwardTrain"
    ? () => (be.rt.changed(f32of(w)), be.conv2d({ x, w, b, geom: g, relu: true }))
    : pass === "backwardData"
    ? () => be.conv2dGradInput({ dy, w, geom: g })
    : () => be.conv2dGradWeight({ dy, x, geom: g });
  return () => be.free(run());
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One row: ms of each engine (medians of `samples` interleaved rounds after one warm-up). */
export interface PassRow {
  g: ConvGeom;
  pass: ProbePass;
  count: number;
  gemm: number;
  dnnl: number;
}

/** Times every pass of every geometry on both engines, interleaved. */
export function timePasses(
  geoms: { g: ConvGeom; passes: Set<ConvPass>; count: number }[],
  samples: number,
): PassRow[] {
  const gemm = createBlasBackend({ convEngine: () => "gemm" });
  const dnnl = createBlasBackend({ convEngine: () => "dnnl" });
  const rows: PassRow[] = [];
  for (const { g, passes, count } of geoms) {
    const all: ProbePass[] = [...passes];
    if (passes.has("forward")) all.splice(1, 0, "forwardTrain");
    for (const pass of all) {
      const a = passCall(gemm, g, pass, 1), b = passCall(dnnl, g, pass, 1);
      const ta: number[] = [], tb: number[] = [];
      for (let r = 0; r <= samples; r++) {
        for (const [run, into] of [[a, ta], [b, tb]] as const) {
          const t0 = performance.now();
          run();
          if (r > 0) into.push(performance.now() - t0);
        }
      }
      rows.push({ g, pass, count, gemm: median(ta), dnnl: median(tb) });
      gemm.pool.clear();
      dnnl.pool.clear();
    }
  }
  gemm.destroy();
  dnnl.destroy();
  return rows;
}

/** `C->K KHxKW sS dD @HxW` of a geometry. */
export function geomLabel(g: ConvGeom): string {
  return `${g.c}->${g.k} ${g.kh}x${g.kw}${g.strideH > 1 ? ` s${g.strideH}` : ""}${
    g.dilH > 1 ? ` d${g.dilH}` : ""
  } @${g.h}x${g.w}`;
}
