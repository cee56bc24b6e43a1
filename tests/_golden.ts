/**
 * What the PyTorch golden tests share: reading a fixtures folder's safetensors files, and the
 * tolerance of a result against a float64 reference, in multiples of PyTorch's own float32
 * error of the same computation (stored beside the reference as `err.<name>`).
 *
 * @module
 */
import { readSafetensors, type StateDict } from "../mod.ts";
import { assert, assertClose } from "./assert.ts";

/** A reader of the safetensors files in `dir`: `read(name)` is the tensors of `dir/name`. */
export function goldenReader(dir: URL): (name: string) => Promise<StateDict> {
  return async (name) => readSafetensors(await Deno.readFile(new URL(name, dir))).tensors;
}

const showRatios = Deno.env.get("FCN_GOLDEN_RATIOS") === "1";

/**
 * Asserts `max|got - ref| <= k * max(err, 2^-24 * max|ref|)`, where `ref` is `golden[key]` and
 * `err` is `golden["err." + key]`: within `k` times PyTorch's float32 error of the reference,
 * never tighter than float32 rounding of its largest value. `FCN_GOLDEN_RATIOS=1` prints
 * `max|got - ref|` in units of that noise.
 */
export function assertNearGolden(
  got: ArrayLike<number>,
  golden: StateDict,
  key: string,
  { k, name }: { k: number; name: string },
): void {
  const ref = golden[key];
  const err = golden[`err.${key}`];
  assert(ref && err, `${name}: the fixtures lack ${key} or err.${key}; rerun the dev script`);
  const data = ref.data as Float32Array;
  let max = 0;
  for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]));
  const noise = Math.max(err.data[0], 2 ** -24 * max);
  if (showRatios) {
    let worst = 0;
    for (let i = 0; i < data.length; i++) worst = Math.max(worst, Math.abs(got[i] - data[i]));
    console.log(`${name}: ${(worst / noise).toFixed(2)}`);
  }
  assertClose(got, data, { atol: k * noise, rtol: 0, name });
}
