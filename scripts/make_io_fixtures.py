#!/usr/bin/env python3
"""Writes the small weight files that lib/io/*_test.ts read (dev-only; the tests need no PyTorch).

Usage (from the repository root):

    apt-get install -y python3-torch          # Debian's PyTorch (1.13); use /usr/bin/python3
    /usr/bin/python3 scripts/make_io_fixtures.py

If the `safetensors` Python package is importable (for instance from a venv made with
`python3 -m venv --system-site-packages /tmp/st && /tmp/st/bin/pip install safetensors`, then run
this script with /tmp/st/bin/python), the two .safetensors files are (re)written by the reference
writer; otherwise the existing ones and their expected values are kept.

Files written into fixtures/io/ (a few KB each, 33 KB in all):

- state_dict.pth            torch.save of an OrderedDict state dict: f32, f16, bf16, f64, i64, bool
                            tensors, a transposed (non-contiguous) one, two views of one storage.
- state_dict_big.pth        state_dict.pth rewritten by Python's zipfile: folder "archive/", deflated
                            entries, a "byteorder" entry saying "big" and byte-swapped storages.
- checkpoint.pth            a whole training checkpoint {model (DataParallel, "module." keys),
                            optimizer (SGD with momentum, after one step), epoch, args (Namespace)}.
- checkpoint_legacy.pth     the same with _use_new_zipfile_serialization=False (pre-1.6 format).
- state_dict.safetensors    safetensors.torch.save_file of most state_dict entries, with metadata.
- f32_i32.safetensors       only F32/I32 tensors and one metadata key: writeSafetensors must
                            reproduce it byte for byte.
- plain.p2.pkl ... p5.pkl   pickle.dumps of plain Python data (no torch) at protocols 2 to 5.
- expected.json             what the readers must return for each file (see `describe`).

Every file is reproducible except checkpoint_legacy.pth, whose storage keys are memory addresses.
"""

import argparse
import io
import collections
import json
import os
import pickle
import zipfile

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "io")


def state_dict():
    """A state dict exercising every dtype and layout the readers convert."""
    sd = collections.OrderedDict()
    sd["conv.weight"] = (torch.arange(24, dtype=torch.float32).reshape(2, 3, 2, 2) - 11.5) / 8
    sd["conv.bias"] = torch.tensor([0.25, -3.0])
    # [3, 4] -> transposed [4, 3], strides (1, 4): not contiguous.
    sd["fc.weight"] = (torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5).t()
    sd["half"] = torch.tensor([0.5, -1.25, 1 / 3, 65504.0, 6e-8, -0.0], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -2.5, 3.14159], dtype=torch.bfloat16)
    sd["double"] = torch.tensor([[1 / 3], [2.0]], dtype=torch.float64)
    sd["bn.num_batches_tracked"] = torch.tensor(7)  # 0-dim int64
    sd["idx"] = torch.tensor([-2, 0, 2**31 - 1], dtype=torch.int64)
    sd["mask"] = torch.tensor([True, False, True])
    base = torch.linspace(-1, 1, 6)
    sd["shared.a"] = base[0:4]  # storage offset 0
    sd["shared.b"] = base[2:6].view(2, 2)  # same storage, offset 2
    return sd


def checkpoint():
    """A training checkpoint as a typical train.py saves it."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
    model = torch.nn.DataParallel(net)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.linspace(-1, 1, 2 * 1 * 3 * 3).reshape(2, 1, 3, 3)
    model(x).square().mean().backward()
    opt.step()
    args = argparse.Namespace(
        arch="fcn8s",
        lr=0.01,
        batch_size=4,
        crop=[320, 320],
        milestones=(10, 20),
        resume=None,
        amp=False,
        seed=2**60 + 1,
    )
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "best_miou": 0.625,
        "args": args,
    }


def fixed_time(name):
    """A deflated zip entry dated 1980-01-01, so that the archive is reproducible."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def big_endian_copy(src, dst):
    """Rewrites a torch zip checkpoint as a big-endian one, deflated, under the folder archive/."""
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        pkl_name = next(n for n in names if n.endswith("/data.pkl"))
        prefix = pkl_name[: -len("data.pkl")]
        pkl = z.read(pkl_name)
        itemsize = {}

        class Recorder(pickle.Unpickler):
            def find_class(self, module, name):
                if name.startswith("_rebuild"):
                    return lambda *args: None
                return super().find_class(module, name)

            def persistent_load(self, pid):
                itemsize[pid[2]] = pid[1](0).element_size()

        Recorder(io.BytesIO(pkl)).load()
        with zipfile.ZipFile(dst, "w") as out:
            for name in names:
                data = z.read(name)
                rest = name[len(prefix):]
                if rest.startswith("data/"):
                    size = itemsize[rest[len("data/"):]]
                    if size > 1:
                        data = np.frombuffer(data, dtype=f"<u{size}").astype(f">u{size}").tobytes()
                out.writestr(fixed_time("archive/" + rest), data)
            out.writestr(fixed_time("archive/byteorder"), "big")


def plain():
    """Plain Python data covering the opcodes of protocols 2 to 5."""
    shared = [1, 2]
    return {
        "none": None,
        "t": True,
        "f": False,
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31 - 1, 2**31, 2**53 - 1],
        "big": [2**53, -(2**53), 2**64 + 5, -(2**100)],
        "floats": [0.5, -1e-300, 3.141592653589793, 1e300, -0.0],
        "text": "h\u00e9llo \u2713 \U0001d11e",
        "long_text": "x" * 300,
        "bytes": b"\x00\x01\xffab",
        "empty_bytes": b"",
        "bytearray": bytearray(b"xyz"),
        "tuples": [(5,), (1, "a"), (1, ("a", None), ()), (1, 2, 3, 4)],
        "set": {3, 1, 2},
        "frozenset": frozenset({7}),
        "int_keys": {1: "one", 2: "two"},
        "od": collections.OrderedDict([("b", 1), ("a", 2)]),
        "shared": [shared, shared],
        "ns": argparse.Namespace(x=1, y="z"),
    }


def describe(obj):
    """JSON form of what the TypeScript readers return."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().contiguous()
        if t.dtype.is_floating_point:
            return {"dtype": "f32", "shape": list(t.shape), "data": t.float().flatten().tolist()}
        return {"dtype": "i32", "shape": list(t.shape), "data": t.long().flatten().tolist()}
    if isinstance(obj, argparse.Namespace):
        return describe(vars(obj))
    if isinstance(obj, dict):
        return {str(k): describe(v) for k, v in obj.items()}
    if isinstance(obj, (bytes, bytearray)):
        return {"bytes": list(obj)}
    if isinstance(obj, (set, frozenset)):
        return [describe(v) for v in obj]
    if isinstance(obj, (list, tuple)):
        return [describe(v) for v in obj]
    if isinstance(obj, int) and not isinstance(obj, bool) and abs(obj) > 2**53 - 1:
        return {"bigint": str(obj)}
    return obj


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = state_dict()
    ckpt = checkpoint()
    torch.save(sd, os.path.join(OUT, "state_dict.pth"))
    big_endian_copy(os.path.join(OUT, "state_dict.pth"), os.path.join(OUT, "state_dict_big.pth"))
    torch.save(ckpt, os.path.join(OUT, "checkpoint.pth"))
    legacy = os.path.join(OUT, "checkpoint_legacy.pth")
    torch.save(ckpt, legacy, _use_new_zipfile_serialization=False)
    expected = {
        "state_dict.pth": describe(sd),
        "state_dict_big.pth": describe(sd),
        "checkpoint.pth": describe(ckpt),
        "checkpoint_legacy.pth": describe(ckpt),
    }
    for protocol in range(2, 6):
        name = f"plain.p{protocol}.pkl"
        with open(os.path.join(OUT, name), "wb") as f:
            pickle.dump(plain(), f, protocol=protocol)
        expected[name] = describe(plain())
    try:
        from safetensors.torch import save_file
    except ImportError:
        print("safetensors not importable: keeping the *.safetensors files and their expected values")
        try:
            with open(os.path.join(OUT, "expected.json")) as f:
                old = json.load(f)
        except FileNotFoundError:
            old = {}
        expected.update({k: v for k, v in old.items() if k.endswith(".safetensors")})
    else:
        st = {k: sd[k].contiguous() for k in ["conv.weight", "conv.bias", "fc.weight", "half", "idx"]}
        st["bf16"] = sd["bf16"]
        st["mask"] = sd["mask"]
        st["double"] = sd["double"]
        meta = {"format": "pt", "note": "made by scripts/make_io_fixtures.py"}
        save_file(st, os.path.join(OUT, "state_dict.safetensors"), metadata=meta)
        expected["state_dict.safetensors"] = {"tensors": describe(st), "metadata": meta}
        small = {
            "b": torch.tensor([[1.5, -2.0, 3.25]]),
            "a.weight": torch.arange(4, dtype=torch.float32).reshape(2, 2) / 3,
            "labels": torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32),
        }
        small_meta = {"format": "pt"}
        save_file(small, os.path.join(OUT, "f32_i32.safetensors"), metadata=small_meta)
        expected["f32_i32.safetensors"] = {"tensors": describe(small), "metadata": small_meta}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
