/**
 * ONNX's `ModelProto` and the messages under it, encoded with the field numbers of onnx.proto:
 * ModelProto, OperatorSetIdProto, StringStringEntryProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto, TypeProto.Tensor and TensorShapeProto. Only what a float CNN
 * needs: float and int64 tensors (as `raw_data`), int/ints/float/string attributes.
 *
 * @module
 */
import { ProtoWriter } from "./protobuf.ts";

/** An attribute value: an int, a list of ints, a string, or `{ float }`. */
export type AttrValue = number | readonly number[] | string | { float: number };

/** One operator application. */
export interface OnnxNode {
  /** Operator name of the default domain (`Conv`, `Relu`, ...). */
  op: string;
  /** Input value names; `""` leaves an optional input out. */
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** A constant tensor (an initializer): float32 or int64. */
export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

/** A graph input or output: float32 with fixed (number) or symbolic (string) dimensions. */
export interface OnnxValueInfo {
  name: string;
  dims: readonly (number | string)[];
}

/** A computation graph: nodes in topological order. */
export interface OnnxGraphProto {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

/** A whole model file. */
export interface OnnxModelProto {
  /** IR version (8 goes with opsets up to 17). */
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraphProto;
  /** `metadata_props`: string key/value pairs. */
  metadata?: Record<string, string>;
}

const FLOAT = 1, INT64 = 7; // TensorProto.DataType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 }; // AttributeProto.AttributeType

function attribute(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof v === "number") return w.int(20, ATTR.INT).int(3, v);
  if (typeof v === "string") return w.int(20, ATTR.STRING).string(4, v);
  if ("float" in v) return w.int(20, ATTR.FLOAT).float(2, v.float);
  return w.int(20, ATTR.INTS).ints(8, v);
}

function node(n: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

function tensor(t: OnnxTensor): ProtoWriter {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) {
    throw new RangeError(
      `ONNX initializer "${t.name}": dims [${t.dims}] hold ${size} values but got ${t.data.length}`,
    );
  }
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return new ProtoWriter().ints(1, t.dims)
    .int(2, t.data instanceof Float32Array ? FLOAT : INT64)
    .string(8, t.name)
    .bytes(9, littleEndian(raw, t.data.BYTES_PER_ELEMENT));
}

const hostIsLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `raw_data` is little-endian: the bytes as they are on such hosts, swapped on others. */
function littleEndian(raw: Uint8Array, width: number): Uint8Array {
  if (hostIsLittleEndian) return raw;
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += width) {
    for (let j = 0; j < width; j++) out[i + j] = raw[i + width - 1 - j];
  }
  return out;
}

function valueInfo(v: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.dims) {
    const dim = typeof d === "number"
      ? new ProtoWriter().int(1, d)
      : new ProtoWriter().string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape);
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

function graph(g: OnnxGraphProto): ProtoWriter {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.message(1, node(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, tensor(t));
  for (const i of g.inputs) w.message(11, valueInfo(i));
  for (const o of g.outputs) w.message(12, valueInfo(o));
  return w;
}

/**
 * Encodes a model as an ONNX file's bytes.
 *
 * @example A one-node model (Relu on `[N, 2]`)
 * ```ts
 * import { encodeModel } from "./onnx_proto.ts";
 * import { assert } from "../../tests/assert.ts";
 *
 * const bytes = encodeModel({
 *   irVersion: 8,
 *   opset: 17,
 *   producerName: "example",
 *   producerVersion: "1",
 *   graph: {
 *     name: "relu",
 *     nodes: [{ op: "Relu", inputs: ["x"], outputs: ["y"] }],
 *     initializers: [],
 *     inputs: [{ name: "x", dims: ["N", 2] }],
 *     outputs: [{ name: "y", dims: ["N", 2] }],
 *   },
 * });
 * assert(bytes[0] === 0x08 && bytes[1] === 8); // field 1 (ir_version) = 8
 * ```
 */
export function encodeModel(m: OnnxModelProto): Uint8Array {
  const w = new ProtoWriter().int(1, m.irVersion)
    .string(2, m.producerName)
    .string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, graph(m.graph));
  w.message(8, new ProtoWriter().string(1, "").int(2, m.opset));
  for (const [k, v] of Object.entries(m.metadata ?? {})) {
    w.message(14, new ProtoWriter().string(1, k).string(2, v));
  }
  return w.finish();
}
