/**
 * optim kernels on WebGPU: an in-place SGD update, chunked so that each window of the
 * parameter, gradient and momentum buffer fits one binding (fc6's weight alone is 411 MB).
 *
 * @module
 */
import type { KernelArgs, KernelSlice } from "../../device/backend.ts";
import { f32, type WebGpuRuntime } from "../../device/webgpu.ts";
import { chunks } from "../elementwise/webgpu.ts";
import { bindings, perElement } from "../_wgsl.ts";
import { checkSgd } from "./reference.ts";

const WG = 256;

function sgdSource(momentum: boolean): string {
  return `
${
    bindings(
      ["mut param", "grad", momentum && "mut buf"],
      "count: u32, pBase: u32, gBase: u32, bBase: u32, " +
        "lr: f32, momentum: f32, dampening: f32, wd: f32, nesterov: u32, first: u32",
    )
  }
${perElement(WG)}
  let p = param[u.pBase + i];
  var d = grad[u.gBase + i] + u.wd * p;
  ${
    momentum
      ? `var b = d;
  if (u.first == 0u) { b = u.momentum * buf[u.bBase + i] + (1.0 - u.dampening) * d; }
  buf[u.bBase + i] = b;
  d = select(b, d + u.momentum * b, u.nesterov == 1u);`
      : ""
  }
  param[u.pBase + i] = p - u.lr * d;
}`;
}

/** In-place SGD update with PyTorch's rule (weight decay, momentum, dampening, nesterov). */
function sgd(rt: WebGpuRuntime, a: KernelArgs["sgd"]): void {
  checkSgd(a);
  const { param, grad, buf, update: o } = a;
  const momentum = o.momentum !== 0;
  const k = rt.kernel(momentum ? "sgd_momentum" : "sgd", sgdSource(momentum));
  for (const [start, count] of chunks(rt, param.length)) {
    const bp = rt.bind(param, start, count);
    const bg = rt.bind(grad, start, count);
    const bb = momentum ? rt.bind(buf!, start, count) : null;
    const uni = [
      count,
      bp.base,
      bg.base,
      bb?.base ?? 0,
      f32(o.lr),
      f32(o.momentum),
      f32(o.dampening),
      f32(o.weightDecay),
      o.nesterov ? 1 : 0,
      o.first ? 1 : 0,
    ];
    rt.dispatch(k, bb ? [bp, bg, bb] : [bp, bg], uni, Math.ceil(count / WG));
  }
}

/** The SGD slice of the WebGPU backend. */
export const optimWebGpu: KernelSlice<WebGpuRuntime, "optim"> = { sgd };
