import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { bytesOf, expected, fixture, le, normalize } from "./_helpers_test.ts";
import { globalsMap, PLAIN_GLOBALS, unpickle } from "./pickle.ts";

const load = (bytes: Uint8Array) => unpickle(bytes, { globals: PLAIN_GLOBALS }).value;

for (const protocol of [2, 3, 4, 5]) {
  Deno.test(`unpickle reads Python's protocol ${protocol} pickle of plain data`, async () => {
    const name = `plain.p${protocol}.pkl`;
    const value = load(await fixture(name)) as Record<string, unknown>;
    assertEquals(normalize(value), (await expected())[name]);
    const shared = value.shared as unknown[][];
    assert(shared[0] === shared[1], "memoised list is one object");
    assertEquals(typeof (value.big as unknown[])[0], "bigint");
    assertEquals(typeof (value.ints as unknown[])[10], "number"); // 2^53 - 1 stays a number
  });
}

Deno.test("unpickle refuses globals outside the allow-list, before executing anything", () => {
  let called = 0;
  const spy = globalsMap([{ name: "test.spy", call: () => called++ }]);
  // protocol 2: GLOBAL "os system", "echo pwned", TUPLE1, REDUCE, STOP
  const osSystem = bytesOf(0x80, 2, "cos\nsystem\n", 0x8c, 10, "echo pwned", 0x85, "R.");
  const err = assertThrows(
    () => unpickle(osSystem, { globals: spy }),
    'refusing global "os.system"',
  );
  assert(err.message.includes("nothing was executed"), err.message);
  assert(err.message.includes("at byte 2"), err.message); // the GLOBAL opcode, before REDUCE
  // protocol 4: STACK_GLOBAL "builtins" "eval" called with an expression
  const evalCall = bytesOf(
    0x80,
    4,
    0x8c,
    8,
    "builtins",
    0x8c,
    4,
    "eval",
    0x93,
    0x8c,
    11,
    "print('hi')",
    0x85,
    "R.",
  );
  assertThrows(() => unpickle(evalCall, { globals: spy }), 'refusing global "builtins.eval"');
  assertThrows(() => load(bytesOf(0x80, 2, "c__builtin__\neval\n.")), '"__builtin__.eval"');
  assertThrows(() => load(bytesOf(0x80, 2, "cposix\nsystem\n.")), '"posix.system"');
  assertThrows(() => load(bytesOf(0x80, 2, "ctorch\nload\n.")), '"torch.load"');
  assertEquals(called, 0);
  // the allow-listed spy is what REDUCE calls
  assertEquals(unpickle(bytesOf(0x80, 2, "ctest\nspy\n)R."), { globals: spy }).value, 0);
  assertEquals(called, 1);
});

Deno.test("unpickle keeps __proto__ keys as data (no prototype pollution)", () => {
  // {"__proto__": {"polluted": 1}} via EMPTY_DICT, SETITEM
  const bytes = bytesOf(
    0x80,
    2,
    "}",
    0x8c,
    9,
    "__proto__",
    "}",
    0x8c,
    8,
    "polluted",
    "K",
    1,
    "ss.",
  );
  const value = load(bytes) as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(value), Object.prototype);
  assertEquals(Object.keys(value), ["__proto__"]);
  assertEquals(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("unpickle reads consecutive pickles from an offset", () => {
  const two = bytesOf(0x80, 2, "K", 7, ".", 0x80, 2, "X", le(2, 4), "ok.");
  const first = unpickle(two, { globals: PLAIN_GLOBALS });
  assertEquals(first, { value: 7, end: 5 });
  assertEquals(unpickle(two, { globals: PLAIN_GLOBALS, offset: first.end }), {
    value: "ok",
    end: 15,
  });
});

Deno.test("unpickle reads the text opcodes INT, LONG, FLOAT, PUT and GET", () => {
  const text = bytesOf("(I42\nI01\nL123456789012345678901L\nF0.25\np0\ng0\nl.");
  assertEquals(normalize(load(text)), [42, true, { bigint: "123456789012345678901" }, 0.25, 0.25]);
});

Deno.test("unpickle reports malformed pickles", () => {
  const cases: [Uint8Array, string][] = [
    [
      bytesOf(0x80, 2, "X", le(100, 4), "abc"),
      "needs 100 more bytes but the input ends at 10 (truncated",
    ],
    [bytesOf(0x80, 2, "K"), "truncated"],
    [bytesOf(0x80, 6, "N."), "unsupported pickle protocol 6"],
    [bytesOf(0x80, 2, 0x82, 1, "."), "unsupported opcode 0x82 (EXT1)"],
    [bytesOf(0x80, 2, 0xff), "unsupported opcode 0xff (unknown)"],
    [bytesOf(0x80, 2, "."), "stack underflow"],
    [bytesOf(0x80, 2, "h", 3, "."), "memo index 3 was never set"],
    [bytesOf(0x80, 2, "}K", 1, "R."), "REDUCE needs a callable global"],
    [bytesOf(0x80, 2, "K", 1, "K", 2, "a."), "APPEND to 1"],
    [bytesOf(0x80, 2, "NN."), "STOP with 1 more values"],
    [bytesOf(0x80, 2, "K", 1, 0x51, "."), "no persistent loader"],
    [
      bytesOf(0x80, 2, "K", 1, "}b."),
      "BUILD (setting the state) of 1",
    ],
    [
      bytesOf(0x80, 2, "c_codecs\nencode\nX", le(1, 4), "aX", le(4, 4), "utf8", 0x86, "R."),
      "only allowed as encode",
    ],
  ];
  for (const [bytes, message] of cases) {
    try {
      load(bytes);
    } catch (e) {
      assert(
        (e as Error).message.includes(message),
        `"${message}" not in: ${(e as Error).message}`,
      );
      continue;
    }
    throw new Error(`no error for the case expecting "${message}"`);
  }
});
