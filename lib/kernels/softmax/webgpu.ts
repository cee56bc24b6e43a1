/**
 * Softmax on WebGPU, along len of `[outer, len, inner]`, in two passes each way.
 *
 * Forward: the statistics of every column (max `m` and `s = sum(exp(x - m))` along len), in one
 * pass when a whole `[len, inner]` block fits one binding, else in chunks of len merged online
 * (`s' = s * exp(m - m') + ...`); then every element, `x - m - log s` or `exp(x - m) / s`.
 * Backward from the output `y`: the column sums `S` of `dy` (log) or `dy * y` (softmax),
 * accumulated chunk by chunk, then `dx = dy - exp(y) * S` or `y * (dy - S)`. Chunks are the
 * boxes of `../_boxes.ts` (outer as N, len as K, inner as HW), so every window fits a binding.
 *
 * @module
 */
import type { KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import type { WebGpuRuntime } from "../../device/webgpu.ts";
import { BOX_ELEMENT, BOX_FIELDS, BOX_WG, type BoxRun, overBoxes } from "../_boxes.ts";
import { bindings, perElement } from "../_wgsl.ts";

/** Per column of a box: the running max and sum of exponentials, merged with earlier boxes. */
const STATS = `
${bindings(["x", "mut sm", "mut ss"], `${BOX_FIELDS}, xBase: u32, mBase: u32, sBase: u32`)}
${perElement(BOX_WG)}
  let np = i / u.pc;
  let col = np * u.hw + i % u.pc;
  let xb = u.xBase + np * u.k * u.hw + i % u.pc;
  var m = x[xb];
  for (var c = 1u; c < u.cc; c++) { m = max(m, x[xb + c * u.hw]); }
  var s = 0.0;
  if (u.c0 != 0u) {
    let pm = sm[u.mBase + col];
    let merged = max(pm, m);
    s = ss[u.sBase + col] * exp(pm - merged);
    m = merged;
  }
  for (var c = 0u; c < u.cc; c++) { s += exp(x[xb + c * u.hw] - m); }
  sm[u.mBase + col] = m;
  ss[u.sBase + col] = s;
}`;

/** Every element of a box from its column's statistics. */
function outSource(log: boolean): string {
  const y = log
    ? "v - sm[u.mBase + col] - log(ss[u.sBase + col])"
    : "exp(v - sm[u.mBase + col]) / ss[u.sBase + col]";
  return `
${
    bindings(
      ["x", "sm", "ss", "mut y"],
      `${BOX_FIELDS}, xBase: u32, mBase: u32, sBase: u32, yBase: u32`,
    )
  }
${perElement(BOX_WG)}
  ${BOX_ELEMENT}
  let col = np * u.hw + pp;
  let e = (np * u.k + c) * u.hw + pp;
  let v = x[u.xBase + e];
  y[u.yBase + e] = ${y};
}`;
}

/**
 * Per column of a box: the sum of `dy` (log) or `dy * y`, added to earlier boxes'. The log
 * kernel binds no `y` (a binding the shader does not use would not be in its layout).
 */
function sumSource(log: boolean): string {
  return `
${
    bindings(
      [!log && "y", "dy", "mut s"],
      `${BOX_FIELDS}, ${log ? "" : "yBase: u32, "}dyBase: u32, sBase: u32`,
    )
  }
${perElement(BOX_WG)}
  let np = i / u.pc;
  let col = np * u.hw + i % u.pc;
  let b = np * u.k * u.hw + i % u.pc;
  var acc = select(s[u.sBase + col], 0.0, u.c0 == 0u);
  for (var c = 0u; c < u.cc; c++) {
    let e = b + c * u.hw;
    acc += ${log ? "dy[u.dyBase + e]" : "dy[u.dyBase + e] * y[u.yBase + e]"};
  }
  s[u.sBase + col] = acc;
}`;
}

/** Every element of dx of a box from its column's sum. */
function gradSource(log: boolean): string {
  const dx = log ? "g - exp(v) * sc" : "v * (g - sc)";
  return `
${
    bindings(
      ["y", "dy", "s", "mut dx"],
      `${BOX_FIELDS}, yBase: u32, dyBase: u32, sBase: u32, dxBase: u32`,
    )
  }
${perElement(BOX_WG)}
  ${BOX_ELEMENT}
  let e = (np * u.k + c) * u.hw + pp;
  let v = y[u.yBase + e];
  let g = dy[u.dyBase + e];
  let sc = s[u.sBase + np * u.hw + pp];
  dx[u.dxBase + e] = ${dx};
}`;
}

/** `softmax` (or `log_softmax`) of `[outer, len, inner]` along len. */
function softmax(rt: WebGpuRuntime, { x, outer, len, inner, log }: KernelArgs["softmax"]): Storage {
  const y = rt.alloc(outer * len * inner, "f32");
  if (y.length === 0) return y;
  const m = rt.alloc(outer * inner, "f32"), s = rt.alloc(outer * inner, "f32");
  const box = { n: outer, k: len, hw: inner };
  const stats: BoxRun["binds"] = [[x, "classes"], [m, "pixels"], [s, "pixels"]];
  overBoxes(rt, rt.kernel("softmax_stats", STATS), { ...box, binds: stats, perElement: false });
  const out = rt.kernel(log ? "log_softmax" : "softmax", outSource(log));
  overBoxes(rt, out, { ...box, binds: [...stats, [y, "classes"]], perElement: true });
  rt.free(m);
  rt.free(s);
  return y;
}

/** Backward of {@linkcode softmax} from its output `y`. */
function softmaxGrad(
  rt: WebGpuRuntime,
  { y, dy, outer, len, inner, log }: KernelArgs["softmaxGrad"],
): Storage {
  const dx = rt.alloc(outer * len * inner, "f32");
  if (dx.length === 0) return dx;
  const s = rt.alloc(outer * inner, "f32");
  const box = { n: outer, k: len, hw: inner };
  const sum = rt.kernel(log ? "log_softmax_grad_sum" : "softmax_grad_sum", sumSource(log));
  const sumOf: BoxRun["binds"] = log ? [[dy, "classes"]] : [[y, "classes"], [dy, "classes"]];
  overBoxes(rt, sum, { ...box, binds: [...sumOf, [s, "pixels"]], perElement: false });
  const grad = rt.kernel(log ? "log_softmax_grad" : "softmax_grad", gradSource(log));
  const binds: BoxRun["binds"] = [[y, "classes"], [dy, "classes"], [s, "pixels"], [dx, "classes"]];
  overBoxes(rt, grad, { ...box, binds, perElement: true });
  rt.free(s);
  return dx;
}

/** The softmax slice of the WebGPU backend. */
export const softmaxWebGpu: KernelSlice<WebGpuRuntime, "softmax"> = { softmax, softmaxGrad };
