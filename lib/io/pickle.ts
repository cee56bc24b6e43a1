/**
 * A Python pickle reader (protocols 2 to 5, plus the simple text opcodes of 0 and 1) that
 * executes nothing: a `GLOBAL` is resolved only through an allow-list of {@link PyGlobal}s written
 * in TypeScript, and any other global is refused before anything is built.
 *
 * Python values become plain JS values: None -> null, bool -> boolean, int -> number (bigint
 * beyond ±(2^53 - 1)), float -> number, str -> string, bytes -> Uint8Array, list and tuple ->
 * Array, set and frozenset -> Array, dict -> plain object (keys converted with {@link dictKey}).
 *
 * @example A refused global
 * ```ts
 * import { PLAIN_GLOBALS, unpickle } from "./pickle.ts";
 *
 * // pickle.dumps(os.system), protocol 2: `c posix\nsystem\n.`
 * const evil = new Uint8Array([0x80, 2, 0x63, ...new TextEncoder().encode("posix\nsystem\n"), 0x2e]);
 * try {
 *   unpickle(evil, { globals: PLAIN_GLOBALS });
 * } catch (e) {
 *   console.assert((e as Error).message.includes('"posix.system"'));
 * }
 * ```
 *
 * @module
 */

import { OPCODE_NAMES } from "./_pickle_opcodes.ts";

/** A Python global (function or class) the unpickler may resolve, implemented in TypeScript. */
export interface PyGlobal {
  /** `module.name`, as written in the pickle. */
  readonly name: string;
  /** What `REDUCE` does: `f(*args)`. Absent: the global cannot be called. */
  call?(args: unknown[]): unknown;
  /** What `NEWOBJ` does: `cls.__new__(cls, *args)`. Absent: cannot be instantiated. */
  construct?(args: unknown[]): unknown;
  /** What `BUILD` does on a value this global made (`__setstate__`). */
  setState?(obj: object, state: unknown): void;
}

/** Options of {@link unpickle}. */
export interface UnpickleOptions {
  /** The allow-list: `module.name` -> implementation. Anything else is refused. */
  globals: ReadonlyMap<string, PyGlobal>;
  /** Resolves persistent ids (`PERSID`, `BINPERSID`); without it they are an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Byte offset where the pickle starts (default 0). */
  offset?: number;
}

/** The value of one pickle and the offset just past its STOP opcode. */
export interface Unpickled {
  /** The unpickled value. */
  value: unknown;
  /** Offset of the first byte after the pickle (where a following pickle would start). */
  end: number;
}

/** Error thrown for malformed or refused pickles. */
export class UnpicklingError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "UnpicklingError";
  }
}

/** Converts a Python dict key to a JS property name (ints to decimal, tuples to `(a, b)`). */
export function dictKey(k: unknown): string {
  if (typeof k === "string") return k;
  if (typeof k === "number" || typeof k === "bigint") return String(k);
  if (typeof k === "boolean") return k ? "True" : "False";
  if (k === null) return "None";
  if (Array.isArray(k)) return `(${k.map(dictKey).join(", ")}${k.length === 1 ? "," : ""})`;
  throw new UnpicklingError(`pickle: unsupported dict key of type ${describe(k)}`);
}

/** Sets `obj[key] = value` as an own property (safe for keys such as `__proto__`). */
export function setKey(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Whether `x` is a plain object (what dicts and namespaces become). */
export function isPlainObject(x: unknown): x is Record<string, unknown> {
  if (typeof x !== "object" || x === null) return false;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

function newDict(pairs: unknown): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  if (pairs === undefined) return d;
  if (isPlainObject(pairs)) {
    for (const [k, v] of Object.entries(pairs)) setKey(d, k, v);
    return d;
  }
  if (!Array.isArray(pairs)) throw new UnpicklingError(`pickle: dict() of ${describe(pairs)}`);
  for (const p of pairs) {
    if (!Array.isArray(p) || p.length !== 2) {
      throw new UnpicklingError(`pickle: dict() needs (key, value) pairs but got ${describe(p)}`);
    }
    setKey(d, dictKey(p[0]), p[1]);
  }
  return d;
}

function listOf(args: unknown[], name: string): unknown[] {
  if (args.length === 0) return [];
  if (args.length === 1 && Array.isArray(args[0])) return [...args[0]];
  throw new UnpicklingError(`pickle: ${name} needs one list argument but got ${describe(args)}`);
}

function latin1(args: unknown[]): Uint8Array {
  const [text, encoding] = args;
  if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1")) {
    throw new UnpicklingError(
      `pickle: _codecs.encode is only allowed as encode(str, "latin1") but got ${describe(args)}`,
    );
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new UnpicklingError(`pickle: _codecs.encode: "${text}" is not latin-1`);
    out[i] = c;
  }
  return out;
}

/** Every allow-listed global: only these may be called by REDUCE, NEWOBJ and BUILD. */
const KNOWN = new WeakSet<object>();

/** Builds an allow-list map from globals (also under the Python 2 module names they alias). */
export function globalsMap(list: PyGlobal[]): Map<string, PyGlobal> {
  const map = new Map<string, PyGlobal>();
  for (const g of list) {
    KNOWN.add(g);
    map.set(g.name, g);
    if (g.name.startsWith("builtins.")) map.set("__builtin__" + g.name.slice(8), g);
  }
  return map;
}

/**
 * Containers and plain-data globals, safe to allow anywhere: `collections.OrderedDict` (instance
 * attributes such as `_metadata` are dropped), `builtins.set/frozenset/bytes/bytearray/list/
 * dict/tuple`, `_codecs.encode(str, "latin1")` (protocol 2 bytes) and `argparse.Namespace` (as a
 * plain object).
 */
export const PLAIN_GLOBALS: ReadonlyMap<string, PyGlobal> = globalsMap([
  {
    name: "collections.OrderedDict",
    call: (args) => newDict(args[0]),
    setState: () => {},
  },
  { name: "builtins.dict", call: (args) => newDict(args[0]), setState: () => {} },
  { name: "builtins.list", call: (args) => listOf(args, "list") },
  { name: "builtins.tuple", call: (args) => listOf(args, "tuple") },
  { name: "builtins.set", call: (args) => listOf(args, "set") },
  { name: "builtins.frozenset", call: (args) => listOf(args, "frozenset") },
  {
    name: "builtins.bytes",
    call: (args) => args.length === 0 ? new Uint8Array(0) : latin1(args),
  },
  {
    name: "builtins.bytearray",
    call: (args) =>
      args.length === 0
        ? new Uint8Array(0)
        : args[0] instanceof Uint8Array
        ? args[0].slice()
        : latin1(args),
  },
  { name: "_codecs.encode", call: latin1 },
  {
    name: "argparse.Namespace",
    construct: () => ({}),
    call: (args) => {
      if (args.length) throw new UnpicklingError(`pickle: Namespace() takes keywords only`);
      return {};
    },
    setState: (obj, state) => {
      const dict = Array.isArray(state) ? state[0] : state;
      if (!isPlainObject(dict)) {
        throw new UnpicklingError(
          `pickle: Namespace state must be a dict but is ${describe(dict)}`,
        );
      }
      for (const [k, v] of Object.entries(dict)) setKey(obj, k, v);
    },
  },
]);

/**
 * Reads one pickle starting at `options.offset`. Throws {@link UnpicklingError} on malformed
 * input, unsupported opcodes and globals missing from `options.globals` (the message names the
 * global and says that nothing was executed).
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): Unpickled {
  return new Unpickler(bytes, options).run();
}

class Unpickler {
  #bytes: Uint8Array;
  #view: DataView;
  #pos: number;
  #opts: UnpickleOptions;
  #stack: unknown[] = [];
  #marks: number[] = [];
  #memo = new Map<number, unknown>();
  #owner = new WeakMap<object, PyGlobal>();
  #sets = new WeakSet<unknown[]>();

  constructor(bytes: Uint8Array, opts: UnpickleOptions) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = opts.offset ?? 0;
    this.#opts = opts;
    for (const g of opts.globals.values()) KNOWN.add(g);
  }

  run(): Unpickled {
    for (;;) {
      const at = this.#pos;
      const op = this.#u8();
      if (op === 0x2e) {
        const value = this.#pop();
        if (this.#stack.length || this.#marks.length) {
          throw this.#error(at, `STOP with ${this.#stack.length} more values on the stack`);
        }
        return { value, end: this.#pos };
      }
      this.#step(op, at);
    }
  }

  #error(at: number, message: string): UnpicklingError {
    return new UnpicklingError(`pickle: at byte ${at}: ${message}`);
  }

  #need(n: number): number {
    const at = this.#pos;
    if (n < 0 || at + n > this.#bytes.length) {
      throw this.#error(
        at,
        `needs ${n} more bytes but the input ends at ${this.#bytes.length} (truncated pickle?)`,
      );
    }
    this.#pos += n;
    return at;
  }

  #u8(): number {
    return this.#bytes[this.#need(1)];
  }

  #u16(): number {
    return this.#view.getUint16(this.#need(2), true);
  }

  #u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  #u64(): number {
    const v = this.#view.getBigUint64(this.#need(8), true);
    if (v > BigInt(this.#bytes.length)) {
      throw this.#error(this.#pos - 8, `length ${v} is larger than the whole input`);
    }
    return Number(v);
  }

  #raw(n: number): Uint8Array {
    const at = this.#need(n);
    return this.#bytes.subarray(at, at + n);
  }

  #utf8(n: number): string {
    return new TextDecoder().decode(this.#raw(n));
  }

  #line(): string {
    const end = this.#bytes.indexOf(0x0a, this.#pos);
    if (end < 0) throw this.#error(this.#pos, "a text argument has no end of line");
    const text = new TextDecoder().decode(this.#bytes.subarray(this.#pos, end));
    this.#pos = end + 1;
    return text;
  }

  #long(n: number): number | bigint {
    const b = this.#raw(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return toInt(v);
  }

  #push(v: unknown): void {
    this.#stack.push(v);
  }

  #base(): number {
    return this.#marks.length ? this.#marks[this.#marks.length - 1] : 0;
  }

  #pop(): unknown {
    if (this.#stack.length <= this.#base()) throw this.#error(this.#pos - 1, "stack underflow");
    return this.#stack.pop();
  }

  #top(): unknown {
    if (this.#stack.length <= this.#base()) throw this.#error(this.#pos - 1, "stack underflow");
    return this.#stack[this.#stack.length - 1];
  }

  #popMark(): unknown[] {
    const mark = this.#marks.pop();
    if (mark === undefined) throw this.#error(this.#pos - 1, "no MARK to pop to");
    return this.#stack.splice(mark);
  }

  #memoGet(i: number): unknown {
    if (!this.#memo.has(i)) throw this.#error(this.#pos - 1, `memo index ${i} was never set`);
    return this.#memo.get(i);
  }

  #global(module: string, name: string, at: number): PyGlobal {
    const qual = `${module}.${name}`;
    const g = this.#opts.globals.get(qual);
    if (g === undefined) {
      throw this.#error(
        at,
        `refusing global "${qual}": it is not on the allow-list (${
          [...this.#opts.globals.keys()].filter((k) => !k.startsWith("__builtin__")).join(", ")
        }); nothing was executed`,
      );
    }
    return g;
  }

  #made(g: PyGlobal, v: unknown): unknown {
    if (typeof v === "object" && v !== null && !this.#owner.has(v)) this.#owner.set(v, g);
    return v;
  }

  #dictSet(d: unknown, k: unknown, v: unknown, at: number): void {
    if (!isPlainObject(d)) throw this.#error(at, `SETITEM on ${describe(d)}, not a dict`);
    setKey(d, dictKey(k), v);
  }

  #step(op: number, at: number): void {
    const stack = this.#stack;
    switch (op) {
      case 0x80: { // PROTO
        const p = this.#u8();
        if (p > 5) throw this.#error(at, `unsupported pickle protocol ${p} (at most 5)`);
        return;
      }
      case 0x95: // FRAME: frames only group opcodes
        this.#u64();
        return;
      case 0x28: // MARK
        this.#marks.push(stack.length);
        return;
      case 0x30: // POP
        if (stack.length === this.#base() && this.#marks.length) this.#popMark();
        else this.#pop();
        return;
      case 0x31: // POP_MARK
        this.#popMark();
        return;
      case 0x32: // DUP
        return this.#push(this.#top());
      case 0x4e: // NONE
        return this.#push(null);
      case 0x88: // NEWTRUE
        return this.#push(true);
      case 0x89: // NEWFALSE
        return this.#push(false);
      case 0x4a: // BININT
        return this.#push(this.#view.getInt32(this.#need(4), true));
      case 0x4b: // BININT1
        return this.#push(this.#u8());
      case 0x4d: // BININT2
        return this.#push(this.#u16());
      case 0x8a: // LONG1
        return this.#push(this.#long(this.#u8()));
      case 0x8b: { // LONG4
        const n = this.#view.getInt32(this.#need(4), true);
        if (n < 0) throw this.#error(at, `LONG4 with negative length ${n}`);
        return this.#push(this.#long(n));
      }
      case 0x49: { // INT (text)
        const s = this.#line();
        if (s === "01" || s === "00") return this.#push(s === "01");
        return this.#push(parseIntText(s, () => this.#error(at, `bad INT ${JSON.stringify(s)}`)));
      }
      case 0x4c: { // LONG (text)
        const s = this.#line().replace(/L$/, "");
        return this.#push(parseIntText(s, () => this.#error(at, `bad LONG ${JSON.stringify(s)}`)));
      }
      case 0x46: { // FLOAT (text)
        const s = this.#line();
        const v = Number(s);
        if (Number.isNaN(v) && !/nan/i.test(s)) throw this.#error(at, `bad FLOAT "${s}"`);
        return this.#push(v);
      }
      case 0x47: // BINFLOAT (big-endian)
        return this.#push(this.#view.getFloat64(this.#need(8), false));
      case 0x58: // BINUNICODE
        return this.#push(this.#utf8(this.#u32()));
      case 0x8c: // SHORT_BINUNICODE
        return this.#push(this.#utf8(this.#u8()));
      case 0x8d: // BINUNICODE8
        return this.#push(this.#utf8(this.#u64()));
      case 0x54: { // BINSTRING (Python 2 str)
        const n = this.#view.getInt32(this.#need(4), true);
        return this.#push(this.#utf8(n));
      }
      case 0x55: // SHORT_BINSTRING
        return this.#push(this.#utf8(this.#u8()));
      case 0x42: // BINBYTES
        return this.#push(this.#raw(this.#u32()).slice());
      case 0x43: // SHORT_BINBYTES
        return this.#push(this.#raw(this.#u8()).slice());
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        return this.#push(this.#raw(this.#u64()).slice());
      case 0x5d: // EMPTY_LIST
      case 0x29: // EMPTY_TUPLE
        return this.#push([]);
      case 0x7d: // EMPTY_DICT
        return this.#push({});
      case 0x8f: { // EMPTY_SET
        const s: unknown[] = [];
        this.#sets.add(s);
        return this.#push(s);
      }
      case 0x6c: // LIST
      case 0x74: // TUPLE
      case 0x91: // FROZENSET
        return this.#push(this.#popMark());
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: { // TUPLE3
        const n = op - 0x84;
        if (stack.length - this.#base() < n) throw this.#error(at, "stack underflow");
        return this.#push(stack.splice(stack.length - n));
      }
      case 0x64: { // DICT
        const items = this.#popMark(), d = {};
        for (let i = 0; i + 1 < items.length; i += 2) this.#dictSet(d, items[i], items[i + 1], at);
        return this.#push(d);
      }
      case 0x61: { // APPEND
        const v = this.#pop(), list = this.#top();
        if (!Array.isArray(list)) throw this.#error(at, `APPEND to ${describe(list)}`);
        list.push(v);
        return;
      }
      case 0x65: // APPENDS
      case 0x90: { // ADDITEMS
        const items = this.#popMark(), list = this.#top();
        if (!Array.isArray(list) || (op === 0x90 && !this.#sets.has(list))) {
          throw this.#error(at, `${OPCODE_NAMES[op]} to ${describe(list)}`);
        }
        for (const v of items) list.push(v);
        return;
      }
      case 0x73: { // SETITEM
        const v = this.#pop(), k = this.#pop();
        return this.#dictSet(this.#top(), k, v, at);
      }
      case 0x75: { // SETITEMS
        const items = this.#popMark(), d = this.#top();
        if (items.length % 2) throw this.#error(at, "SETITEMS with an odd number of items");
        for (let i = 0; i < items.length; i += 2) this.#dictSet(d, items[i], items[i + 1], at);
        return;
      }
      case 0x70: // PUT (text)
        this.#memo.set(parseIndex(this.#line(), () => this.#error(at, "bad PUT")), this.#top());
        return;
      case 0x71: // BINPUT
        this.#memo.set(this.#u8(), this.#top());
        return;
      case 0x72: // LONG_BINPUT
        this.#memo.set(this.#u32(), this.#top());
        return;
      case 0x94: // MEMOIZE
        this.#memo.set(this.#memo.size, this.#top());
        return;
      case 0x67: // GET (text)
        return this.#push(
          this.#memoGet(parseIndex(this.#line(), () => this.#error(at, "bad GET"))),
        );
      case 0x68: // BINGET
        return this.#push(this.#memoGet(this.#u8()));
      case 0x6a: // LONG_BINGET
        return this.#push(this.#memoGet(this.#u32()));
      case 0x63: { // GLOBAL
        const module = this.#line(), name = this.#line();
        return this.#push(this.#global(module, name, at));
      }
      case 0x93: { // STACK_GLOBAL
        const name = this.#pop(), module = this.#pop();
        if (typeof module !== "string" || typeof name !== "string") {
          throw this.#error(
            at,
            `STACK_GLOBAL needs two strings but got ${describe([module, name])}`,
          );
        }
        return this.#push(this.#global(module, name, at));
      }
      case 0x50: // PERSID (text)
        return this.#push(this.#persistent(this.#line(), at));
      case 0x51: // BINPERSID
        return this.#push(this.#persistent(this.#pop(), at));
      case 0x52: { // REDUCE
        const args = this.#pop(), f = this.#pop();
        if (!KNOWN.has(f as object) || !(f as PyGlobal).call || !Array.isArray(args)) {
          throw this.#error(
            at,
            `REDUCE needs a callable global and a tuple but got ${describe(f)}(${describe(args)})`,
          );
        }
        const g = f as PyGlobal;
        return this.#push(this.#made(g, g.call!(args)));
      }
      case 0x81: // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = op === 0x92 ? this.#pop() : {};
        const args = this.#pop(), cls = this.#pop() as PyGlobal;
        if (!KNOWN.has(cls) || !cls.construct || !Array.isArray(args)) {
          throw this.#error(at, `NEWOBJ needs a class global but got ${describe(cls)}`);
        }
        if (isPlainObject(kwargs) && Object.keys(kwargs).length) {
          throw this.#error(at, `NEWOBJ_EX of ${cls.name} with keyword arguments`);
        }
        return this.#push(this.#made(cls, cls.construct!(args)));
      }
      case 0x62: { // BUILD
        const state = this.#pop(), obj = this.#top();
        const g = typeof obj === "object" && obj !== null ? this.#owner.get(obj) : undefined;
        if (!g?.setState) {
          throw this.#error(at, `BUILD (setting the state) of ${g ? g.name : describe(obj)}`);
        }
        g.setState(obj as object, state);
        return;
      }
      default:
        throw this.#error(
          at,
          `unsupported opcode 0x${op.toString(16).padStart(2, "0")} (${
            OPCODE_NAMES[op] ?? "unknown"
          })`,
        );
    }
  }

  #persistent(pid: unknown, at: number): unknown {
    if (!this.#opts.persistentLoad) {
      throw this.#error(at, `persistent id ${describe(pid)} but no persistent loader`);
    }
    return this.#opts.persistentLoad(pid);
  }
}

function toInt(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function parseIntText(s: string, fail: () => Error): number | bigint {
  if (!/^[+-]?\d+$/.test(s)) throw fail();
  return toInt(BigInt(s));
}

function parseIndex(s: string, fail: () => Error): number {
  if (!/^\d+$/.test(s)) throw fail();
  return Number(s);
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "None";
  if (Array.isArray(v)) {
    return `[${v.slice(0, 4).map(describe).join(", ")}${v.length > 4 ? ", ..." : ""}]`;
  }
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "..." : v);
  if (typeof v === "object" && KNOWN.has(v)) return (v as PyGlobal).name;
  if (isPlainObject(v)) return "dict";
  if (typeof v === "object") return v.constructor?.name ?? "object";
  return String(v);
}
