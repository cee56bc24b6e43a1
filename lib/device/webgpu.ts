/**
 * The WebGPU runtime: buffers from a pool, pipelines cached by their WGSL source, all dispatches
 * recorded into one command encoder and submitted once per flush, and uniforms written once per
 * submission from an arena. Kernels (in `lib/kernels/<family>/webgpu.ts`) build WGSL and call
 * {@linkcode WebGpuRuntime.dispatch}; this file knows nothing of convolutions or losses.
 *
 * Buffers may be larger than `maxStorageBufferBindingSize`: kernels bind windows of them with
 * {@linkcode WebGpuRuntime.bind}, which aligns the window's start down to the adapter's offset
 * alignment and returns the element offset (`base`) the kernel adds to its indices.
 *
 * @module
 */
import type { DType, HostArray, Storage } from "./backend.ts";
import { ensureRuntimeDir } from "../io/runtime_dir.ts";

/** A storage living in one GPU buffer. */
export interface GpuStorage extends Storage {
  /** The buffer (at least `length * 4` bytes; pooled buffers may be larger). */
  readonly buffer: GPUBuffer;
}

/** A compiled kernel. */
export interface GpuKernel {
  readonly name: string;
  readonly pipeline: GPUComputePipeline;
}

/** A window of a storage to bind, and the element offset of the wanted data inside it. */
export interface Binding {
  resource: GPUBufferBinding;
  /** Elements between the window's start and the requested offset. */
  base: number;
}

/** A value for a uniform block: plain numbers are u32; wrap floats with `f32()`, signed with `i32()`. */
export type UniformValue = number | { f32: number } | { i32: number };

/** Marks a uniform value as f32. */
export const f32 = (v: number): { f32: number } => ({ f32: v });
/** Marks a uniform value as i32. */
export const i32 = (v: number): { i32: number } => ({ i32: v });

/** Options of {@linkcode WebGpuRuntime.create}. */
export interface WebGpuOptions {
  /** Lower the binding limit (bytes) below the adapter's, to exercise the chunked paths. */
  maxBindingBytes?: number;
  /** Print each compiled shader (also `FCN_DEBUG_WGSL=1`). */
  debugShaders?: boolean;
}

const ARENA_BYTES = 1 << 18; // 1024 uniform blocks of 256 bytes per submission
const WORKGROUPS_PER_DIM = 65535;

/** Raised when no WebGPU adapter can be found. */
export class NoWebGpuError extends Error {
  /** Builds the error with advice on what to install. */
  constructor(detail = "") {
    super(
      "No WebGPU adapter found" + (detail ? ` (${detail})` : "") + ". " +
        "On Linux install Mesa's drivers (`apt-get install -y mesa-vulkan-drivers`, then " +
        'DENO_WEBGPU_BACKEND=vulkan) or run on the CPU with `{ backend: "blas" }` / ' +
        '`{ backend: "cpu" }` (or FCN_BACKEND=blas|cpu).',
    );
    this.name = "NoWebGpuError";
  }
}

/** Raised when a kernel fails to compile or a submission fails validation. */
export class KernelError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "KernelError";
  }
}

/** What {@linkcode WebGpuRuntime.checkLater} does with the data it read: an Error, or null. */
export type Check = (data: HostArray) => Error | null;

/** Adds line numbers to WGSL source for error reports. */
export function numbered(source: string): string {
  return source.split("\n").map((l, i) => `${String(i + 1).padStart(4)}| ${l}`).join("\n");
}

/** Owns one GPUDevice: memory, pipelines, recording and submission. */
export class WebGpuRuntime {
  readonly device: GPUDevice;
  readonly adapterInfo: GPUAdapterInfo;
  /** Largest window (bytes) one binding may cover. */
  readonly maxBinding: number;
  /** Required alignment (bytes) of a binding's offset. */
  readonly offsetAlign: number;
  /** Whether the device has `shader-f16`. */
  readonly hasF16: boolean;
  readonly debug: boolean;

  #pool = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;
  #live = 0;
  #pipelines = new Map<string, GpuKernel>();
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #arena: GPUBuffer;
  #arenaHost = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  #uniformAlign: number;
  #staging: GPUBuffer[] = [];
  #pendingErrors: Promise<string | null>[] = [];
  /** Copies recorded by {@linkcode WebGpuRuntime.checkLater}, mapped at the next submit. */
  #checks: { rb: GPUBuffer; dtype: DType; length: number; check: Check }[] = [];
  /** Their verdicts: the first Error is thrown by the next read() or flush(). */
  #pendingChecks: Promise<Error | null>[] = [];
  #dispatches = 0;

  private constructor(device: GPUDevice, info: GPUAdapterInfo, options: WebGpuOptions) {
    this.device = device;
    this.adapterInfo = info;
    const lim = device.limits;
    this.maxBinding = Math.min(
      lim.maxStorageBufferBindingSize,
      options.maxBindingBytes ?? Infinity,
    );
    this.offsetAlign = lim.minStorageBufferOffsetAlignment;
    this.#uniformAlign = lim.minUniformBufferOffsetAlignment;
    this.hasF16 = device.features.has("shader-f16");
    this.debug = options.debugShaders ?? Deno.env.get("FCN_DEBUG_WGSL") === "1";
    this.#arena = device.createBuffer({
      size: ARENA_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Requests the adapter and a device with the adapter's highest limits. */
  static async create(options: WebGpuOptions = {}): Promise<WebGpuRuntime> {
    if (typeof navigator === "undefined" || !("gpu" in navigator)) {
      throw new NoWebGpuError("navigator.gpu is missing");
    }
    ensureRuntimeDir(); // no spurious Mesa "error: XDG_RUNTIME_DIR" line (issue 12)
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new NoWebGpuError();
    const requiredLimits: Record<string, number> = {};
    const names = [
      "maxStorageBufferBindingSize",
      "maxBufferSize",
      "maxStorageBuffersPerShaderStage",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxComputeWorkgroupSizeY",
      "maxComputeWorkgroupSizeZ",
      "maxComputeWorkgroupsPerDimension",
    ] as const;
    for (const name of names) requiredLimits[name] = adapter.limits[name];
    const requiredFeatures: GPUFeatureName[] = [];
    if (adapter.features.has("shader-f16")) requiredFeatures.push("shader-f16");
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
    device.addEventListener?.("uncapturederror", (e) => {
      console.error(`WebGPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    return new WebGpuRuntime(device, adapter.info, options);
  }

  /** True when the adapter is a software one (llvmpipe, SwiftShader, WARP). */
  get isSoftware(): boolean {
    const info = this.adapterInfo as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    return info.isFallbackAdapter === true ||
      /llvmpipe|lavapipe|swiftshader|warp|software/i.test(
        `${info.description} ${info.device} ${info.vendor}`,
      );
  }

  /** Bytes held by live storages. */
  get liveBytes(): number {
    return this.#live;
  }

  /** Dispatches recorded since the device was created (for tests and benchmarks). */
  get dispatchCount(): number {
    return this.#dispatches;
  }

  /** A storage of `length` elements from the pool (contents undefined). */
  alloc(length: number, dtype: DType): GpuStorage {
    const bytes = Math.max(4, length * 4);
    const cls = sizeClass(bytes);
    const list = this.#pool.get(cls);
    let buffer = list?.pop();
    if (buffer) this.#pooledBytes -= cls;
    else {
      buffer = this.device.createBuffer({
        size: cls,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    this.#live += length * 4;
    return { length, dtype, buffer };
  }

  /** Returns a storage's buffer to the pool. */
  free(s: Storage): void {
    const g = s as GpuStorage;
    this.#live -= g.length * 4;
    const cls = g.buffer.size;
    let list = this.#pool.get(cls);
    if (!list) this.#pool.set(cls, list = []);
    list.push(g.buffer);
    this.#pooledBytes += cls;
  }

  /** Uploads host data into a new storage (ordered after the work recorded so far). */
  upload(data: HostArray): GpuStorage {
    const dtype: DType = data instanceof Int32Array ? "i32" : "f32";
    const s = this.alloc(data.length, dtype);
    if (data.length === 0) return s;
    if (this.#encoder === null) {
      this.device.queue.writeBuffer(
        s.buffer,
        0,
        data.buffer as ArrayBuffer,
        data.byteOffset,
        data.byteLength,
      );
      return s;
    }
    const staging = this.device.createBuffer({
      size: align(data.byteLength, 4),
      usage: GPUBufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    staging.unmap();
    this.#endPass().copyBufferToBuffer(staging, 0, s.buffer, 0, align(data.byteLength, 4));
    this.#staging.push(staging);
    return s;
  }

  /** Reads a storage back (submits pending work first). */
  async read(s: Storage): Promise<HostArray> {
    const g = s as GpuStorage;
    const bytes = g.length * 4;
    const out = g.dtype === "i32" ? new Int32Array(g.length) : new Float32Array(g.length);
    if (bytes === 0) return out;
    const rb = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#endPass().copyBufferToBuffer(g.buffer, 0, rb, 0, bytes);
    this.submit();
    await rb.mapAsync(GPUMapMode.READ);
    new Uint8Array(out.buffer).set(new Uint8Array(rb.getMappedRange()));
    rb.unmap();
    rb.destroy();
    await this.#checkErrors();
    return out;
  }

  /**
   * Copies `s` (a few elements: a flag a kernel wrote) for reading at the next submission and
   * hands the data to `check`; the Error it returns, if any, is thrown by the next `read()` or
   * `flush()`. How a kernel reports bad input without a wait in the middle of recording; `s` may
   * be freed right after this call.
   */
  checkLater(s: Storage, check: Check): void {
    const g = s as GpuStorage;
    const rb = this.device.createBuffer({
      size: Math.max(4, g.length * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (g.length > 0) this.#endPass().copyBufferToBuffer(g.buffer, 0, rb, 0, g.length * 4);
    this.#checks.push({ rb, dtype: g.dtype, length: g.length, check });
  }

  /** Compiles (once per distinct source) a compute kernel whose entry point is `main`. */
  kernel(name: string, source: string): GpuKernel {
    const cached = this.#pipelines.get(source);
    if (cached) return cached;
    if (this.debug) console.error(`--- kernel ${name} ---\n${numbered(source)}`);
    this.device.pushErrorScope("validation");
    const module = this.device.createShaderModule({ label: name, code: source });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    this.#pendingErrors.push(
      this.device.popErrorScope().then((e) =>
        e ? `kernel "${name}" failed to compile: ${e.message}\n${numbered(source)}` : null
      ),
    );
    const k = { name, pipeline };
    this.#pipelines.set(source, k);
    return k;
  }

  /** Number of distinct pipelines compiled so far. */
  get pipelineCount(): number {
    return this.#pipelines.size;
  }

  /**
   * Binds the window `[offset, offset + length)` (in elements) of a storage. The window must fit
   * in {@linkcode WebGpuRuntime.maxBinding}; kernels chunk their work so that it does.
   */
  bind(s: Storage, offset = 0, length: number = s.length - offset): Binding {
    const g = s as GpuStorage;
    const start = offset * 4;
    const alignedStart = start - (start % this.offsetAlign);
    const end = Math.max(start + length * 4, alignedStart + 4);
    const size = align(end - alignedStart, 4);
    if (size > this.maxBinding) {
      throw new RangeError(
        `binding of ${size} bytes exceeds the adapter's limit of ${this.maxBinding} bytes; ` +
          "the kernel must split its work into smaller chunks",
      );
    }
    return {
      resource: { buffer: g.buffer, offset: alignedStart, size },
      base: (start - alignedStart) / 4,
    };
  }

  /** Largest number of f32 elements one binding may hold. */
  get maxBindingElements(): number {
    return Math.floor((this.maxBinding - this.offsetAlign) / 4);
  }

  /**
   * Records one dispatch. `bindings` are the storage buffers at @binding(0..n-1) of group 0 and
   * `uniforms` (when given) the uniform block at @binding(n). `groups` is a workgroup count
   * (split into a 2-D grid past 65535: kernels compute the linear id as
   * `wid.x + wid.y * nwg.x`) or an explicit `[x, y, z]` grid.
   */
  dispatch(
    kernel: GpuKernel,
    bindings: (Binding | GPUBufferBinding)[],
    uniforms: UniformValue[] | null,
    groups: number | [number, number, number],
  ): void {
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => ({
      binding: i,
      resource: "resource" in b ? b.resource : b,
    }));
    if (uniforms) {
      const bytes = align(uniforms.length * 4, 16);
      if (this.#arenaUsed + bytes > ARENA_BYTES) this.submit();
      const view = new DataView(this.#arenaHost.buffer, this.#arenaUsed, bytes);
      uniforms.forEach((v, i) => {
        if (typeof v === "number") view.setUint32(i * 4, v >>> 0, true);
        else if ("f32" in v) view.setFloat32(i * 4, v.f32, true);
        else view.setInt32(i * 4, v.i32, true);
      });
      entries.push({
        binding: bindings.length,
        resource: { buffer: this.#arena, offset: this.#arenaUsed, size: bytes },
      });
      this.#arenaUsed = align(this.#arenaUsed + bytes, this.#uniformAlign);
    }
    const bindGroup = this.device.createBindGroup({
      layout: kernel.pipeline.getBindGroupLayout(0),
      entries,
    });
    let grid: [number, number, number];
    if (typeof groups === "number") {
      if (groups === 0) return;
      grid = groups <= WORKGROUPS_PER_DIM
        ? [groups, 1, 1]
        : [WORKGROUPS_PER_DIM, Math.ceil(groups / WORKGROUPS_PER_DIM), 1];
    } else grid = groups;
    if (grid.some((g) => g === 0)) return;
    const pass = this.#beginPass();
    pass.setPipeline(kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(grid[0], grid[1], grid[2]);
    this.#dispatches++;
  }

  /** Ends recording and submits everything recorded so far (does not wait). */
  submit(): void {
    if (this.#encoder === null) return;
    this.#endPass();
    if (this.#arenaUsed > 0) {
      this.device.queue.writeBuffer(this.#arena, 0, this.#arenaHost.buffer, 0, this.#arenaUsed);
    }
    this.device.pushErrorScope("validation");
    this.device.queue.submit([this.#encoder.finish()]);
    this.#pendingErrors.push(
      this.device.popErrorScope().then((e) => e ? `submission failed: ${e.message}` : null),
    );
    this.#encoder = null;
    this.#arenaUsed = 0;
    for (const { rb, dtype, length, check } of this.#checks.splice(0)) {
      this.#pendingChecks.push(
        rb.mapAsync(GPUMapMode.READ).then(() => {
          const data = dtype === "i32" ? new Int32Array(length) : new Float32Array(length);
          new Uint8Array(data.buffer).set(new Uint8Array(rb.getMappedRange(), 0, length * 4));
          rb.unmap();
          rb.destroy();
          return check(data);
        }),
      );
    }
    for (const s of this.#staging) s.destroy();
    this.#staging = [];
  }

  /** Submits and waits for the GPU to finish. */
  async flush(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.#checkErrors();
  }

  /** Frees pooled buffers that no storage uses. */
  trim(): void {
    for (const list of this.#pool.values()) for (const b of list) b.destroy();
    this.#pool.clear();
    this.#pooledBytes = 0;
  }

  /** Destroys the device. */
  destroy(): void {
    this.trim();
    this.#arena.destroy();
    this.device.destroy();
  }

  async #checkErrors(): Promise<void> {
    const errs = (await Promise.all(this.#pendingErrors.splice(0))).filter((e) => e !== null);
    const bad = (await Promise.all(this.#pendingChecks.splice(0))).find((e) => e !== null);
    if (errs.length > 0) throw new KernelError(errs.join("\n\n"));
    if (bad) throw bad;
  }

  #beginPass(): GPUComputePassEncoder {
    if (this.#pass) return this.#pass;
    this.#encoder ??= this.device.createCommandEncoder();
    this.#pass = this.#encoder.beginComputePass();
    return this.#pass;
  }

  #endPass(): GPUCommandEncoder {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    this.#encoder ??= this.device.createCommandEncoder();
    return this.#encoder;
  }
}

function align(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

/** Rounds a byte size up to a pool class: powers of two split in 8 steps (under 12.5% waste). */
function sizeClass(bytes: number): number {
  if (bytes <= 4096) return 4096;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = p / 8;
  return Math.ceil(bytes / step) * step;
}

/**
 * WGSL lines computing the linear invocation id `i` for a 1-D kernel dispatched with a workgroup
 * count (see {@linkcode WebGpuRuntime.dispatch}); `wg` is the workgroup size.
 */
export function linearId(wg: number): string {
  return `let i = (wid.x + wid.y * nwg.x) * ${wg}u + lid.x;`;
}

/** The builtin parameters {@linkcode linearId} expects on `main`. */
export const MAIN_ARGS =
  "@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u";
