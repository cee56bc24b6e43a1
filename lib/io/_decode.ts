/**
 * Decoding raw little- or big-endian element bytes into the host dtypes (f32 for floats, i32 for
 * integers and booleans). Shared by the safetensors and PyTorch readers.
 *
 * @module
 */

/** Element types found in weight files. */
export type FileDType =
  | "f64"
  | "f32"
  | "f16"
  | "bf16"
  | "i64"
  | "i32"
  | "i16"
  | "i8"
  | "u64"
  | "u32"
  | "u16"
  | "u8"
  | "bool";

/** Bytes per element of each file dtype. */
export const ELEMENT_SIZE: Readonly<Record<FileDType, number>> = {
  f64: 8,
  f32: 4,
  f16: 2,
  bf16: 2,
  i64: 8,
  i32: 4,
  i16: 2,
  i8: 1,
  u64: 8,
  u32: 4,
  u16: 2,
  u8: 1,
  bool: 1,
};

/** The host dtype a file dtype is converted to. */
export function hostDType(dtype: FileDType): "f32" | "i32" {
  return dtype === "f64" || dtype === "f32" || dtype === "f16" || dtype === "bf16" ? "f32" : "i32";
}

/** Whether this machine stores numbers little-endian (typed arrays use host order). */
export const HOST_LITTLE: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
let halfTable: Float32Array | undefined;

/** f16 bit pattern -> value, for all 65536 patterns (built on first use). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  halfTable = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f, m = h & 0x3ff;
    halfTable[h] = e === 0
      ? sign * m * 2 ** -24
      : e === 31
      ? (m ? NaN : sign * Infinity)
      : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return halfTable;
}

/**
 * Converts `count` elements of `dtype` from `bytes` to a fresh f32 or i32 array.
 *
 * `bytes` may sit at any alignment; the result never aliases it, unless `copy` is false: then
 * f32/i32 data in host byte order at a 4-byte aligned offset comes back as a view of `bytes`
 * (no copy; how checkpoints load in place). Integers that do not fit in i32 throw a RangeError
 * naming `what` (the tensor) and the element index.
 */
export function decode(
  bytes: Uint8Array,
  dtype: FileDType,
  { littleEndian = true, what = "tensor", copy = true }: {
    littleEndian?: boolean;
    what?: string;
    copy?: boolean;
  } = {},
): Float32Array | Int32Array {
  const size = ELEMENT_SIZE[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(
      `${what}: ${bytes.length} bytes is not a whole number of ${dtype} elements (${size} bytes each)`,
    );
  }
  const n = bytes.length / size;
  if (littleEndian === HOST_LITTLE && (dtype === "f32" || dtype === "i32")) {
    if (!copy && bytes.byteOffset % 4 === 0) {
      const buffer = bytes.buffer as ArrayBuffer;
      return dtype === "f32"
        ? new Float32Array(buffer, bytes.byteOffset, n)
        : new Int32Array(buffer, bytes.byteOffset, n);
    }
    const copied = bytes.slice();
    return dtype === "f32" ? new Float32Array(copied.buffer) : new Int32Array(copied.buffer);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = littleEndian;
  switch (dtype) {
    case "f32":
    case "f64": {
      const out = new Float32Array(n);
      if (dtype === "f32") { for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, le); }
      else for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, le);
      return out;
    }
    case "f16": {
      const table = halfToFloatTable(), out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, le)];
      return out;
    }
    case "bf16": {
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, le) << 16;
      return new Float32Array(bits.buffer);
    }
    case "i64":
    case "u64":
      return decodeWide(view, n, dtype === "i64", le, what);
    default: {
      const out = new Int32Array(n);
      const get: (i: number) => number = {
        i32: (i: number) => view.getInt32(4 * i, le),
        u32: (i: number) => view.getUint32(4 * i, le),
        i16: (i: number) => view.getInt16(2 * i, le),
        u16: (i: number) => view.getUint16(2 * i, le),
        i8: (i: number) => view.getInt8(i),
        u8: (i: number) => view.getUint8(i),
        bool: (i: number) => (view.getUint8(i) ? 1 : 0),
      }[dtype];
      for (let i = 0; i < n; i++) {
        const v = get(i);
        if (v > 0x7fffffff) throw outOfRange(what, dtype, i, BigInt(v));
        out[i] = v;
      }
      return out;
    }
  }
}

/** 64-bit integers -> i32, throwing on values outside [-2^31, 2^31). */
function decodeWide(
  view: DataView,
  n: number,
  signed: boolean,
  le: boolean,
  what: string,
): Int32Array {
  const out = new Int32Array(n);
  const lo = le ? 0 : 4, hi = le ? 4 : 0;
  for (let i = 0; i < n; i++) {
    const low = view.getInt32(8 * i + lo, le), high = view.getInt32(8 * i + hi, le);
    if (high !== (signed ? low >> 31 : 0) || (!signed && low < 0)) {
      const big = signed ? view.getBigInt64(8 * i, le) : view.getBigUint64(8 * i, le);
      throw outOfRange(what, signed ? "i64" : "u64", i, big);
    }
    out[i] = low;
  }
  return out;
}

function outOfRange(what: string, dtype: string, i: number, v: bigint): RangeError {
  return new RangeError(
    `${what}: ${dtype} element ${i} is ${v}, outside the i32 range [-2147483648, 2147483647]`,
  );
}
