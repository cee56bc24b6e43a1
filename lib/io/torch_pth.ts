/**
 * Reading `torch.save` files without Python: the zip format (PyTorch >= 1.6: `<prefix>/data.pkl`
 * plus one `<prefix>/data/<key>` entry per storage, optional `<prefix>/byteorder`) and the legacy
 * format (`_use_new_zipfile_serialization=False`: magic number, protocol and system-info pickles,
 * the object pickle, the storage keys, then raw storages).
 *
 * The pickle is read with {@link unpickle} and an allow-list of globals ({@link TORCH_GLOBAL_NAMES}):
 * tensor and parameter rebuilders, storage classes, `torch.Size`, `torch.device` and the plain
 * containers; any other global throws before anything is built, so nothing is ever executed.
 *
 * @example Loading weights
 * ```ts ignore
 * import { extractStateDict, readTorchCheckpoint } from "./torch_pth.ts";
 *
 * const checkpoint = await readTorchCheckpoint(await Deno.readFile("fcn8s.pth"));
 * const weights = extractStateDict(checkpoint); // { "conv1.weight": HostTensor, ... }
 * ```
 *
 * @module
 */

import { decode, ELEMENT_SIZE, type FileDType, hostDType } from "./_decode.ts";
import type { HostTensor, StateDict } from "./host_tensor.ts";
import {
  describe,
  globalsMap,
  isPlainObject,
  PLAIN_GLOBALS,
  type PyGlobal,
  setKey,
  unpickle,
  UnpicklingError,
} from "./pickle.ts";
import { ZipReader } from "./zip.ts";

/** `torch.<X>Storage` classes and the element type each holds. */
const STORAGE_TYPES: Readonly<Record<string, FileDType>> = {
  FloatStorage: "f32",
  DoubleStorage: "f64",
  HalfStorage: "f16",
  BFloat16Storage: "bf16",
  LongStorage: "i64",
  IntStorage: "i32",
  ShortStorage: "i16",
  CharStorage: "i8",
  ByteStorage: "u8",
  BoolStorage: "bool",
  UntypedStorage: "u8",
};

/** The pickled magic number that opens a legacy-format file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** A storage referenced by persistent id; `bytes` arrive before (zip) or after (legacy) the pickle. */
class StorageRef {
  bytes?: Uint8Array;
  #decoded?: Float32Array | Int32Array;

  constructor(
    readonly key: string,
    readonly dtype: FileDType,
    readonly numel: number,
    readonly littleEndian: boolean,
    /** For legacy storage views: the storage viewed and the element offset into it. */
    readonly base?: { root: StorageRef; offset: number },
  ) {}

  /** The whole storage as f32/i32 (decoded once; views resolve to their root). */
  data(): { data: Float32Array | Int32Array; offset: number } {
    if (this.base) return { data: this.base.root.data().data, offset: this.base.offset };
    if (!this.#decoded) {
      const need = this.numel * ELEMENT_SIZE[this.dtype];
      if (!this.bytes || this.bytes.length < need) {
        throw new Error(
          `torch: storage "${this.key}" has ${
            this.bytes?.length ?? 0
          } bytes but holds ${this.numel} ${this.dtype} elements (${need} bytes)`,
        );
      }
      this.#decoded = decode(this.bytes.subarray(0, need), this.dtype, {
        littleEndian: this.littleEndian,
        what: `torch: storage "${this.key}"`,
        copy: false, // a view of the file's bytes where aligned (torch aligns records to 64)
      });
    }
    return { data: this.#decoded, offset: 0 };
  }
}

/** A tensor built during unpickling whose data is copied out of its storage afterwards. */
interface PendingTensor {
  tensor: HostTensor;
  storage: StorageRef;
  offset: number;
  stride: number[];
}

/** Names of the globals a checkpoint may use (besides {@link PLAIN_GLOBALS}). */
export const TORCH_GLOBAL_NAMES: readonly string[] = [
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_tensor",
  "torch._utils._rebuild_parameter",
  "torch._utils._rebuild_parameter_with_state",
  "torch._tensor._rebuild_from_type_v2",
  "torch.Tensor",
  "torch.nn.parameter.Parameter",
  "torch.Size",
  "torch.device",
  ...Object.keys(STORAGE_TYPES).map((s) => `torch.${s}`),
  ...Object.keys(STORAGE_TYPES).map((s) => `torch.cuda.${s}`),
];

/** The allow-list for one load: plain containers plus torch rebuilders feeding `pending`. */
function torchGlobals(pending: PendingTensor[]): {
  globals: Map<string, PyGlobal>;
  storageType: Map<PyGlobal, FileDType>;
} {
  const rebuild = (args: unknown[]) => rebuildTensor(args, pending);
  const passData = (args: unknown[]) => args[0];
  const list: PyGlobal[] = [
    ...new Set(PLAIN_GLOBALS.values()),
    { name: "torch._utils._rebuild_tensor_v2", call: rebuild },
    { name: "torch._utils._rebuild_tensor", call: rebuild },
    { name: "torch._utils._rebuild_parameter", call: passData },
    { name: "torch._utils._rebuild_parameter_with_state", call: passData },
    {
      name: "torch._tensor._rebuild_from_type_v2",
      call: ([func, _type, args]) => {
        const f = func as PyGlobal;
        if (!globals.has(f?.name) || globals.get(f.name) !== f || !f.call || !Array.isArray(args)) {
          throw new UnpicklingError(`torch: _rebuild_from_type_v2 of ${describe(func)}`);
        }
        return f.call(args);
      },
    },
    { name: "torch.Tensor" },
    { name: "torch.nn.parameter.Parameter" },
    {
      name: "torch.Size",
      call: ([dims]) => {
        if (!Array.isArray(dims)) throw new UnpicklingError(`torch: Size(${describe(dims)})`);
        return [...dims];
      },
    },
    { name: "torch.device", call: (args) => args.filter((a) => a !== null).join(":") },
  ];
  const storageType = new Map<PyGlobal, FileDType>();
  for (const [cls, dtype] of Object.entries(STORAGE_TYPES)) {
    for (const name of [`torch.${cls}`, `torch.cuda.${cls}`]) {
      const g: PyGlobal = { name };
      storageType.set(g, dtype);
      list.push(g);
    }
  }
  const globals = globalsMap(list);
  return { globals, storageType };
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)` -> HostTensor (data later). */
function rebuildTensor(args: unknown[], pending: PendingTensor[]): HostTensor {
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) {
    throw new UnpicklingError(`torch: a tensor's storage is ${describe(storage)}, not a storage`);
  }
  if (
    !isCount(offset) || !Array.isArray(size) || !size.every(isCount) || !Array.isArray(stride) ||
    !stride.every(isCount) || size.length !== stride.length
  ) {
    throw new UnpicklingError(
      `torch: bad tensor layout: offset ${describe(offset)}, size ${describe(size)}, stride ${
        describe(stride)
      }`,
    );
  }
  const tensor: HostTensor = {
    dtype: hostDType(storage.dtype),
    shape: size as number[],
    data: hostDType(storage.dtype) === "f32" ? new Float32Array(0) : new Int32Array(0),
  };
  pending.push({ tensor, storage, offset, stride: stride as number[] });
  return tensor;
}

/**
 * Copies every pending tensor out of its storage, contiguously (row-major). A tensor that is the
 * only user of a whole storage takes the decoded storage itself: a view of the file's bytes for
 * aligned f32/i32 storages in host byte order (no copy), else the decoded copy.
 */
function fillTensors(pending: PendingTensor[]): void {
  const users = new Map<StorageRef, number>();
  for (const { storage } of pending) {
    const root = storage.base?.root ?? storage;
    users.set(root, (users.get(root) ?? 0) + 1);
  }
  for (const { tensor, storage, offset, stride } of pending) {
    const { data: src, offset: base } = storage.data();
    const shape = tensor.shape;
    const n = shape.reduce((a, b) => a * b, 1);
    const last = n === 0 ? -1 : shape.reduce((acc, s, d) => acc + (s - 1) * stride[d], 0);
    const start = base + offset;
    if (n > 0 && start + last >= storage.numel + base) {
      throw new RangeError(
        `torch: tensor of shape [${shape}] strides [${stride}] at offset ${offset} reaches element ${
          offset + last
        } of storage "${storage.key}", which holds ${storage.numel}`,
      );
    }
    const contiguous = isContiguous(shape, stride);
    if (contiguous && start === 0 && n === src.length && users.get(storage) === 1) {
      tensor.data = src; // the only view of a whole storage: no second copy
      continue;
    }
    const out = src instanceof Float32Array ? new Float32Array(n) : new Int32Array(n);
    if (contiguous) out.set(src.subarray(start, start + n));
    else gather(src, start, shape, stride, out);
    tensor.data = out;
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** out[i] = src[start + Σ idx_d * stride_d] in row-major order of `shape`. */
function gather(
  src: Float32Array | Int32Array,
  start: number,
  shape: number[],
  stride: number[],
  out: Float32Array | Int32Array,
): void {
  const nd = shape.length, idx = new Array(nd).fill(0);
  let p = start;
  for (let i = 0; i < out.length; i++) {
    out[i] = src[p];
    for (let d = nd - 1; d >= 0; d--) {
      p += stride[d];
      if (++idx[d] < shape[d]) break;
      p -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
}

function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/**
 * Reads a `torch.save` file (zip or legacy format) into plain JS values: tensors become
 * {@link HostTensor}s (contiguous, floats as f32, integers and bools as i32; a tensor that is a
 * whole aligned f32/i32 storage is a view of `bytes`, others are copies), dicts plain
 * objects, tuples and lists arrays, `argparse.Namespace` a plain object, ints beyond 2^53 bigint.
 * Throws an Error saying what is wrong for malformed files and refused globals.
 */
export async function readTorchCheckpoint(bytes: Uint8Array): Promise<unknown> {
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b) {
    return await readZipFormat(bytes);
  }
  if (bytes.length >= 2 && bytes[0] === 0x80) return readLegacyFormat(bytes);
  const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  throw new Error(
    `torch: not a torch.save file: expected a zip archive ("PK") or a pickle (0x80) but it starts with [${head}]`,
  );
}

async function readZipFormat(bytes: Uint8Array): Promise<unknown> {
  const zip = new ZipReader(bytes);
  const pkl = [...zip.entries.keys()].find((n) => /^([^/]*\/)?data\.pkl$/.test(n));
  if (pkl === undefined) {
    throw new Error(
      `torch: zip archive has no "<folder>/data.pkl" (entries: ${
        [...zip.entries.keys()].slice(0, 8).join(", ")
      })`,
    );
  }
  const prefix = pkl.slice(0, -"data.pkl".length);
  let littleEndian = true;
  if (zip.entries.has(prefix + "byteorder")) {
    const order = new TextDecoder().decode(await zip.read(prefix + "byteorder")).trim();
    if (order !== "little" && order !== "big") {
      throw new Error(`torch: byteorder is "${order}", expected "little" or "big"`);
    }
    littleEndian = order === "little";
  }
  const pending: PendingTensor[] = [];
  const { globals, storageType } = torchGlobals(pending);
  const storages = new Map<string, StorageRef>();
  const files = new Map<string, Uint8Array>();
  for (const name of zip.entries.keys()) {
    if (name.startsWith(prefix + "data/")) {
      files.set(name.slice(prefix.length + 5), await zip.read(name));
    }
  }
  const persistentLoad = (pid: unknown) => {
    const [kind, type, key, _location, numel] = Array.isArray(pid) ? pid : [];
    const dtype = storageType.get(type as PyGlobal);
    if (kind !== "storage" || dtype === undefined || typeof key !== "string" || !isCount(numel)) {
      throw new UnpicklingError(
        `torch: persistent id ${
          describe(pid)
        } is not ("storage", <torch storage class>, key, location, numel)`,
      );
    }
    let ref = storages.get(key);
    if (!ref) {
      const data = files.get(key);
      if (!data) throw new Error(`torch: storage "${key}" has no "${prefix}data/${key}" entry`);
      ref = new StorageRef(key, dtype, numel, littleEndian);
      ref.bytes = data;
      storages.set(key, ref);
    }
    return ref;
  };
  const { value } = unpickle(await zip.read(pkl), { globals, persistentLoad });
  fillTensors(pending);
  return value;
}

function readLegacyFormat(bytes: Uint8Array): unknown {
  const magic = unpickle(bytes, { globals: PLAIN_GLOBALS });
  if (magic.value !== LEGACY_MAGIC) {
    throw new Error(
      `torch: not a legacy torch.save file: first pickle is ${
        describe(magic.value)
      }, not the magic number ${LEGACY_MAGIC}`,
    );
  }
  const protocol = unpickle(bytes, { globals: PLAIN_GLOBALS, offset: magic.end });
  if (protocol.value !== LEGACY_PROTOCOL) {
    throw new Error(
      `torch: legacy protocol ${describe(protocol.value)}, expected ${LEGACY_PROTOCOL}`,
    );
  }
  const sysInfo = unpickle(bytes, { globals: PLAIN_GLOBALS, offset: protocol.end });
  const info = sysInfo.value;
  const littleEndian = !isPlainObject(info) || info.little_endian !== false;
  const pending: PendingTensor[] = [];
  const { globals, storageType } = torchGlobals(pending);
  const roots = new Map<string, StorageRef>();
  const views = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown) => {
    const [kind, type, key, _location, numel, view] = Array.isArray(pid) ? pid : [];
    if (kind === "module") {
      throw new UnpicklingError(
        `torch: the file holds a whole nn.Module (torch.save(model)); save model.state_dict() instead`,
      );
    }
    const dtype = storageType.get(type as PyGlobal);
    if (kind !== "storage" || dtype === undefined || typeof key !== "string" || !isCount(numel)) {
      throw new UnpicklingError(
        `torch: persistent id ${
          describe(pid)
        } is not ("storage", <torch storage class>, key, location, numel, view)`,
      );
    }
    let root = roots.get(key);
    if (!root) roots.set(key, root = new StorageRef(key, dtype, numel, littleEndian));
    if (view === null || view === undefined) return root;
    const [viewKey, offset, viewBytes] = Array.isArray(view) ? view : [];
    if (typeof viewKey !== "string" || !isCount(offset) || !isCount(viewBytes)) {
      throw new UnpicklingError(`torch: storage view ${describe(view)}`);
    }
    let v = views.get(viewKey);
    if (!v) {
      const n = Math.floor(viewBytes / ELEMENT_SIZE[dtype]);
      v = new StorageRef(viewKey, dtype, n, littleEndian, { root, offset });
      views.set(viewKey, v);
    }
    return v;
  };
  const main = unpickle(bytes, { globals, persistentLoad, offset: sysInfo.end });
  const keys = unpickle(bytes, { globals: PLAIN_GLOBALS, offset: main.end });
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    throw new Error(`torch: legacy storage key list is ${describe(keys.value)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const root = roots.get(key);
    if (!root) throw new Error(`torch: storage "${key}" is listed but no tensor uses it`);
    if (at + 8 > bytes.length) {
      throw new Error(`torch: file ends before the size of storage "${key}" (offset ${at})`);
    }
    const numel = Number(view.getBigInt64(at, littleEndian));
    const end = at + 8 + numel * ELEMENT_SIZE[root.dtype];
    if (numel < 0 || end > bytes.length) {
      throw new Error(
        `torch: storage "${key}" declares ${numel} ${root.dtype} elements, past the end of the ${bytes.length}-byte file`,
      );
    }
    root.bytes = bytes.subarray(at + 8, end);
    at = end;
  }
  for (const view of views.values()) {
    const { root, offset } = view.base!;
    if (offset + view.numel > root.numel) {
      throw new RangeError(`torch: storage view "${view.key}" runs past storage "${root.key}"`);
    }
  }
  fillTensors(pending);
  return main.value;
}

/** Keys under which checkpoints commonly keep the model weights, tried in order. */
const STATE_DICT_KEYS = ["state_dict", "model_state_dict", "model", "net", "network"];

/** Whether `x` is a {@link HostTensor}. */
export function isHostTensor(x: unknown): x is HostTensor {
  if (typeof x !== "object" || x === null) return false;
  const t = x as HostTensor;
  return Array.isArray(t.shape) &&
    ((t.dtype === "f32" && t.data instanceof Float32Array) ||
      (t.dtype === "i32" && t.data instanceof Int32Array));
}

/**
 * Finds the state dict in a checkpoint: a bare dict of tensors, or one under `state_dict`,
 * `model_state_dict`, `model`, `net` or `network` (searched recursively, in that order). When every
 * key starts with `module.` (nn.DataParallel) that prefix is removed.
 */
export function extractStateDict(obj: unknown): StateDict {
  const found = findStateDict(obj, 0);
  if (!found) {
    const keys = isPlainObject(obj) ? Object.keys(obj).slice(0, 12).join(", ") : describe(obj);
    throw new Error(
      `torch: no state dict found: expected a dict of tensors, bare or under ${
        STATE_DICT_KEYS.join(", ")
      }, but the checkpoint has ${keys}`,
    );
  }
  const names = Object.keys(found);
  const strip = names.every((k) => k.startsWith("module.")) ? "module.".length : 0;
  const out: StateDict = {};
  for (const name of names) setKey(out, name.slice(strip), found[name]);
  return out;
}

function findStateDict(obj: unknown, depth: number): StateDict | undefined {
  if (!isPlainObject(obj) || depth > 4) return undefined;
  const values = Object.values(obj);
  if (values.length > 0 && values.every(isHostTensor)) return obj as StateDict;
  for (const key of STATE_DICT_KEYS) {
    if (Object.hasOwn(obj, key)) {
      const found = findStateDict(obj[key], depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}
