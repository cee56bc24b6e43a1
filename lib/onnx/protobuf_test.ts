import { ProtoWriter } from "./protobuf.ts";
import { assertEquals, assertThrows } from "../../tests/assert.ts";

const varint = (v: number | bigint) => Array.from(new ProtoWriter().int(1, v).finish().slice(1));

Deno.test("protobuf varints: 7 bits a byte, low first; negatives as ten-byte two's complement", () => {
  assertEquals(varint(0), [0]);
  assertEquals(varint(127), [0x7f]);
  assertEquals(varint(128), [0x80, 0x01]);
  assertEquals(varint(300), [0xac, 0x02]);
  assertEquals(varint(2 ** 32), [0x80, 0x80, 0x80, 0x80, 0x10]);
  assertEquals(varint(2 ** 53 - 1), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]);
  assertEquals(varint(-1), [...Array(9).fill(0xff), 0x01]);
  assertEquals(varint(2n ** 63n - 1n), [...Array(8).fill(0xff), 0x7f]);
  assertThrows(() => varint(1.5), "needs an integer but got 1.5");
});

Deno.test("protobuf fields: tags, fixed32 floats, unpacked repeats, nested lengths", () => {
  // field 2 float 1.0: tag 0x15, then 00 00 80 3f.
  assertEquals(Array.from(new ProtoWriter().float(2, 1).finish()), [0x15, 0, 0, 0x80, 0x3f]);
  assertEquals(Array.from(new ProtoWriter().ints(8, [1, 2]).finish()), [0x40, 1, 0x40, 2]);
  // A field number above 15 takes a two-byte tag: (20 << 3) | 0 = 160.
  assertEquals(Array.from(new ProtoWriter().int(20, 7).finish()), [0xa0, 0x01, 7]);
  const big = new Uint8Array(200).fill(9);
  const inner = new ProtoWriter().bytes(9, big);
  const outer = new ProtoWriter().message(5, inner).finish();
  assertEquals(Array.from(outer.slice(0, 6)), [0x2a, 203, 0x01, 0x4a, 200, 0x01]);
  assertEquals(outer.length, 3 + 203);
  assertEquals(outer.at(-1), 9);
});
