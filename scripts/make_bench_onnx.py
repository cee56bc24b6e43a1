#!/usr/bin/env python3
"""Dev-only: ONNX models for the onnxruntime-node peer, into .cache/bench/onnx/: the `ort` section of
`deno task bench` (bench/headtohead.ts: the two whole models) and bench/dnnl_probe.ts (layers too).

/usr/bin/python3 scripts/make_bench_onnx.py

  layer_<name>.onnx      one conv (+ ReLU where the model has one) per probed layer, random
                         weights (the layer list is LAYERS below; bench/dnnl_probe.ts has the same)
  fcn8s_224.onnx         FCN-8s/VGG16, 21 classes, input [1, 3, 224, 224], eval
  fcn_resnet50_480.onnx  FCN-ResNet50 (aux head dropped: predict ignores it), input [1, 3, 480, 480]

Weights are random (seeded); only the speed matters. Opset 13, constant folding on.
"""
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import ResNetFcn, VggFcn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".cache", "bench", "onnx")

# name: (C, K, H, W, kernel, stride, padding, dilation, relu)
LAYERS = {
    "vgg_conv1_2": (64, 64, 224, 224, 3, 1, 1, 1, True),
    "vgg_conv3_2": (256, 256, 56, 56, 3, 1, 1, 1, True),
    "vgg_conv5_2": (512, 512, 14, 14, 3, 1, 1, 1, True),
    "r50_l3_reduce": (1024, 256, 60, 60, 1, 1, 0, 1, True),
    "r50_l3_conv3x3_d2": (256, 256, 60, 60, 3, 1, 2, 2, True),
    "r50_l3_expand": (256, 1024, 60, 60, 1, 1, 0, 1, False),
}


class OneConv(nn.Module):
    def __init__(self, c, k, kernel, stride, padding, dilation, relu):
        super().__init__()
        self.conv = nn.Conv2d(c, k, kernel, stride, padding, dilation)
        self.relu = relu

    def forward(self, x):
        y = self.conv(x)
        return torch.relu(y) if self.relu else y


class OutOnly(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def export(model, shape, path):
    model.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        torch.onnx.export(model, x, path, opset_version=13, input_names=["x"],
                          output_names=["y"], do_constant_folding=True)
    print("wrote", path, f"{os.path.getsize(path) / 1e6:.1f} MB")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(16)
    for name, (c, k, h, w, kernel, stride, padding, dilation, relu) in LAYERS.items():
        export(OneConv(c, k, kernel, stride, padding, dilation, relu), (1, c, h, w),
               os.path.join(OUT, f"layer_{name}.onnx"))
    export(OutOnly(VggFcn("fcn8s", "vgg16", num_classes=21)), (1, 3, 224, 224),
           os.path.join(OUT, "fcn8s_224.onnx"))
    export(OutOnly(ResNetFcn(21, [3, 4, 6, 3], 1.0, aux=False)), (1, 3, 480, 480),
           os.path.join(OUT, "fcn_resnet50_480.onnx"))


if __name__ == "__main__":
    main()
