/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
 * tensor name to `{dtype, shape, data_offsets}` (plus an optional `__metadata__` of strings),
 * padded with spaces to a multiple of 8 bytes, then the raw little-endian tensor bytes.
 *
 * @example Round trip
 * ```ts
 * import { readSafetensors, writeSafetensors } from "./safetensors.ts";
 *
 * const bytes = writeSafetensors(
 *   { w: { dtype: "f32", shape: [2], data: new Float32Array([1, 2]) } },
 *   { epoch: "3" },
 * );
 * const { tensors, metadata } = readSafetensors(bytes);
 * console.assert(tensors.w.data[1] === 2 && metadata.epoch === "3");
 * ```
 *
 * @module
 */

import { decode, ELEMENT_SIZE, type FileDType, HOST_LITTLE } from "./_decode.ts";
import type { HostTensor, StateDict } from "./host_tensor.ts";

/** safetensors dtype names -> file dtypes (floats load as f32, integers and BOOL as i32). */
const DTYPES: Readonly<Record<string, FileDType>> = {
  F64: "f64",
  F32: "f32",
  F16: "f16",
  BF16: "bf16",
  I64: "i64",
  I32: "i32",
  I16: "i16",
  I8: "i8",
  U64: "u64",
  U32: "u32",
  U16: "u16",
  U8: "u8",
  BOOL: "bool",
};

/** A parsed safetensors file. */
export interface Safetensors {
  /** Tensors by name, converted to f32 (floats) or i32 (integers, booleans). */
  tensors: StateDict;
  /** The `__metadata__` strings (empty when the file has none). */
  metadata: Record<string, string>;
}

interface Entry {
  name: string;
  dtype: FileDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file, validating the header before touching any tensor bytes.
 *
 * Throws an Error naming the tensor and the offending values when the file is shorter than 8
 * bytes, the header length runs past the end, the header is not a JSON object, a dtype is
 * unknown, a shape or offsets are malformed, offsets run past the data, overlap, or do not match
 * shape × element size.
 *
 * f32/i32 tensors at 4-byte aligned offsets (the writers pad the header to 8 bytes) are views of
 * `bytes`, not copies, so a whole file loads without a second copy; pass `{ copy: true }` for
 * arrays independent of `bytes`.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: { copy?: boolean } = {},
): Safetensors {
  if (bytes.length < 8) {
    throw new Error(
      `safetensors: file is ${bytes.length} bytes, shorter than the 8-byte header length`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new Error(
      `safetensors: header length ${headerLength} runs past the end of the ${bytes.length}-byte file`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  const header = parseHeader(bytes.subarray(8, dataStart));
  const metadata = parseMetadata(header.__metadata__);
  const dataLength = bytes.length - dataStart;
  const entries = Object.entries(header)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, info]) => parseEntry(name, info, dataLength));
  checkOverlaps(entries);
  const tensors: StateDict = {};
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    const data = decode(raw, e.dtype, {
      what: `safetensors: tensor "${e.name}"`,
      copy: options.copy ?? false,
    });
    const tensor: HostTensor = {
      dtype: data instanceof Float32Array ? "f32" : "i32",
      shape: e.shape,
      data,
    };
    Object.defineProperty(tensors, e.name, { value: tensor, enumerable: true, writable: true });
  }
  return { tensors, metadata };
}

/**
 * Serialises a state dict as safetensors (F32 and I32), tensors in name order, header padded with
 * spaces to a multiple of 8 bytes as the reference writer does.
 */
export function writeSafetensors(
  dict: StateDict,
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(dict).sort();
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(`safetensors: metadata "${k}" must be a string but is ${typeof v}`);
      }
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") {
      throw new Error(`safetensors: "__metadata__" is reserved and cannot name a tensor`);
    }
    const t = dict[name];
    checkHostTensor(name, t);
    const end = offset + t.data.byteLength;
    const info = {
      dtype: t.dtype === "f32" ? "F32" : "I32",
      shape: t.shape,
      data_offsets: [offset, end],
    };
    Object.defineProperty(header, name, { value: info, enumerable: true }); // safe for "__proto__"
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const name of names) {
    const { data } = dict[name];
    if (HOST_LITTLE) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (data instanceof Float32Array) view.setFloat32(at + 4 * i, data[i], true);
        else view.setInt32(at + 4 * i, data[i], true);
      }
    }
    at += data.byteLength;
  }
  return out;
}

function parseHeader(raw: Uint8Array): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch (e) {
    throw new Error(
      `safetensors: the ${raw.length}-byte header is not valid UTF-8 JSON (${
        (e as Error).message
      })`,
    );
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw new Error(`safetensors: header must be a JSON object but is ${JSON.stringify(header)}`);
  }
  return header as Record<string, unknown>;
}

function parseMetadata(meta: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (meta === undefined || meta === null) return out;
  if (typeof meta !== "object" || Array.isArray(meta)) {
    throw new Error(`safetensors: __metadata__ must be an object but is ${JSON.stringify(meta)}`);
  }
  for (const [k, v] of Object.entries(meta)) {
    if (typeof v !== "string") {
      throw new Error(
        `safetensors: __metadata__ "${k}" must be a string but is ${JSON.stringify(v)}`,
      );
    }
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true });
  }
  return out;
}

function parseEntry(name: string, info: unknown, dataLength: number): Entry {
  const where = `safetensors: tensor "${name}"`;
  if (typeof info !== "object" || info === null || Array.isArray(info)) {
    throw new Error(`${where} must be an object but is ${JSON.stringify(info)}`);
  }
  const { dtype: tag, shape, data_offsets: offsets } = info as Record<string, unknown>;
  const dtype = typeof tag === "string" && Object.hasOwn(DTYPES, tag) ? DTYPES[tag] : undefined;
  if (dtype === undefined) {
    throw new Error(
      `${where} has unknown dtype ${JSON.stringify(tag)}; known: ${Object.keys(DTYPES).join(", ")}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new Error(
      `${where}: shape must be a list of non-negative integers but is ${JSON.stringify(shape)}`,
    );
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) ||
    offsets[0] > offsets[1]
  ) {
    throw new Error(
      `${where}: data_offsets must be [begin, end] with 0 <= begin <= end but is ${
        JSON.stringify(offsets)
      }`,
    );
  }
  const [begin, end] = offsets as number[];
  if (end > dataLength) {
    throw new Error(
      `${where}: data_offsets [${begin}, ${end}] run past the ${dataLength}-byte data section`,
    );
  }
  const need = shape.reduce((a: number, b: number) => a * b, 1) * ELEMENT_SIZE[dtype];
  if (end - begin !== need) {
    throw new Error(
      `${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${
        shape.join(", ")
      }] of ${tag} needs ${need}`,
    );
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function checkOverlaps(entries: Entry[]): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1], b = sorted[i];
    if (b.begin < a.end) {
      throw new Error(
        `safetensors: tensor "${b.name}" data_offsets [${b.begin}, ${b.end}] overlap tensor "${a.name}" [${a.begin}, ${a.end}]`,
      );
    }
  }
}

function checkHostTensor(name: string, t: HostTensor): void {
  const want = t.dtype === "f32" ? Float32Array : t.dtype === "i32" ? Int32Array : undefined;
  if (want === undefined || !(t.data instanceof want)) {
    throw new TypeError(
      `safetensors: tensor "${name}" must be f32 with a Float32Array or i32 with an Int32Array but is ${t.dtype} with a ${t.data?.constructor?.name}`,
    );
  }
  if (!t.shape.every((d) => isCount(d))) {
    throw new RangeError(`safetensors: tensor "${name}" has a bad shape [${t.shape.join(", ")}]`);
  }
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) {
    throw new RangeError(
      `safetensors: tensor "${name}" has shape [${
        t.shape.join(", ")
      }] (${n} elements) but ${t.data.length} values`,
    );
  }
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}
