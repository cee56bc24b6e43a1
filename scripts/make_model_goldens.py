#!/usr/bin/env python3
"""Dev-only: writes the PyTorch parity fixtures of the FCN models into fixtures/golden/.

Needs Debian's PyTorch (apt-get install -y python3-torch python3-torchvision) and runs with the
system interpreter: /usr/bin/python3 scripts/make_model_goldens.py [--full]

For each small model (fcn8s, fcn16s, fcn32s on vgg16 at width 1/16, and an fcn_resnet50-style
model at width 1/16 with one block per stage) it saves, with the model's own state_dict keys:
  fixtures/golden/<name>.safetensors   the initial weights (safetensors written by hand below)
  fixtures/golden/<name>.pth           the same weights through torch.save
  fixtures/golden/<name>_golden.safetensors, computed in float64 (stored as f32):
      out_eval, aux_eval        logits in eval mode for `input`
      loss0, loss1              CE(out) (+ 0.5 * CE(aux)) in train mode with dropout off, before
                                each of two SGD steps (options per model in SGD_OPTIONS)
      grad.<key>                parameter gradients of the first loss
      update0.<key>, update1.<key>   each step's parameter change p[s+1] - p[s]
      after.<key>               buffers (BatchNorm statistics) after the two steps
      err.<name>                the same computation's float32 error against the float64 one,
                                max|f32 - f64|: the tests' tolerance is k times this
      sgd                       [lr, momentum, dampening, weight_decay, nesterov]
  fixtures/golden/input.safetensors    input [2, 3, 32, 32] and target [2, 32, 32] (with 255s);
      input64 [2, 3, 64, 64] and target64 for the BatchNorm VGG (its stage5 then normalises 8
      values per channel, not 2, whose gradient would be zero up to rounding)

With --full it instead measures parity at full size (FCN-8s/VGG16 and FCN-ResNet50) by writing
weights, input and logits to /tmp/fcn_full/ for tests/full_size_test.ts (not committed).
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import Bottleneck
from torchvision.models.segmentation.fcn import FCNHead

from safetensors_file import write_arrays

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "golden")

VGG_STAGES = {"vgg11": [1, 1, 2, 2, 2], "vgg13": [2, 2, 2, 2, 2], "vgg16": [2, 2, 3, 3, 3],
              "vgg19": [2, 2, 4, 4, 4]}


def scaled(c, width):
    return max(1, round(c * width))


def bilinear(channels, k):
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = np.ogrid[:k, :k]
    filt = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    w = np.zeros((channels, channels, k, k), dtype=np.float32)
    w[range(channels), range(channels), :, :] = filt
    return torch.from_numpy(w)


def vgg_block(in_c, c, count, bn):
    """One VGG stage: `count` 3x3 convs to `c` channels (each with a BatchNorm where `bn`) and
    their ReLUs, then the 2x2 max pool."""
    layers = []
    for _ in range(count):
        layers.append(nn.Conv2d(in_c, c, 3, padding=1))
        if bn:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.ReLU(inplace=True))
        in_c = c
    layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


class VggFcn(nn.Module):
    """The PyTorch FCN re-implementation's layout: stage1..5, fcn_head, skip scores, upsamplers."""

    def __init__(self, variant, backbone="vgg16", num_classes=21, width=1.0, head=4096, dropout=0.5):
        super().__init__()
        self.variant = variant
        bn = backbone.endswith("_bn")
        in_c = 3
        for s, count in enumerate(VGG_STAGES[backbone.replace("_bn", "")]):
            c = scaled([64, 128, 256, 512, 512][s], width)
            setattr(self, f"stage{s + 1}", vgg_block(in_c, c, count, bn))
            in_c = c
        k = num_classes
        self.fcn_head = nn.Sequential(
            nn.Conv2d(in_c, head, 7, padding=3), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(head, head, 1), nn.ReLU(inplace=True), nn.Dropout2d(dropout),
            nn.Conv2d(head, k, 1))
        c3, c4 = scaled(256, width), scaled(512, width)

        def up(kk, s, p):
            m = nn.ConvTranspose2d(k, k, kk, stride=s, padding=p, bias=False)
            m.weight.data.copy_(bilinear(k, kk))
            return m

        if variant == "fcn32s":
            self.upsample32 = up(64, 32, 16)
        elif variant == "fcn16s":
            self.pool4_score = nn.Conv2d(c4, k, 1)
            self.upsample2 = up(4, 2, 1)
            self.upsample16 = up(32, 16, 8)
        else:
            self.pool3_score = nn.Conv2d(c3, k, 1)
            self.pool4_score = nn.Conv2d(c4, k, 1)
            self.upsample2_1 = up(4, 2, 1)
            self.upsample2_2 = up(4, 2, 1)
            self.upsample8 = up(16, 8, 4)

    def forward(self, x):
        h, w = x.shape[2:]
        pool3 = self.stage3(self.stage2(self.stage1(x)))
        pool4 = self.stage4(pool3)
        score = self.fcn_head(self.stage5(pool4))
        if self.variant == "fcn32s":
            out = self.upsample32(score)
        elif self.variant == "fcn16s":
            up = self.upsample2(score)
            s4 = self.pool4_score(pool4)[:, :, :up.shape[2], :up.shape[3]]
            out = self.upsample16(up + s4)
        else:
            up = self.upsample2_1(score)
            s4 = self.pool4_score(pool4)[:, :, :up.shape[2], :up.shape[3]]
            up = self.upsample2_2(up + s4)
            s3 = self.pool3_score(pool3)[:, :, :up.shape[2], :up.shape[3]]
            out = self.upsample8(up + s3)
        return {"out": out[:, :, :h, :w]}


class Backbone(nn.Module):
    """torchvision's ResNet trunk with stride replaced by dilation in layer3/4, planes scaled."""

    def __init__(self, layers, width):
        super().__init__()
        stem = scaled(64, width)
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.inplanes, self.dilation = stem, 1
        plan = [(64, 1, False), (128, 2, False), (256, 2, True), (512, 2, True)]
        for i, (p, stride, dilate) in enumerate(plan):
            planes = scaled(p, width)
            prev = self.dilation
            if dilate:
                self.dilation *= stride
                stride = 1
            down = None
            if stride != 1 or self.inplanes != planes * 4:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                     nn.BatchNorm2d(planes * 4))
            blocks = [Bottleneck(self.inplanes, planes, stride, down, 1, 64, prev)]
            self.inplanes = planes * 4
            for _ in range(1, layers[i]):
                blocks.append(Bottleneck(self.inplanes, planes, dilation=self.dilation))
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        aux = self.layer3(x)
        return aux, self.layer4(aux)


class ResNetFcn(nn.Module):
    def __init__(self, num_classes, layers, width, aux=True, dropout=0.1):
        super().__init__()
        self.backbone = Backbone(layers, width)
        c4 = self.backbone.inplanes
        self.classifier = FCNHead(c4, num_classes)
        self.classifier[3].p = dropout
        self.aux_classifier = None
        if aux:
            self.aux_classifier = FCNHead(c4 // 2, num_classes)
            self.aux_classifier[3].p = dropout

    def forward(self, x):
        h, w = x.shape[2:]
        aux, out = self.backbone(x)
        res = {"out": F.interpolate(self.classifier(out), size=(h, w), mode="bilinear",
                                    align_corners=False)}
        if self.aux_classifier is not None:
            res["aux"] = F.interpolate(self.aux_classifier(aux), size=(h, w), mode="bilinear",
                                       align_corners=False)
        return res


def write_safetensors(path, tensors):
    """Torch tensors (f32, i64, i32) as a safetensors file."""
    dtypes = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32"}
    arrays = {}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        arrays[name] = (dtypes[t.dtype], t.numpy())
    write_arrays(path, arrays)


def randomize(model, gen):
    """Weights that keep every gradient far above float noise: He-normal convolutions (so the
    signal neither fades nor grows through 13 layers at 4..32 channels), biases and BN affine
    parameters around their defaults, bilinear upsamplers with noise, non-trivial BN statistics."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "upsample" in name:
                p.add_(torch.randn(p.shape, generator=gen) * 0.05)
            elif name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif p.dim() == 1:  # BN weight
                p.copy_(1 + torch.randn(p.shape, generator=gen) * 0.1)
            else:  # conv weight [C_out, C_in, kh, kw]
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) * (2 / fan_in) ** 0.5)
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(1 + torch.rand(b.shape, generator=gen) * 0.5)


def set_dropout(model, p):
    for m in model.modules():
        if isinstance(m, (nn.Dropout, nn.Dropout2d)):
            m.p = p


def eval_outputs(model, x):
    """{"out_eval", "aux_eval" (where the model has one)}: the eval-mode logits of `model` on
    `x`; leaves the model in train mode with dropout off."""
    res = {}
    model.eval()
    with torch.no_grad():
        o = model(x)
    res["out_eval"] = o["out"]
    if "aux" in o:
        res["aux_eval"] = o["aux"]
    model.train()
    set_dropout(model, 0.0)
    return res


def fcn_loss(o, target):
    """The training loss of the outputs `o`: cross entropy (ignore index 255) of "out", plus half
    that of "aux" where there is one."""
    loss = F.cross_entropy(o["out"], target, ignore_index=255)
    if "aux" in o:
        loss = loss + 0.5 * F.cross_entropy(o["aux"], target, ignore_index=255)
    return loss


def run(model, x, target, sgd_options, steps):
    """Eval logits, then `steps` training steps (dropout off): losses, first gradients, the
    parameter updates p[s+1] - p[s] of every step, and buffers after the last step."""
    res = eval_outputs(model, x)
    sgd = torch.optim.SGD(model.parameters(), **sgd_options)
    for step in range(steps):
        sgd.zero_grad()
        loss = fcn_loss(model(x), target)
        loss.backward()
        res[f"loss{step}"] = loss.detach().reshape(1)
        before = {k: p.detach().clone() for k, p in model.named_parameters()}
        if step == 0:
            for k, p in model.named_parameters():
                res[f"grad.{k}"] = p.grad.detach().clone()
        sgd.step()
        for k, p in model.named_parameters():
            res[f"update{step}.{k}"] = p.detach() - before[k]
    params = dict(model.named_parameters())
    for k, v in model.state_dict().items():
        if k not in params:
            res[f"after.{k}"] = v.clone()
    return res


def max_error(got, ref):
    """max|got - ref|."""
    return float((got.double() - ref).abs().max()) if ref.numel() else 0.0


STEPS = 2


def golden(name, model, x, target, sgd_options):
    """Writes <name>.safetensors (initial weights) and <name>_golden.safetensors: the float64
    results (stored as f32), `err.<key>` = the float32 run's max|f32 - f64| for each of them (what
    the tests scale their tolerance by), and `sgd` = [lr, momentum, dampening,
    weight_decay, nesterov]."""
    write_safetensors(os.path.join(OUT, f"{name}.safetensors"), model.state_dict())
    if name in ("fcn8s", "fcn_resnet_small"):
        torch.save(model.state_dict(), os.path.join(OUT, f"{name}.pth"))
    m64 = copy.deepcopy(model).double()
    r32 = run(model, x, target, sgd_options, STEPS)
    r64 = run(m64, x.double(), target, sgd_options, STEPS)
    res = {}
    for k, ref in r64.items():
        res[k] = ref.float() if ref.is_floating_point() else ref
        if ref.is_floating_point():
            e = max_error(r32[k], ref)
            res[f"err.{k}"] = torch.tensor([e], dtype=torch.float32)
    o = sgd_options
    res["sgd"] = torch.tensor([o["lr"], o["momentum"], o.get("dampening", 0), o["weight_decay"],
                               float(o.get("nesterov", False))], dtype=torch.float32)
    write_safetensors(os.path.join(OUT, f"{name}_golden.safetensors"), res)
    # Conv biases right before a BatchNorm have zero gradient in exact arithmetic (the mean is
    # subtracted); their check only says "about zero", so they are left out of this summary.
    grads = [(float(v.abs().max()), k) for k, v in r64.items()
             if k.startswith("grad.") and float(v.abs().max()) > 1e-12]
    worst = max((float(res[f"err.{k}"]) / float(r64[k].abs().max()), k) for _, k in grads)
    print(f"{name}: params {sum(p.numel() for p in model.parameters())}, "
          f"loss {float(r64['loss0']):.5f} -> {float(r64[f'loss{STEPS - 1}']):.5f}, "
          f"smallest max|grad| {min(grads)[0]:.2e} ({min(grads)[1]}), "
          f"worst fp32-vs-fp64 gradient error {worst[0]:.2e} of its max ({worst[1]})")


# SGD options per case: between them every branch of torch.optim.SGD's rule is exercised.
SGD_OPTIONS = {
    "fcn8s": dict(lr=0.02, momentum=0.9, weight_decay=1e-2, nesterov=True),
    "fcn16s": dict(lr=0.02, momentum=0.9, dampening=0.1, weight_decay=1e-2),
    "fcn32s": dict(lr=0.02, momentum=0.9, weight_decay=1e-2),
    "fcn8s_vgg11_bn": dict(lr=0.02, momentum=0.9, weight_decay=1e-2, nesterov=True),
    "fcn_resnet_small": dict(lr=0.02, momentum=0.9, weight_decay=1e-2),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    x = torch.randn(2, 3, 32, 32, generator=gen)
    target = torch.randint(0, 3, (2, 32, 32), generator=gen)
    target[:, :3, :] = 255
    target[1, 20:23, 5:25] = 255
    x64 = torch.randn(2, 3, 64, 64, generator=gen)
    target64 = torch.randint(0, 3, (2, 64, 64), generator=gen)
    target64[:, :5, :] = 255
    target64[0, 30:40, 10:50] = 255
    write_safetensors(os.path.join(OUT, "input.safetensors"),
                      {"input": x, "target": target.int(), "input64": x64,
                       "target64": target64.int()})
    for variant in ["fcn8s", "fcn16s", "fcn32s"]:
        torch.manual_seed(7)
        m = VggFcn(variant, "vgg16", num_classes=3, width=1 / 16, head=8)
        randomize(m, gen)
        golden(variant, m, x, target, SGD_OPTIONS[variant])
    torch.manual_seed(7)
    m = ResNetFcn(3, [1, 1, 1, 1], 1 / 16)
    randomize(m, gen)
    golden("fcn_resnet_small", m, x, target, SGD_OPTIONS["fcn_resnet_small"])
    torch.manual_seed(7)
    m = VggFcn("fcn8s", "vgg11_bn", num_classes=3, width=1 / 16, head=8)
    randomize(m, gen)
    golden("fcn8s_vgg11_bn", m, x64, target64, SGD_OPTIONS["fcn8s_vgg11_bn"])


def full():
    """Full-size parity data (not committed): weights as .pth, input and eval logits."""
    out = "/tmp/fcn_full"
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(99)
    x = torch.randn(1, 3, 96, 96, generator=gen)
    res = {"input": x}
    torch.manual_seed(3)
    m = VggFcn("fcn8s", "vgg16", num_classes=21).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():  # VGG's own init, as torchvision does
            if "stage" in name and name.endswith("weight"):
                nn.init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
            elif "stage" in name:
                p.zero_()
        res["fcn8s_out"] = m(x)["out"]
    torch.save(m.state_dict(), f"{out}/fcn8s_vgg16.pth")
    torch.manual_seed(4)
    r = ResNetFcn(21, [3, 4, 6, 3], 1.0).eval()
    randomize(r, gen)
    with torch.no_grad():
        o = r(x)
    res["resnet50_out"], res["resnet50_aux"] = o["out"], o["aux"]
    torch.save(r.state_dict(), f"{out}/fcn_resnet50.pth")
    write_safetensors(f"{out}/logits.safetensors", res)
    print("wrote", out)


if __name__ == "__main__":
    if "--full" in sys.argv:
        full()
    else:
        main()
