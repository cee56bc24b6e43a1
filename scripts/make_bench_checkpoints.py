#!/usr/bin/env python3
"""Dev-only: writes the cold-start benchmark inputs into .cache/bench/ (git-ignored).

Runs with Debian's PyTorch: /usr/bin/python3 scripts/make_bench_checkpoints.py

  .cache/bench/fcn8s/fcn8s.pth           FCN-8s/VGG16 (21 classes) state_dict via torch.save (537 MB)
  .cache/bench/fcn8s/fcn8s.safetensors   the same weights as safetensors
  .cache/bench/fcn8s/config.json         the model config `predict --weights` needs beside them
  .cache/bench/image.png                 one 320x224 RGB image (seeded noise over gradients)

The `cold` section of `deno task bench` (bench/cold_start.ts) predicts the image with both files;
scripts/bench_cold_torch.py is the peer.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import VggFcn, write_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "bench")


def main():
    out = os.path.join(ROOT, "fcn8s")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(16)
    model = VggFcn("fcn8s", "vgg16", num_classes=21).eval()
    sd = model.state_dict()
    torch.save(sd, os.path.join(out, "fcn8s.pth"))
    write_safetensors(os.path.join(out, "fcn8s.safetensors"), sd)
    config = {"model": {"name": "fcn8s", "numClasses": 21, "backbone": "vgg16", "width": 1,
                        "headChannels": 4096, "layers": [3, 4, 6, 3], "aux": True,
                        "dropout": 0.5, "seed": 0}}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    rng = np.random.default_rng(16)
    h, w = 224, 320
    yy, xx = np.mgrid[:h, :w]
    img = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
    img = np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(ROOT, "image.png"))
    size = os.path.getsize(os.path.join(out, "fcn8s.pth"))
    print(f"wrote {out} ({size / 1e6:.0f} MB .pth) and {ROOT}/image.png")


if __name__ == "__main__":
    main()
