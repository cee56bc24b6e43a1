/**
 * What every WebGPU kernel family shares: a kernel's buffers and uniform block declared from a
 * list, the opening of its `main` (the invocation's index and the guard past the work), and a
 * dispatch over windows of its storages.
 *
 * @module
 */
import type { Storage } from "../device/backend.ts";
import {
  type GpuKernel,
  linearId,
  MAIN_ARGS,
  type UniformValue,
  type WebGpuRuntime,
} from "../device/webgpu.ts";

/**
 * Declarations of a kernel's buffers, bound `@group(0) @binding(0)`, `(1)`, ... in order, then
 * `struct U` bound next as the uniform block `u`.
 *
 * A buffer is written `"x"` (a read-only `array<f32>`), `"mut y"` (read-write), with another
 * element type after a colon (`"tgt: i32"`, `"mut out: vec4f"`, `"mut flag: atomic<i32>"`), or
 * `"uniform col: T"` (a uniform binding of type T). `false` binds nothing: an optional buffer
 * leaves no gap. `fields` is the body of `U`, or a list of names for u32 fields.
 *
 * @example Two buffers and the uniforms
 * ```ts
 * import { bindings } from "./_wgsl.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * assertEquals(
 *   bindings(["x", false, "mut y: i32"], ["count", "xBase"]),
 *   "@group(0) @binding(0) var<storage, read> x: array<f32>;\n" +
 *     "@group(0) @binding(1) var<storage, read_write> y: array<i32>;\n" +
 *     "struct U { count: u32, xBase: u32 }\n" +
 *     "@group(0) @binding(2) var<uniform> u: U;",
 * );
 * ```
 */
export function bindings(
  buffers: readonly (string | false)[],
  fields: string | readonly string[],
): string {
  const bound = buffers.filter((b): b is string => b !== false);
  const lines = bound.map((b, i) => `@group(0) @binding(${i}) ${declaration(b)};`);
  const body = typeof fields === "string" ? fields : fields.map((f) => `${f}: u32`).join(", ");
  lines.push(`struct U { ${body} }`, `@group(0) @binding(${bound.length}) var<uniform> u: U;`);
  return lines.join("\n");
}

/** `var<...> name: type` of one buffer written as {@linkcode bindings} reads it. */
function declaration(buffer: string): string {
  const m = /^(mut |uniform )?(\w+)(?:: (.+))?$/.exec(buffer);
  if (!m) {
    throw new SyntaxError(
      `bindings: expected a buffer as "name", "mut name: type" or "uniform name: type" but got "${buffer}"`,
    );
  }
  const [, kind, name, type] = m;
  if (kind === "uniform ") return `var<uniform> ${name}: ${type}`;
  return `var<storage, ${kind ? "read_write" : "read"}> ${name}: array<${type ?? "f32"}>`;
}

/**
 * The opening of a `main` with one invocation per element: `i` is the invocation's linear
 * index over a 2-D grid of `wg`-wide workgroups, and invocations from `u.count` on return.
 * The caller writes the body and the closing brace.
 */
export function perElement(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(${MAIN_ARGS}) {
  ${linearId(wg)}
  if (i >= u.count) { return; }`;
}

/**
 * The opening of a `main` whose workgroups share the work: `g` is the workgroup's linear index
 * over a 2-D grid, and workgroups from `u.groups` on return. The caller writes the body (with
 * `lid`, the invocation inside the workgroup) and the closing brace.
 */
export function perGroup(wg: number): string {
  return `@compute @workgroup_size(${wg})
fn main(${MAIN_ARGS}) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= u.groups) { return; }`;
}

/**
 * The opening of a `main` over a grid of `wg`-wide workgroups whose other axes (`wid.y`,
 * `wid.z`) the kernel reads itself: `name` is the invocation's index along x,
 * `wid.x * wg + lid.x`, and invocations for which `past` holds return.
 */
export function alongX(wg: number, name: string, past: string): string {
  return `@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let ${name} = wid.x * ${wg}u + lid.x;
  if (${past}) { return; }`;
}

/**
 * Binds the window `[start, start + length)` of each storage, in binding order, and dispatches
 * `kernel` over `groups` workgroups with `uniforms` followed by the windows' bases.
 */
export function dispatchWindows(
  rt: WebGpuRuntime,
  kernel: GpuKernel,
  run: { windows: [Storage, number, number][]; uniforms: UniformValue[]; groups: number },
): void {
  const bound = run.windows.map(([s, start, length]) => rt.bind(s, start, length));
  rt.dispatch(kernel, bound, [...run.uniforms, ...bound.map((b) => b.base)], run.groups);
}
