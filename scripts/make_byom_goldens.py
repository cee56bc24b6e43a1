#!/usr/bin/env python3
"""Dev-only: writes the "bring your own model" fixtures into fixtures/byom/.

Run with Debian's PyTorch: /usr/bin/python3 scripts/make_byom_goldens.py

Two FCN families that PyTorch FCN tutorials train, written here exactly as issue 13 describes,
plus torchvision's FCN-ResNet layout, each saved at width 1/32 in the checkpoint formats users
have (tests/byom_test.ts reads them; no Python at test time):
  fcn8s_bnhead.pth             plain state dict (torchvision-style torch.save(model.state_dict()))
  fcn8s_bnhead_dp.pth          {"state_dict": ...} with DataParallel's "module." prefix
  fcn_fusion_fouen6.pth        fouen6-style {"epoch", "model_state_dict", "optimizer_state_dict",
                               "scheduler_state_dict", "best_miou"}
  fcn_fusion_bias.safetensors  the fusion FCN with biased transposed convs, as safetensors
  fcn_resnet_wz.pth            WZMIAOMIAO-style {"model", "optimizer", "lr_scheduler", "epoch",
                               "args": argparse.Namespace} of a small torchvision FCN-ResNet
  <name>_golden.safetensors    out_eval, loss (train mode, dropout off, CE ignore_index 255, + 0.5
                               aux), grad.<key>, after.<key> (one SGD step: lr 0.01, momentum 0.9,
                               wd 1e-4), for the input of fixtures/golden/input.safetensors
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import (VGG_STAGES, ResNetFcn, bilinear, eval_outputs,  # noqa: E402
                                fcn_loss, randomize, scaled, vgg_block, write_safetensors)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "byom")
WIDTHS = [64, 128, 256, 512, 512]


class Backbone(nn.Module):
    def __init__(self, width):
        super().__init__()
        in_c = 3
        for s, count in enumerate(VGG_STAGES["vgg16"]):
            c = scaled(WIDTHS[s], width)
            setattr(self, f"layer{s + 1}", vgg_block(in_c, c, count, False))
            in_c = c


class Head(nn.Module):
    def __init__(self, in_c, head):
        super().__init__()
        self.fc6 = nn.Sequential(nn.Conv2d(in_c, head, 7, padding=3), nn.BatchNorm2d(head),
                                 nn.ReLU(inplace=True), nn.Dropout(0.1))
        self.fc7 = nn.Sequential(nn.Conv2d(head, head, 1), nn.BatchNorm2d(head),
                                 nn.ReLU(inplace=True), nn.Dropout(0.1))

    def forward(self, x):
        return self.fc7(self.fc6(x))


def up_bn_relu(k, kk, s, p):
    return nn.Sequential(nn.ConvTranspose2d(k, k, kk, s, p), nn.BatchNorm2d(k),
                         nn.ReLU(inplace=True))


class Fcn8sBnHead(nn.Module):
    """FCN-8s with a batch-norm head (backbone.layer1..5, head.fc6/fc7, transpose_conv1..3)."""

    def __init__(self, k, width, head):
        super().__init__()
        self.backbone = Backbone(width)
        self.head = Head(scaled(512, width), head)
        self.layer3_conv = nn.Conv2d(scaled(256, width), k, 1)
        self.layer4_conv = nn.Conv2d(scaled(512, width), k, 1)
        self.layer5_conv = nn.Conv2d(head, k, 1)
        self.transpose_conv1 = up_bn_relu(k, 4, 2, 1)
        self.transpose_conv2 = up_bn_relu(k, 4, 2, 1)
        self.transpose_conv3 = up_bn_relu(k, 16, 8, 4)

    def forward(self, x):
        b = self.backbone
        l3 = b.layer3(b.layer2(b.layer1(x)))
        l4 = b.layer4(l3)
        l5 = b.layer5(l4)
        y = self.transpose_conv1(self.layer5_conv(self.head(l5)))
        y = self.transpose_conv2(y + self.layer4_conv(l4))
        return {"out": self.transpose_conv3(y + self.layer3_conv(l3))}


def vgg16_bn_features(width):
    """torchvision's vgg16_bn().features at `width` (same indices)."""
    layers, in_c = [], 3
    for s, count in enumerate(VGG_STAGES["vgg16"]):
        c = scaled(WIDTHS[s], width)
        layers += list(vgg_block(in_c, c, count, True))
        in_c = c
    return nn.Sequential(*layers)


class FcnFusion(nn.Module):
    """FCN with feature-level fusion on VGG16-BN (stage1..5 = features[:7] ... [34:])."""

    def __init__(self, k, width, bias=False):
        super().__init__()
        f = vgg16_bn_features(width)
        self.stage1, self.stage2, self.stage3 = f[:7], f[7:14], f[14:24]
        self.stage4, self.stage5 = f[24:34], f[34:]
        c3, c4 = scaled(256, width), scaled(512, width)
        self.scores1 = nn.Conv2d(c4, k, 1)
        self.scores2 = nn.Conv2d(c4, k, 1)
        self.scores3 = nn.Conv2d(scaled(128, width), k, 1)
        self.conv_trans1 = nn.Conv2d(c4, c3, 1)
        self.conv_trans2 = nn.Conv2d(c3, k, 1)
        self.upsample_8x = nn.ConvTranspose2d(k, k, 16, 8, 4, bias=bias)
        self.upsample_8x.weight.data.copy_(bilinear(k, 16))
        self.upsample_2x_1 = nn.ConvTranspose2d(c4, c4, 4, 2, 1, bias=bias)
        self.upsample_2x_1.weight.data.copy_(bilinear(c4, 4))
        self.upsample_2x_2 = nn.ConvTranspose2d(c3, c3, 4, 2, 1, bias=bias)
        self.upsample_2x_2.weight.data.copy_(bilinear(c3, 4))

    def forward(self, x):
        s3 = self.stage3(self.stage2(self.stage1(x)))
        s4 = self.stage4(s3)
        s5 = self.stage5(s4)
        y = self.conv_trans1(self.upsample_2x_1(s5) + s4)
        y = self.conv_trans2(self.upsample_2x_2(y) + s3)
        return {"out": self.upsample_8x(y)}


def golden(name, model, x, target):
    res = eval_outputs(model, x)
    loss = fcn_loss(model(x), target)
    loss.backward()
    res["loss"] = loss.detach().reshape(1)
    for k, p in model.named_parameters():
        if p.grad is not None:
            res[f"grad.{k}"] = p.grad
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    sgd.step()
    for k, v in model.state_dict().items():
        res[f"after.{k}"] = v
    write_safetensors(os.path.join(OUT, f"{name}_golden.safetensors"), res)
    print(name, "params", sum(p.numel() for p in model.parameters()), "loss", float(loss))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(4321)
    io_path = os.path.join(HERE, "..", "fixtures", "golden", "input.safetensors")
    import json, struct  # noqa: E401
    with open(io_path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()

    def get(key, dtype, shape):
        a, b = header[key]["data_offsets"]
        return torch.frombuffer(bytearray(data[a:b]), dtype=dtype).reshape(shape)

    x = get("input", torch.float32, header["input"]["shape"]).clone()
    target = get("target", torch.int32, header["target"]["shape"]).long()

    torch.manual_seed(11)
    m = Fcn8sBnHead(3, 1 / 32, 4)
    randomize(m, gen)
    sd = m.state_dict()
    torch.save(sd, os.path.join(OUT, "fcn8s_bnhead.pth"))
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3},
               os.path.join(OUT, "fcn8s_bnhead_dp.pth"))
    golden("fcn8s_bnhead", m, x, target)

    torch.manual_seed(12)
    m = FcnFusion(3, 1 / 32)
    randomize(m, gen)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    torch.save({"epoch": 5, "model_state_dict": m.state_dict(),
                "optimizer_state_dict": opt.state_dict(),
                "scheduler_state_dict": sched.state_dict(), "best_miou": 0.42},
               os.path.join(OUT, "fcn_fusion_fouen6.pth"))
    golden("fcn_fusion", m, x, target)

    torch.manual_seed(13)
    m = FcnFusion(3, 1 / 32, bias=True)
    randomize(m, gen)
    write_safetensors(os.path.join(OUT, "fcn_fusion_bias.safetensors"), m.state_dict())
    golden("fcn_fusion_bias", m, x, target)

    torch.manual_seed(14)
    m = ResNetFcn(3, [1, 1, 1, 1], 1 / 32)
    randomize(m, gen)
    opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    args = argparse.Namespace(num_classes=2, lr=0.01, aux=True, device="cuda", epochs=30)
    torch.save({"model": m.state_dict(), "optimizer": opt.state_dict(),
                "lr_scheduler": sched.state_dict(), "epoch": 29, "args": args},
               os.path.join(OUT, "fcn_resnet_wz.pth"))
    golden("fcn_resnet_wz", m, x, target)


if __name__ == "__main__":
    main()
