import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { bytesOf, expected, fixture, le, normalize } from "./_helpers_test.ts";
import type { StateDict } from "./host_tensor.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";

/** A safetensors file from a header object and the data section. */
function build(header: unknown, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  return bytesOf(le(json.length, 8), json, data);
}

Deno.test("readSafetensors reads the reference writer's file (every dtype, metadata)", async () => {
  const want = (await expected())["state_dict.safetensors"];
  const got = readSafetensors(await fixture("state_dict.safetensors"));
  assertEquals(normalize(got), want);
  assertEquals(got.tensors.half.data[2], 0.333251953125); // f16 nearest to 1/3
  assertEquals(got.tensors.bf16.data[2], 3.140625);
  assertEquals(got.tensors.idx.dtype, "i32");
});

Deno.test("writeSafetensors reproduces the reference writer byte for byte", async () => {
  const file = await fixture("f32_i32.safetensors");
  const { tensors, metadata } = readSafetensors(file);
  assertEquals(normalize({ tensors, metadata }), (await expected())["f32_i32.safetensors"]);
  assertEquals(writeSafetensors(tensors, metadata), file);
});

Deno.test("writeSafetensors -> readSafetensors round trip, 8-byte aligned header", () => {
  const dict: StateDict = {
    "conv.weight": {
      dtype: "f32",
      shape: [2, 1, 1, 3],
      data: new Float32Array([1, -2, 3.5, 0, 1e-30, -0]),
    },
    labels: { dtype: "i32", shape: [4], data: new Int32Array([0, -1, 2147483647, -2147483648]) },
    scalar: { dtype: "f32", shape: [], data: new Float32Array([42]) },
    empty: { dtype: "f32", shape: [0, 3], data: new Float32Array(0) },
    __proto__x: { dtype: "i32", shape: [1], data: new Int32Array([9]) },
  };
  Object.defineProperty(dict, "__proto__", {
    value: { dtype: "i32", shape: [1], data: new Int32Array([5]) },
    enumerable: true,
  });
  const bytes = writeSafetensors(dict, { epoch: "3", note: "ü" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assertEquals((8 + n) % 8, 0);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  assert(header.startsWith('{"__metadata__":{"epoch":"3","note":"ü"}'), header);
  assert(/} *$/.test(header) && header.trimEnd().length <= n, "padded with spaces");
  const back = readSafetensors(bytes);
  assertEquals(back.metadata, { epoch: "3", note: "ü" });
  assertEquals(normalize(back.tensors), normalize(dict));
  assertEquals(Object.getPrototypeOf(back.tensors), Object.prototype);
  assertEquals(back.tensors.labels.data instanceof Int32Array, true);
  assertEquals(readSafetensors(writeSafetensors({})).tensors, {});
});

Deno.test("readSafetensors converts F16/BF16/F64/I64/I32/I16/I8/U8/BOOL", () => {
  const f16 = bytesOf(le(0x3c00, 2), le(0xc000, 2), le(0x0001, 2), le(0x7c00, 2)); // 1 -2 2^-24 inf
  const bf16 = bytesOf(le(0x3f80, 2), le(0xc0a0, 2)); // 1 -5
  const f64 = new Uint8Array(new Float64Array([0.1, -2]).buffer);
  const i64 = bytesOf(le(5, 8), new Uint8Array(8).fill(0xff)); // 5 -1
  const i16 = bytesOf(le(0xfffe, 2)); // -2
  const data = bytesOf(f16, bf16, f64, i64, i16, 0xfd, 200, 0, 1);
  let at = 0;
  const span = (n: number) => [at, at += n];
  const header = {
    f16: { dtype: "F16", shape: [2, 2], data_offsets: span(8) },
    bf16: { dtype: "BF16", shape: [2], data_offsets: span(4) },
    f64: { dtype: "F64", shape: [2], data_offsets: span(16) },
    i64: { dtype: "I64", shape: [2], data_offsets: span(16) },
    i16: { dtype: "I16", shape: [1], data_offsets: span(2) },
    i8: { dtype: "I8", shape: [1], data_offsets: span(1) },
    u8: { dtype: "U8", shape: [1], data_offsets: span(1) },
    bool: { dtype: "BOOL", shape: [2], data_offsets: span(2) },
  };
  const { tensors: t, metadata } = readSafetensors(build(header, data));
  assertEquals(metadata, {});
  assertEquals(Array.from(t.f16.data), [1, -2, 2 ** -24, Infinity]);
  assertEquals(t.f16.shape, [2, 2]);
  assertEquals(Array.from(t.bf16.data), [1, -5]);
  assertEquals(Array.from(t.f64.data), [Math.fround(0.1), -2]);
  assertEquals([t.i64.dtype, Array.from(t.i64.data)], ["i32", [5, -1]]);
  assertEquals([t.i16.data[0], t.i8.data[0], t.u8.data[0]], [-2, -3, 200]);
  assertEquals([t.bool.dtype, Array.from(t.bool.data)], ["i32", [0, 1]]);
});

Deno.test("readSafetensors rejects malformed files with messages naming the values", () => {
  const f32 = (shape: number[], offsets: number[]) => ({
    w: { dtype: "F32", shape, data_offsets: offsets },
  });
  const data8 = new Uint8Array(8);
  const cases: [Uint8Array, string][] = [
    [new Uint8Array(5), "file is 5 bytes, shorter than the 8-byte header length"],
    [bytesOf(le(1000, 8), "{}"), "header length 1000 runs past the end of the 10-byte file"],
    [bytesOf(le(2 ** 40, 8)), "header length 1099511627776 runs past"],
    [bytesOf(le(5, 8), "{bad}"), "not valid UTF-8 JSON"],
    [build([1, 2]), "header must be a JSON object but is [1,2]"],
    [
      build({ w: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, data8),
      'tensor "w" has unknown dtype "F8_E4M3"',
    ],
    [
      build({ w: { shape: [1], data_offsets: [0, 4] } }, data8),
      'tensor "w" has unknown dtype undefined',
    ],
    [
      build(f32([-1], [0, 4]), data8),
      'tensor "w": shape must be a list of non-negative integers but is [-1]',
    ],
    [build(f32([1], [4, 0]), data8), 'tensor "w": data_offsets must be [begin, end]'],
    [
      build(f32([4], [0, 16]), data8),
      'tensor "w": data_offsets [0, 16] run past the 8-byte data section',
    ],
    [
      build(f32([3], [0, 8]), data8),
      'tensor "w": data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12',
    ],
    [
      build({ ...f32([2], [0, 8]), v: { dtype: "I32", shape: [1], data_offsets: [4, 8] } }, data8),
      'tensor "v" data_offsets [4, 8] overlap tensor "w" [0, 8]',
    ],
    [build({ __metadata__: { epoch: 3 } }), '__metadata__ "epoch" must be a string but is 3'],
    [build({ __metadata__: [] }), "__metadata__ must be an object"],
    [build({ w: 3 }), 'tensor "w" must be an object but is 3'],
    [
      build({ w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, le(2 ** 33, 8)),
      'tensor "w": i64 element 0 is 8589934592, outside the i32 range',
    ],
  ];
  for (const [bytes, message] of cases) assertThrows(() => readSafetensors(bytes), message);
});

Deno.test("writeSafetensors rejects inconsistent tensors", () => {
  const t = (shape: number[], data: Float32Array | Int32Array, dtype: "f32" | "i32" = "f32") => ({
    x: { dtype, shape, data },
  });
  assertThrows(
    () => writeSafetensors(t([3], new Float32Array(2))),
    'tensor "x" has shape [3] (3 elements) but 2 values',
  );
  assertThrows(
    () => writeSafetensors(t([2], new Int32Array(2))),
    'tensor "x" must be f32 with a Float32Array',
  );
  assertThrows(
    () => writeSafetensors(t([-2], new Float32Array(0))),
    'tensor "x" has a bad shape [-2]',
  );
  assertThrows(
    () =>
      writeSafetensors({ __metadata__: { dtype: "f32", shape: [], data: new Float32Array(1) } }),
    '"__metadata__" is reserved',
  );
  assertThrows(
    () => writeSafetensors({}, { n: 1 as unknown as string }),
    'metadata "n" must be a string',
  );
});

Deno.test("readSafetensors returns aligned f32 tensors as views of the file (copy: true copies)", () => {
  const bytes = writeSafetensors({
    w: { dtype: "f32", shape: [3], data: new Float32Array([1, 2, 3]) },
  });
  const view = readSafetensors(bytes).tensors.w.data;
  assertEquals(view.buffer, bytes.buffer);
  assertEquals([...view], [1, 2, 3]);
  const copy = readSafetensors(bytes, { copy: true }).tensors.w.data;
  assert(copy.buffer !== bytes.buffer, "copy: true gives an independent array");
  assertEquals([...copy], [1, 2, 3]);
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1); // misaligned: must copy
  const moved = readSafetensors(shifted.subarray(1)).tensors.w.data;
  assert(moved.buffer !== shifted.buffer);
  assertEquals([...moved], [1, 2, 3]);
});
