/**
 * The protobuf wire format, write side only: varints, fixed32 floats and length-delimited fields
 * (strings, bytes, nested messages). A message is kept as a list of chunks, so nesting a large
 * message (an ONNX graph holding every weight) prepends its tag and length without copying it;
 * {@linkcode ProtoWriter.finish} joins the chunks once.
 *
 * @module
 */

const VARINT = 0, FIXED32 = 5, LENGTH = 2;
const encoder = new TextEncoder();

/** Appends the varint of an integer in `[-2^63, 2^64)` (negatives as 64-bit two's complement). */
function pushVarint(out: number[], value: number | bigint): void {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) {
    let v = value;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    return;
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new RangeError(`protobuf: a varint needs an integer but got ${value}`);
  }
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * Builds one protobuf message field by field (fields are written in call order).
 *
 * @example A message with an int, a string and a nested message
 * ```ts
 * import { ProtoWriter } from "./protobuf.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const inner = new ProtoWriter().int(1, 300);
 * const bytes = new ProtoWriter().string(2, "hi").message(3, inner).finish();
 * assertEquals(Array.from(bytes), [0x12, 2, 0x68, 0x69, 0x1a, 3, 0x08, 0xac, 0x02]);
 * ```
 */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #pending: number[] = [];
  #length = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#length + this.#pending.length;
  }

  #tag(field: number, wire: number): void {
    pushVarint(this.#pending, field * 8 + wire);
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#chunks.push(Uint8Array.from(this.#pending));
    this.#length += this.#pending.length;
    this.#pending = [];
  }

  /** An int32/int64/enum field (varint; negatives take ten bytes, as protobuf's int64). */
  int(field: number, value: number | bigint): this {
    this.#tag(field, VARINT);
    pushVarint(this.#pending, value);
    return this;
  }

  /** One `repeated int64` field per value (proto2's unpacked encoding). */
  ints(field: number, values: readonly number[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  /** A `float` field (fixed32, little-endian). */
  float(field: number, value: number): this {
    this.#tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#pending.push(...b);
    return this;
  }

  /** A `bytes` field; the data is referenced, not copied, until {@linkcode finish}. */
  bytes(field: number, data: Uint8Array): this {
    this.#tag(field, LENGTH);
    pushVarint(this.#pending, data.length);
    this.#flush();
    this.#chunks.push(data);
    this.#length += data.length;
    return this;
  }

  /** A `string` field (UTF-8). */
  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  /** A nested message field; `message`'s chunks are shared, so do not write to it afterwards. */
  message(field: number, message: ProtoWriter): this {
    message.#flush();
    this.#tag(field, LENGTH);
    pushVarint(this.#pending, message.#length);
    this.#flush();
    for (const c of message.#chunks) this.#chunks.push(c);
    this.#length += message.#length;
    return this;
  }

  /** The encoded message as one array. */
  finish(): Uint8Array {
    this.#flush();
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}
