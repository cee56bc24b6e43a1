#!/usr/bin/env python3
"""Dev-only: writes the goldens of sliding-window and test-time-augmented inference into
fixtures/infer/ (tests/infer_test.ts compares lib/infer against them).

Runs with Debian's PyTorch: /usr/bin/python3 scripts/make_tile_goldens.py

The definitions (lib/infer/tta.ts implements the same):
  slide(x, tile, overlap): windows of min(tile, side) every floor(tile * (1 - overlap)) pixels,
      the last flush with the border (mmsegmentation's slide_inference: an image side smaller
      than the tile gets one window of that side, no padding); the logits of the windows summed
      and divided by how many windows cover each pixel. No tile: the model on the whole image.
  tta(x): the mean over {each scale} x {plain, mirrored} of: x resized to
      (int(H * s + 0.5), int(W * s + 0.5)) by F.interpolate(bilinear, align_corners=False),
      mirrored, slide(), mirrored back, resized to (H, W) the same way.

The model is a tiny FCN-ResNet (torchvision's layout, dilated layer3/4, width 1/32, one block per
stage, 4 classes, no aux head), He-initialised with non-trivial BatchNorm statistics; its weights
go to fixtures/infer/model.safetensors. The input is a random 8-bit RGB image with a few flat
rectangles (image.safetensors, u8 stored as I32 [H, W, 3]), normalised with ImageNet's mean/std.
Everything is computed in float64 and stored as float32, with err.<case> = max|f32 - f64| of the
same computation in float32 (the test's tolerance is a multiple of it).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import ResNetFcn, randomize, write_safetensors  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "infer")
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

# name: image [H, W], tile, overlap, scales, flip
CASES = {
    "tile": dict(size=(45, 61), tile=24, overlap=1 / 3, scales=[1], flip=False),
    "tile_narrow": dict(size=(19, 70), tile=32, overlap=0.25, scales=[1], flip=False),
    "tta": dict(size=(37, 53), tile=None, overlap=1 / 3, scales=[1, 0.75, 1.25], flip=True),
    "tile_tta": dict(size=(45, 61), tile=24, overlap=0.25, scales=[1, 0.5, 1.5], flip=True),
}


def stride_of(tile, overlap):
    return max(1, int(tile * (1 - overlap) + 1e-9))


def starts(size, window, stride):
    count = max(size - window + stride - 1, 0) // stride + 1
    return [min(i * stride, size - window) for i in range(count)]


def slide(model, x, tile, overlap):
    """mmsegmentation's slide_inference without padding: x [1, 3, H, W] -> [1, K, H, W]."""
    if tile is None:
        return model(x)["out"]
    h, w = x.shape[2:]
    th, tw = min(tile, h), min(tile, w)
    stride = stride_of(tile, overlap)
    preds, count = None, torch.zeros(1, 1, h, w, dtype=x.dtype)
    for y in starts(h, th, stride):
        for xx in starts(w, tw, stride):
            out = model(x[:, :, y:y + th, xx:xx + tw])["out"]
            if preds is None:
                preds = torch.zeros(1, out.shape[1], h, w, dtype=x.dtype)
            preds[:, :, y:y + th, xx:xx + tw] += out
            count[:, :, y:y + th, xx:xx + tw] += 1
    return preds / count


def resize(x, size):
    if tuple(x.shape[2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def tta(model, x, tile, overlap, scales, flip):
    h, w = x.shape[2:]
    total, n = 0, 0
    for s in dict.fromkeys(scales):
        xs = resize(x, (max(1, int(h * s + 0.5)), max(1, int(w * s + 0.5))))
        for f in ([False, True] if flip else [False]):
            out = slide(model, xs.flip(3) if f else xs, tile, overlap)
            total = total + resize(out.flip(3) if f else out, (h, w))
            n += 1
    return total / n


def image(gen, h, w):
    """Random pixels with flat rectangles (so some windows see edges, some flat areas)."""
    img = torch.randint(0, 256, (h, w, 3), generator=gen)
    img[h // 4:h // 2, w // 5:w // 2] = torch.tensor([200, 40, 40])
    img[h // 2:, w // 2:w - 3] = torch.tensor([30, 160, 220])
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(2024)
    torch.manual_seed(5)
    model = ResNetFcn(4, [1, 1, 1, 1], 1 / 32, aux=False)
    randomize(model, gen)
    model.eval()
    write_safetensors(os.path.join(OUT, "model.safetensors"), model.state_dict())
    m64 = ResNetFcn(4, [1, 1, 1, 1], 1 / 32, aux=False).double().eval()
    m64.load_state_dict(model.state_dict())
    images, res = {}, {}
    for name, c in CASES.items():
        key = f"{c['size'][0]}x{c['size'][1]}"
        if key not in images:
            images[key] = image(gen, *c["size"])
        img = images[key].permute(2, 0, 1).unsqueeze(0).double() / 255
        x = (img - MEAN.double()) / STD.double()
        args = (c["tile"], c["overlap"], c["scales"], c["flip"])
        with torch.no_grad():
            ref = tta(m64, x, *args)
            got = tta(model, x.float(), *args)
        res[name] = ref.float()
        res[f"err.{name}"] = torch.tensor([float((got.double() - ref).abs().max())])
        print(f"{name}: {c}, max|logit| {float(ref.abs().max()):.3f}, "
              f"f32 error {float(res[f'err.{name}']):.2e}")
    write_safetensors(os.path.join(OUT, "image.safetensors"),
                      {f"image{k}": v.int() for k, v in images.items()})
    write_safetensors(os.path.join(OUT, "logits.safetensors"), res)


if __name__ == "__main__":
    main()
