/**
 * `OnnxGraph`: builds an ONNX graph node by node. Values are named strings; a model's tensors
 * become initializers named by their state-dict keys (read from the device only when the graph
 * is finished), small int64 constants are shared.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type {
  AttrValue,
  OnnxGraphProto,
  OnnxNode,
  OnnxTensor,
  OnnxValueInfo,
} from "./onnx_proto.ts";

/**
 * A graph under construction.
 *
 * @example Relu of an input
 * ```ts
 * import { OnnxGraph } from "./graph.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 *
 * const g = new OnnxGraph();
 * const y = g.op("Relu", ["input"]);
 * const proto = await g.finish("relu", [{ name: "input", dims: ["N", 4] }], [{ value: y, name: "out", dims: ["N", 4] }]);
 * assertEquals(proto.nodes.map((n) => n.op), ["Relu", "Identity"]);
 * ```
 */
export class OnnxGraph {
  readonly #nodes: OnnxNode[] = [];
  readonly #names: Map<Tensor, string>;
  readonly #weights = new Map<Tensor, string>();
  readonly #constants = new Map<string, OnnxTensor>();
  #count = 0;

  /** `names` gives model tensors their initializer names (state-dict keys). */
  constructor(names: Map<Tensor, string> = new Map()) {
    this.#names = names;
  }

  /** Appends `op(inputs)` with one output and returns the output's name. */
  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>): string {
    const out = `${op}_${this.#count++}`;
    this.#nodes.push({ op, inputs, outputs: [out], name: out, attrs });
    return out;
  }

  /** A model tensor (weight, bias, running statistic) as an initializer. */
  weight(t: Tensor): string {
    let name = this.#weights.get(t);
    if (name === undefined) {
      name = this.#names.get(t) ?? `tensor_${t.id}`;
      this.#weights.set(t, name);
    }
    return name;
  }

  /** An int64 constant `[values.length]` (shared between uses). */
  ints(values: readonly number[]): string {
    const name = `const_[${values.join(",")}]`;
    if (!this.#constants.has(name)) {
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      this.#constants.set(name, { name, dims: [values.length], data });
    }
    return name;
  }

  /**
   * The finished graph: each output is renamed by an Identity node; the weights are read from
   * their devices (float32).
   */
  async finish(
    name: string,
    inputs: readonly OnnxValueInfo[],
    outputs: readonly (OnnxValueInfo & { value: string })[],
  ): Promise<OnnxGraphProto> {
    const nodes = [
      ...this.#nodes,
      ...outputs.map((o) => ({ op: "Identity", inputs: [o.value], outputs: [o.name] })),
    ];
    const initializers: OnnxTensor[] = [...this.#constants.values()];
    for (const [t, tname] of this.#weights) {
      const data = await t.toArray();
      if (!(data instanceof Float32Array)) {
        throw new TypeError(`ONNX export: "${tname}" is ${t.dtype}, expected float32`);
      }
      initializers.push({ name: tname, dims: t.shape, data });
    }
    return {
      name,
      nodes,
      initializers,
      inputs,
      outputs: outputs.map(({ name, dims }) => ({ name, dims })),
    };
  }
}
