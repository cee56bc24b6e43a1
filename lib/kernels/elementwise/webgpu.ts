/**
 * Element-wise kernels on WebGPU. Every kernel walks flat ranges, so large storages are split
 * into chunks that each fit one binding.
 *
 * @module
 */
import type { BinaryOp, DType, Storage } from "../../device/backend.ts";
import { f32, linearId, MAIN_ARGS, type WebGpuRuntime } from "../../device/webgpu.ts";
import type { KernelSlice } from "../../device/backend.ts";

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

/** Shared WGSL for a 1-D map over `count` elements with bases for each binding. */
function mapKernel(
  rt: WebGpuRuntime,
  name: string,
  ins: string[],
  outType: "f32" | "i32",
  body: string,
  extraUniforms: string[] = [],
  enable = "",
) {
  const bindings = [
    ...ins.map((n, i) => `@group(0) @binding(${i}) var<storage, read> ${n}: array<f32>;`),
    `@group(0) @binding(${ins.length}) var<storage, read_write> y: array<${outType}>;`,
  ];
  const fields = ["count: u32", ...ins.map((n) => `${n}Base: u32`), "yBase: u32", ...extraUniforms];
  const src = `${enable}${bindings.join("\n")}
struct U { ${fields.join(", ")} }
@group(0) @binding(${ins.length + 1}) var<uniform> u: U;
${hashWgsl}
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  ${body}
}`;
  return rt.kernel(name, src);
}

/** PCG-style hash, the WGSL mirror of `hash32` in backend.ts. */
const hashWgsl = `
fn hash32(seed: u32, i: u32) -> u32 {
  var v = i * 747796405u + seed + 2891336453u;
  v = v ^ (seed * 277803737u);
  let word = (((v >> ((v >> 28u) + 4u)) ^ v)) * 277803737u;
  return (word >> 22u) ^ word;
}`;

function run(
  rt: WebGpuRuntime,
  kernel: ReturnType<typeof mapKernel>,
  ins: Storage[],
  y: Storage,
  extra: ReturnType<typeof f32>[] | number[] = [],
  scalarInputs: boolean[] = ins.map(() => false),
) {
  for (const [start, count] of chunks(rt, y.length)) {
    const bIns = ins.map((s, k) => scalarInputs[k] ? rt.bind(s, 0, 1) : rt.bind(s, start, count));
    const bY = rt.bind(y, start, count);
    rt.dispatch(
      kernel,
      [...bIns, bY],
      [count, ...bIns.map((b) => b.base), bY.base, ...extra],
      Math.ceil(count / WG),
    );
  }
}

/** `length` copies of `value`. */
export function fill(rt: WebGpuRuntime, length: number, dtype: DType, value: number): Storage {
  const y = rt.alloc(length, dtype);
  const k = mapKernel(rt, `fill_${dtype}`, [], dtype, `y[u.yBase + i] = ${dtype}(u.value);`, [
    "value: f32",
  ]);
  run(rt, k, [], y, [f32(value)]);
  return y;
}

/** `a (op) b`, `b` of `a.length` or 1 elements. */
export function binary(rt: WebGpuRuntime, op: BinaryOp, a: Storage, b: Storage): Storage {
  const y = rt.alloc(a.length, "f32");
  const scalar = b.length === 1 && a.length !== 1;
  const sym = { add: "+", sub: "-", mul: "*", div: "/" }[op];
  const bi = scalar ? "b[u.bBase]" : "b[u.bBase + i]";
  const k = mapKernel(
    rt,
    `binary_${op}${scalar ? "_scalar" : ""}`,
    ["a", "b"],
    "f32",
    `y[u.yBase + i] = a[u.aBase + i] ${sym} ${bi};`,
  );
  run(rt, k, [a, b], y, [], [false, scalar]);
  return y;
}

/** `alpha * a + beta * b`. */
export function axpby(
  rt: WebGpuRuntime,
  a: Storage,
  b: Storage,
  alpha: number,
  beta: number,
): Storage {
  const y = rt.alloc(a.length, "f32");
  const k = mapKernel(
    rt,
    "axpby",
    ["a", "b"],
    "f32",
    "y[u.yBase + i] = u.alpha * a[u.aBase + i] + u.beta * b[u.bBase + i];",
    ["alpha: f32", "beta: f32"],
  );
  run(rt, k, [a, b], y, [f32(alpha), f32(beta)]);
  return y;
}

/** `alpha * x + beta`. */
export function affine(rt: WebGpuRuntime, x: Storage, alpha: number, beta: number): Storage {
  const y = rt.alloc(x.length, "f32");
  const k = mapKernel(
    rt,
    "affine",
    ["x"],
    "f32",
    "y[u.yBase + i] = u.alpha * x[u.xBase + i] + u.beta;",
    [
      "alpha: f32",
      "beta: f32",
    ],
  );
  run(rt, k, [x], y, [f32(alpha), f32(beta)]);
  return y;
}

/** `max(x, 0)`. */
export function relu(rt: WebGpuRuntime, x: Storage): Storage {
  const y = rt.alloc(x.length, "f32");
  const k = mapKernel(rt, "relu", ["x"], "f32", "y[u.yBase + i] = max(x[u.xBase + i], 0.0);");
  run(rt, k, [x], y);
  return y;
}

/** `y > 0 ? dy : 0`. */
export function reluGrad(rt: WebGpuRuntime, dy: Storage, out: Storage): Storage {
  const y = rt.alloc(dy.length, "f32");
  const k = mapKernel(
    rt,
    "relu_grad",
    ["dy", "o"],
    "f32",
    "y[u.yBase + i] = select(0.0, dy[u.dyBase + i], o[u.oBase + i] > 0.0);",
  );
  run(rt, k, [dy, out], y);
  return y;
}

/**
 * Inverted dropout; mask from `hash32(seeds[n], floor(j / group))` for element `j` of sample
 * `n` (one sample of all `x` and `seeds = [seed]` without per-sample seeds).
 */
export function dropout(
  rt: WebGpuRuntime,
  x: Storage,
  p: number,
  group: number,
  seeds: readonly number[],
): Storage {
  const y = rt.alloc(x.length, "f32");
  // keep <=> hash / 2^32 >= p  <=>  hash >= ceil(p * 2^32) (computed on the host, exact)
  const threshold = Math.min(4294967295, Math.ceil(p * 4294967296));
  const per = x.length / seeds.length;
  const k = rt.kernel(
    "dropout",
    `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> seeds: array<u32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
struct U { count: u32, xBase: u32, sBase: u32, yBase: u32, threshold: u32, grp: u32, start: u32,
  per: u32, scale: f32 }
@group(0) @binding(3) var<uniform> u: U;
${hashWgsl}
@compute @workgroup_size(${WG})
fn main(${MAIN_ARGS}) {
  ${linearId(WG)}
  if (i >= u.count) { return; }
  let e = u.start + i;
  let n = e / u.per;
  let keep = hash32(seeds[u.sBase + n], (e - n * u.per) / u.grp) >= u.threshold;
  y[u.yBase + i] = select(0.0, x[u.xBase + i] * u.scale, keep);
}`,
  );
  // The seeds' u32 bits in an i32 storage.
  const bs = rt.upload(Int32Array.from(seeds, (v) => v | 0));
  const scale = Math.fround(1 / (1 - p));
  for (const [start, count] of chunks(rt, x.length)) {
    const bx = rt.bind(x, start, count), by = rt.bind(y, start, count), bseeds = rt.bind(bs);
    rt.dispatch(
      k,
      [bx, bseeds, by],
      [count, bx.base, bseeds.base, by.base, threshold, group, start, per, f32(scale)],
      Math.ceil(count / WG),
    );
  }
  rt.free(bs);
  return y;
}

/**
 * `x` rounded to the nearest f16 (kept in f32), as a cast to half precision does: values past
 * f16's range become ±infinity, NaN and infinities pass through. Needs `shader-f16`.
 */
export function roundF16(rt: WebGpuRuntime, x: Storage): Storage {
  if (!rt.hasF16) {
    throw new Error("roundF16: this adapter has no shader-f16; mixed precision is unavailable");
  }
  const y = rt.alloc(x.length, "f32");
  const k = mapKernel(
    rt,
    "round_f16",
    ["x"],
    "f32",
    `let v = x[u.xBase + i];
  let bits = bitcast<u32>(v);
  let special = (bits & 0x7f800000u) == 0x7f800000u; // NaN or infinity: keep
  let inf = bitcast<f32>((bits & 0x80000000u) | 0x7f800000u);
  // 65520 and beyond round to infinity in IEEE half precision.
  let big = abs(v) >= 65520.0;
  let r = f32(f16(clamp(v, -65504.0, 65504.0)));
  y[u.yBase + i] = select(select(r, inf, big), v, special);`,
    [],
    "enable f16;\n",
  );
  run(rt, k, [x], y);
  return y;
}

/** The element-wise slice of the WebGPU backend. */
export const elementwiseWebGpu: KernelSlice<WebGpuRuntime, "elementwise"> = {
  fill: (rt, { length, dtype, value }) => fill(rt, length, dtype, value),
  binary: (rt, { op, a, b, relu: withRelu }) => {
    const y = binary(rt, op, a, b);
    if (!withRelu) return y;
    const r = relu(rt, y);
    rt.free(y);
    return r;
  },
  axpby: (rt, { a, b, alpha, beta }) => axpby(rt, a, b, alpha, beta),
  affine: (rt, { x, alpha, beta }) => affine(rt, x, alpha, beta),
  relu: (rt, { x }) => relu(rt, x),
  reluGrad: (rt, { dy, y }) => reluGrad(rt, dy, y),
  dropout: (rt, { x, p, seed, group, seeds }) => dropout(rt, x, p, group, seeds ?? [seed]),
  roundF16: (rt, { x }) => roundF16(rt, x),
};
