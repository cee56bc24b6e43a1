import { assert, assertEquals, assertRejects, assertThrows } from "../../tests/assert.ts";
import { bytesOf, expected, fixture, le, normalize, writeZip } from "./_helpers_test.ts";
import type { StateDict } from "./host_tensor.ts";
import { PLAIN_GLOBALS, unpickle } from "./pickle.ts";
import { extractStateDict, isHostTensor, readTorchCheckpoint } from "./torch_pth.ts";
import { ZipReader } from "./zip.ts";

const STATE_DICT_KEYS = [
  "conv.weight",
  "conv.bias",
  "fc.weight",
  "half",
  "bf16",
  "double",
  "bn.num_batches_tracked",
  "idx",
  "mask",
  "shared.a",
  "shared.b",
];
const MODEL_KEYS = [
  "0.weight",
  "0.bias",
  "1.weight",
  "1.bias",
  "1.running_mean",
  "1.running_var",
  "1.num_batches_tracked",
];

/** What scripts/make_io_fixtures.py saves as a training checkpoint. */
interface Checkpoint {
  model: StateDict;
  optimizer: {
    state: Record<string, { momentum_buffer: unknown }>;
    param_groups: Record<string, unknown>[];
  };
  epoch: number;
  best_miou: number;
  args: Record<string, unknown>;
}

/** `_rebuild_tensor_v2(("storage", FloatStorage, "0", "cpu", numel), 0, (size,), (1,), False, ())`. */
function tensorPickle(numel: number, size: number): Uint8Array {
  return bytesOf(
    0x80,
    2,
    "ctorch._utils\n_rebuild_tensor_v2\n(",
    "(",
    0x8c,
    7,
    "storage",
    "ctorch\nFloatStorage\n",
    0x8c,
    1,
    "0",
    0x8c,
    3,
    "cpu",
    "K",
    numel,
    "t",
    0x51,
    "K",
    0,
    "K",
    size,
    0x85,
    "K",
    1,
    0x85,
    0x89,
    ")tR.",
  ); // deno-fmt-ignore
}

for (
  const name of ["state_dict.pth", "state_dict_big.pth", "checkpoint.pth", "checkpoint_legacy.pth"]
) {
  Deno.test(`readTorchCheckpoint reads ${name} as torch.save wrote it`, async () => {
    const value = await readTorchCheckpoint(await fixture(name));
    assertEquals(normalize(value), (await expected())[name]);
  });
}

Deno.test("readTorchCheckpoint keeps key order, copies views out of shared storage", async () => {
  const sd = await readTorchCheckpoint(await fixture("state_dict.pth")) as StateDict;
  assertEquals(Object.keys(sd), STATE_DICT_KEYS);
  assertEquals(sd["fc.weight"].shape, [4, 3]); // transposed [3, 4]: strides (1, 4)
  assertEquals(Array.from(sd["fc.weight"].data.subarray(0, 4)), [0, 2, 4, 0.5]);
  assertEquals(sd["bn.num_batches_tracked"], {
    dtype: "i32",
    shape: [],
    data: new Int32Array([7]),
  });
  const a = sd["shared.a"].data, b = sd["shared.b"].data; // base[0:4] and base[2:6]
  assertEquals([a[2], a[3]], [b[0], b[1]]);
  a[2] = 100;
  assert(b[0] !== 100, "tensors sharing a storage do not alias");
});

Deno.test("readTorchCheckpoint reads a training checkpoint's plain values", async () => {
  for (const name of ["checkpoint.pth", "checkpoint_legacy.pth"]) {
    const ckpt = await readTorchCheckpoint(await fixture(name)) as Checkpoint;
    assertEquals([ckpt.epoch, ckpt.best_miou], [3, 0.625]);
    assert(ckpt.args.seed === 2n ** 60n + 1n, `seed ${ckpt.args.seed}`);
    assertEquals(ckpt.args.milestones, [10, 20]);
    assertEquals([ckpt.args.arch, ckpt.args.resume, ckpt.args.amp], ["fcn8s", null, false]);
    const group = ckpt.optimizer.param_groups[0];
    assertEquals([group.lr, group.momentum, group.params], [0.01, 0.9, [0, 1, 2, 3]]);
    assert(isHostTensor(ckpt.optimizer.state["0"].momentum_buffer), "momentum buffers are tensors");
    assertEquals(Object.keys(ckpt.model), MODEL_KEYS.map((k) => "module." + k));
  }
});

Deno.test("readTorchCheckpoint reads repacked archives: other folder, deflate, ZIP64", async () => {
  const zip = new ZipReader(await fixture("state_dict.pth"));
  const files = [];
  for (const name of zip.entries.keys()) {
    files.push({
      name: name.replace(/^state_dict\//, "any name-1.6/"),
      data: await zip.read(name),
      deflate: true,
    });
  }
  const want = (await expected())["state_dict.pth"];
  for (const zip64 of [false, true]) {
    const value = await readTorchCheckpoint(await writeZip(files, { zip64 }));
    assertEquals(normalize(value), want);
  }
});

Deno.test("extractStateDict finds the weights in common checkpoint shapes", async () => {
  const ckpt = await readTorchCheckpoint(await fixture("checkpoint.pth")) as Checkpoint;
  const weights = extractStateDict(ckpt);
  assertEquals(Object.keys(weights), MODEL_KEYS); // "module." stripped
  assertEquals(weights["0.weight"], ckpt.model["module.0.weight"]);
  const sd = await readTorchCheckpoint(await fixture("state_dict.pth")) as StateDict;
  for (
    const wrapped of [sd, { state_dict: sd, epoch: 1 }, { model_state_dict: sd }, { model: sd }]
  ) {
    assertEquals(Object.keys(extractStateDict(wrapped)), STATE_DICT_KEYS);
  }
  const partly = { "module.a": sd.half, b: sd.half };
  assertEquals(Object.keys(extractStateDict(partly)), ["module.a", "b"]);
  assertThrows(
    () => extractStateDict({ epoch: 3, args: {} }),
    "no state dict found: expected a dict of tensors, bare or under state_dict, model_state_dict, model, net, network, but the checkpoint has epoch, args",
  );
  assertThrows(() => extractStateDict(7), "the checkpoint has 7");
});

Deno.test("readTorchCheckpoint refuses pickles asking for other globals (zip and legacy)", async () => {
  const evil = bytesOf(0x80, 2, "cos\nsystem\n", 0x8c, 10, "echo pwned", 0x85, "R.");
  const zipped = await writeZip([{ name: "x/data.pkl", data: evil }, {
    name: "x/data/0",
    data: new Uint8Array(4),
  }]);
  await assertRejects(
    () => readTorchCheckpoint(zipped),
    'refusing global "os.system": it is not on the allow-list',
  );
  const legacy = await fixture("checkpoint_legacy.pth");
  let at = 0;
  for (let i = 0; i < 3; i++) at = unpickle(legacy, { globals: PLAIN_GLOBALS, offset: at }).end;
  const evalPickle = bytesOf(0x80, 2, "cbuiltins\neval\nX", le(4, 4), "1+1)R.");
  const err = await assertRejects(
    () => readTorchCheckpoint(bytesOf(legacy.subarray(0, at), evalPickle)),
    'refusing global "builtins.eval"',
  );
  assert(err.message.includes("nothing was executed"), err.message);
  const fromBytes = bytesOf(0x80, 2, "ctorch.storage\n_load_from_bytes\n.");
  await assertRejects(
    () => readTorchCheckpoint(bytesOf(legacy.subarray(0, at), fromBytes)),
    '"torch.storage._load_from_bytes"',
  );
});

Deno.test("readTorchCheckpoint reports truncated and malformed files", async () => {
  const zip = await fixture("state_dict.pth"), legacy = await fixture("checkpoint_legacy.pth");
  await assertRejects(
    () => readTorchCheckpoint(zip.subarray(0, 1000)),
    "no end-of-central-directory",
  );
  await assertRejects(
    () => readTorchCheckpoint(legacy.subarray(0, legacy.length - 5)),
    "past the end",
  );
  await assertRejects(() => readTorchCheckpoint(legacy.subarray(0, 300)), "truncated pickle");
  await assertRejects(
    () => readTorchCheckpoint(new TextEncoder().encode("GARBAGE!")),
    "not a torch.save file: expected a zip archive",
  );
  await assertRejects(
    () => readTorchCheckpoint(bytesOf(0x80, 2, "K", 5, ".")),
    "first pickle is 5, not the magic number",
  );
  const empty = await writeZip([{ name: "a/version", data: bytesOf("3\n") }]);
  await assertRejects(() => readTorchCheckpoint(empty), 'no "<folder>/data.pkl"');
  const noData = await writeZip([{ name: "a/data.pkl", data: tensorPickle(2, 2) }]);
  await assertRejects(() => readTorchCheckpoint(noData), 'storage "0" has no "a/data/0" entry');
  const short = await writeZip([
    { name: "a/data.pkl", data: tensorPickle(2, 3) },
    { name: "a/data/0", data: new Uint8Array(new Float32Array([1, 2]).buffer) },
  ]);
  await assertRejects(
    () => readTorchCheckpoint(short),
    'reaches element 2 of storage "0", which holds 2',
  );
  const fine = await writeZip([
    { name: "a/data.pkl", data: tensorPickle(2, 2) },
    { name: "a/data/0", data: new Uint8Array(new Float32Array([1, 2]).buffer) },
  ]);
  assertEquals(await readTorchCheckpoint(fine), {
    dtype: "f32",
    shape: [2],
    data: new Float32Array([1, 2]),
  });
});
