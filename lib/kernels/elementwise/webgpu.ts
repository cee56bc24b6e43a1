/**
 * Element-wise kernels on WebGPU. Every kernel walks flat ranges, so large storages are split
 * into chunks that each fit one binding.
 *
 * @module
 */
import type { DType, KernelArgs, KernelSlice, Storage } from "../../device/backend.ts";
import { f32, type UniformValue, type WebGpuRuntime } from "../../device/webgpu.ts";
import { bindings, perElement } from "../_wgsl.ts";

const WG = 256;

/** Splits `[0, length)` into chunks of at most the binding limit (aligned to 64 elements). */
export function chunks(rt: WebGpuRuntime, length: number): [number, number][] {
  const max = Math.max(64, Math.floor(rt.maxBindingElements / 64) * 64);
  const out: [number, number][] = [];
  for (let start = 0; start < length; start += max) {
    out.push([start, Math.min(max, length - start)]);
  }
  return out;
}

/** An element-wise kernel: one invocation per element of `y`. */
interface MapKernel {
  /** Pipeline name. */
  name: string;
  /**
   * Input buffers as {@linkcode bindings} reads them (`"x"`, `"seeds: u32"`), each with a
   * uniform `<name>Base`.
   */
  ins: string[];
  /** WGSL writing `y[u.yBase + i]`. */
  body: string;
  /** Element type of `y` (default f32). */
  out?: DType;
  /** Uniform fields after the bases. */
  fields?: string[];
  /** WGSL directives before the declarations (`enable f16;`). */
  enable?: string;
}

/** WGSL of a 1-D map over `count` elements with a base for each binding. */
function mapSource({ ins, body, out = "f32", fields = [], enable = "" }: MapKernel): string {
  const bases = ins.map((b) => `${b.split(":")[0]}Base: u32`);
  const uniforms = ["count: u32", ...bases, "yBase: u32", ...fields];
  return `${enable}${bindings([...ins, `mut y: ${out}`], uniforms.join(", "))}
${hashWgsl}
${perElement(WG)}
  ${body}
}`;
}

/** PCG-style hash, the WGSL mirror of `hash32` in backend.ts. */
const hashWgsl = `
fn hash32(seed: u32, i: u32) -> u32 {
  var v = i * 747796405u + seed + 2891336453u;
  v = v ^ (seed * 277803737u);
  let word = (((v >> ((v >> 28u) + 4u)) ^ v)) * 277803737u;
  return (word >> 22u) ^ word;
}`;

/**
 * Runs `kernel` into a new storage `y` of `length` elements, chunk by chunk: each input bound
 * as its `span` says (default `"chunk"`: over the chunk; `"one"`: its first element; `"all"`:
 * whole), then the uniforms `extra(start)`.
 */
function map(
  rt: WebGpuRuntime,
  kernel: MapKernel,
  run: {
    ins: Storage[];
    length: number;
    span?: ("chunk" | "one" | "all")[];
    extra?: (start: number) => UniformValue[];
  },
): Storage {
  const y = rt.alloc(run.length, kernel.out ?? "f32");
  const k = rt.kernel(kernel.name, mapSource(kernel));
  for (const [start, count] of chunks(rt, run.length)) {
    const ins = run.ins.map((s, i) => {
      const span = run.span?.[i] ?? "chunk";
      return span === "one"
        ? rt.bind(s, 0, 1)
        : span === "all"
        ? rt.bind(s)
        : rt.bind(s, start, count);
    });
    const by = rt.bind(y, start, count);
    const uni = [count, ...ins.map((b) => b.base), by.base, ...(run.extra?.(start) ?? [])];
    rt.dispatch(k, [...ins, by], uni, Math.ceil(count / WG));
  }
  return y;
}

/** `length` copies of `value`. */
function fill(rt: WebGpuRuntime, { length, dtype, value }: KernelArgs["fill"]): Storage {
  const body = `y[u.yBase + i] = ${dtype}(u.value);`;
  const kernel = { name: `fill_${dtype}`, ins: [], out: dtype, body, fields: ["value: f32"] };
  return map(rt, kernel, { ins: [], length, extra: () => [f32(value)] });
}

/** `length` zeros (f32): an empty sum, or outputs that kernels add into. */
export function zeros(rt: WebGpuRuntime, length: number): Storage {
  return fill(rt, { length, dtype: "f32", value: 0 });
}

/** `a (op) b`, `b` of `a.length` or 1 elements; `max(a (op) b, 0)` with `relu`. */
function binary(rt: WebGpuRuntime, { op, a, b, relu }: KernelArgs["binary"]): Storage {
  const scalar = b.length === 1 && a.length !== 1;
  const sym = { add: "+", sub: "-", mul: "*", div: "/" }[op];
  const bi = scalar ? "b[u.bBase]" : "b[u.bBase + i]";
  const value = `a[u.aBase + i] ${sym} ${bi}`;
  const kernel = {
    name: `binary_${op}${scalar ? "_scalar" : ""}${relu ? "_relu" : ""}`,
    ins: ["a", "b"],
    body: `y[u.yBase + i] = ${relu ? `max(${value}, 0.0)` : value};`,
  };
  return map(rt, kernel, {
    ins: [a, b],
    length: a.length,
    span: ["chunk", scalar ? "one" : "chunk"],
  });
}

/** `alpha * a + beta * b`. */
function axpby(rt: WebGpuRuntime, { a, b, alpha, beta }: KernelArgs["axpby"]): Storage {
  const kernel = {
    name: "axpby",
    ins: ["a", "b"],
    body: "y[u.yBase + i] = u.alpha * a[u.aBase + i] + u.beta * b[u.bBase + i];",
    fields: ["alpha: f32", "beta: f32"],
  };
  return map(rt, kernel, { ins: [a, b], length: a.length, extra: () => [f32(alpha), f32(beta)] });
}

/** `alpha * x + beta`. */
export function affine(rt: WebGpuRuntime, { x, alpha, beta }: KernelArgs["affine"]): Storage {
  const kernel = {
    name: "affine",
    ins: ["x"],
    body: "y[u.yBase + i] = u.alpha * x[u.xBase + i] + u.beta;",
    fields: ["alpha: f32", "beta: f32"],
  };
  return map(rt, kernel, { ins: [x], length: x.length, extra: () => [f32(alpha), f32(beta)] });
}

/** `max(x, 0)`. */
function relu(rt: WebGpuRuntime, { x }: KernelArgs["relu"]): Storage {
  const body = "y[u.yBase + i] = max(x[u.xBase + i], 0.0);";
  return map(rt, { name: "relu", ins: ["x"], body }, { ins: [x], length: x.length });
}

/** `y > 0 ? dy : 0`. */
function reluGrad(rt: WebGpuRuntime, { dy, y }: KernelArgs["reluGrad"]): Storage {
  const body = "y[u.yBase + i] = select(0.0, dy[u.dyBase + i], o[u.oBase + i] > 0.0);";
  return map(rt, { name: "relu_grad", ins: ["dy", "o"], body }, {
    ins: [dy, y],
    length: dy.length,
  });
}

/**
 * Inverted dropout; mask from `hash32(seeds[n], floor(j / group))` for element `j` of sample
 * `n` (one sample of all `x` and `seeds = [seed]` without per-sample seeds).
 */
function dropout(
  rt: WebGpuRuntime,
  { x, p, seed, group, seeds = [seed] }: KernelArgs["dropout"],
): Storage {
  // keep <=> hash / 2^32 >= p  <=>  hash >= ceil(p * 2^32) (computed on the host, exact)
  const threshold = Math.min(4294967295, Math.ceil(p * 4294967296));
  const scale = Math.fround(1 / (1 - p));
  const kernel = {
    name: "dropout",
    ins: ["x", "seeds: u32"],
    body: `let e = u.start + i;
  let n = e / u.per;
  let keep = hash32(seeds[u.seedsBase + n], (e - n * u.per) / u.grp) >= u.threshold;
  y[u.yBase + i] = select(0.0, x[u.xBase + i] * u.scale, keep);`,
    fields: ["threshold: u32", "grp: u32", "start: u32", "per: u32", "scale: f32"],
  };
  // The seeds' u32 bits in an i32 storage, bound whole in every chunk.
  const bs = rt.upload(Int32Array.from(seeds, (v) => v | 0));
  const per = x.length / seeds.length;
  const extra = (start: number) => [threshold, group, start, per, f32(scale)];
  const y = map(rt, kernel, { ins: [x, bs], length: x.length, span: ["chunk", "all"], extra });
  rt.free(bs);
  return y;
}

/**
 * `x` rounded to the nearest f16 (kept in f32), as a cast to half precision does: values past
 * f16's range become ±infinity, NaN and infinities pass through. Needs `shader-f16`.
 */
function roundF16(rt: WebGpuRuntime, { x }: KernelArgs["roundF16"]): Storage {
  if (!rt.hasF16) {
    throw new Error("roundF16: this adapter has no shader-f16; mixed precision is unavailable");
  }
  const kernel = {
    name: "round_f16",
    ins: ["x"],
    body: `let v = x[u.xBase + i];
  let bits = bitcast<u32>(v);
  let special = (bits & 0x7f800000u) == 0x7f800000u; // NaN or infinity: keep
  let inf = bitcast<f32>((bits & 0x80000000u) | 0x7f800000u);
  // 65520 and beyond round to infinity in IEEE half precision.
  let big = abs(v) >= 65520.0;
  let r = f32(f16(clamp(v, -65504.0, 65504.0)));
  y[u.yBase + i] = select(select(r, inf, big), v, special);`,
    enable: "enable f16;\n",
  };
  return map(rt, kernel, { ins: [x], length: x.length });
}

/** The element-wise slice of the WebGPU backend. */
export const elementwiseWebGpu: KernelSlice<WebGpuRuntime, "elementwise"> = {
  fill,
  binary,
  axpby,
  affine,
  relu,
  reluGrad,
  dropout,
  roundF16,
};
