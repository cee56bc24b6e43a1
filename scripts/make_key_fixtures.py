#!/usr/bin/env python3
"""Dev-only: records torchvision's state_dict keys and shapes (no weights) in
fixtures/golden/torchvision_keys.json, so tests check that full-size models use exactly
PyTorch's keys and that ImageNet backbones map onto them. Run: /usr/bin/python3 scripts/make_key_fixtures.py
"""
import json
import os

import torchvision

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "golden",
                   "torchvision_keys.json")


def keys(model):
    return [[k, list(v.shape)] for k, v in model.state_dict().items()]


res = {
    "vgg16": keys(torchvision.models.vgg16()),
    "vgg16_bn": keys(torchvision.models.vgg16_bn()),
    "vgg11": keys(torchvision.models.vgg11()),
    "resnet50": keys(torchvision.models.resnet50()),
    "fcn_resnet50": keys(torchvision.models.segmentation.fcn_resnet50(
        weights=None, weights_backbone=None, num_classes=21, aux_loss=True)),
    "fcn_resnet101": keys(torchvision.models.segmentation.fcn_resnet101(
        weights=None, weights_backbone=None, num_classes=21, aux_loss=True)),
}
with open(OUT, "w") as f:
    json.dump(res, f, separators=(",", ":"))
print({k: len(v) for k, v in res.items()})
