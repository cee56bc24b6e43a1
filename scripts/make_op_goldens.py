#!/usr/bin/env python3
"""Dev-only: writes PyTorch goldens of single ops into fixtures/ops/ for tests/ops_golden_test.ts.

Needs Debian's PyTorch (apt-get install -y python3-torch) and runs with the system interpreter,
from anywhere:

    /usr/bin/python3 scripts/make_op_goldens.py

For every case it draws seeded inputs in float32, computes the op in float64 (so the goldens are
the exact answer of the float32 inputs, not PyTorch's float32 rounding), and backpropagates
`sum(out * cot)` for a seeded cotangent `cot` of the output's shape. Files written:

  fixtures/ops/goldens.safetensors   one tensor per name below (F32, or I32 for class ids)
      <case>.<input>           each input (e.g. conv2d_s2_p1_bias.x)
      <case>.out               the op's output
      <case>.cot               the cotangent
      <case>.grad.<input>      d sum(out * cot) / d input, for every differentiable input
      <case>.after.<buffer>    buffers updated in place (BN running stats, SGD parameters)
  fixtures/ops/cases.json            a list of {name, op, options, inputs, grads, after}:
      op        the function of mod.ts to call (sgd: the SGD class over `steps` gradients)
      options   its options, with mod.ts's names (camelCase)
      inputs    input names in the order the op takes them
      grads     the inputs whose gradients are stored
      after     the buffers stored after the op ran
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "ops")

tensors = {}  # name -> float32 / int32 numpy array, in insertion order
cases = []


def uniform(gen, shape, lo=-1.0, hi=1.0):
    """Float32 values in [lo, hi), returned as a float64 tensor holding exactly those values."""
    t = torch.rand(shape, generator=gen, dtype=torch.float32) * (hi - lo) + lo
    return t.double()


def store(name, t):
    a = t.detach().cpu().numpy()
    if a.dtype in (np.int64, np.int32):
        tensors[name] = a.astype("<i4")
    else:
        tensors[name] = a.astype("<f4")


def case(name, op, fn, inputs, options=None, grads=None, after=None, seed=0):
    """Runs `fn(**inputs)`, stores inputs, output, cotangent, gradients and updated buffers."""
    gen = torch.Generator().manual_seed(seed + 12345)
    grads = grads if grads is not None else [
        k for k, v in inputs.items() if v is not None and v.is_floating_point()
    ]
    for k, v in inputs.items():
        store(f"{name}.{k}", v)  # before the op: it may update buffers in place
    leaves = {k: (v.clone().requires_grad_(k in grads) if v is not None else None)
              for k, v in inputs.items()}
    out = fn(**leaves)
    cot = uniform(gen, out.shape)
    (out * cot).sum().backward()
    store(f"{name}.out", out)
    store(f"{name}.cot", cot)
    for k in grads:
        store(f"{name}.grad.{k}", leaves[k].grad)
    for k in after or []:
        store(f"{name}.after.{k}", leaves[k])
    cases.append({"name": name, "op": op, "options": options or {}, "inputs": list(inputs),
                  "grads": grads, "after": after or []})


def targets(gen, shape, k, ignore, frac=0.2):
    """Class ids in [0, k) with about `frac` of them set to `ignore`."""
    t = torch.randint(0, k, shape, generator=gen)
    t[torch.rand(shape, generator=gen) < frac] = ignore
    return t


def conv_cases(gen):
    x = uniform(gen, (2, 3, 9, 9))
    w, b = uniform(gen, (4, 3, 3, 3)), uniform(gen, (4,))
    case("conv2d_s2_p1_bias", "conv2d",
         lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1),
         {"x": x, "weight": w, "bias": b}, {"stride": 2, "padding": 1})
    case("conv2d_d2_p2", "conv2d",
         lambda x, weight: F.conv2d(x, weight, padding=2, dilation=2),
         {"x": uniform(gen, (1, 2, 10, 8)), "weight": uniform(gen, (3, 2, 3, 3))},
         {"padding": 2, "dilation": 2})
    # Rectangular everything, and the fused ReLU.
    case("conv2d_rect_relu", "conv2d",
         lambda x, weight, bias: F.relu(
             F.conv2d(x, weight, bias, stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
         {"x": uniform(gen, (2, 3, 7, 9)), "weight": uniform(gen, (5, 3, 3, 2)),
          "bias": uniform(gen, (5,))},
         {"stride": [2, 1], "padding": [1, 0], "dilation": [1, 2], "relu": True})
    case("conv2d_1x1", "conv2d", lambda x, weight, bias: F.conv2d(x, weight, bias),
         {"x": uniform(gen, (2, 4, 5, 5)), "weight": uniform(gen, (6, 4, 1, 1)),
          "bias": uniform(gen, (6,))})
    case("conv_transpose2d_s2_p1_op1_bias", "convTranspose2d",
         lambda x, weight, bias: F.conv_transpose2d(
             x, weight, bias, stride=2, padding=1, output_padding=1),
         {"x": uniform(gen, (2, 3, 5, 5)), "weight": uniform(gen, (3, 4, 3, 3)),
          "bias": uniform(gen, (4,))},
         {"stride": 2, "padding": 1, "outputPadding": 1})
    case("conv_transpose2d_k4_s2_p1", "convTranspose2d",
         lambda x, weight: F.conv_transpose2d(x, weight, stride=2, padding=1),
         {"x": uniform(gen, (1, 4, 6, 6)), "weight": uniform(gen, (4, 2, 4, 4))},
         {"stride": 2, "padding": 1})
    # FCN-8s's final upsampling: kernel 16, stride 8, no padding.
    case("conv_transpose2d_k16_s8", "convTranspose2d",
         lambda x, weight: F.conv_transpose2d(x, weight, stride=8),
         {"x": uniform(gen, (1, 2, 3, 3)), "weight": uniform(gen, (2, 2, 16, 16))},
         {"stride": 8})


def pool_cases(gen):
    case("max_pool2d_k2_ceil", "maxPool2d",
         lambda x: F.max_pool2d(x, 2, 2, ceil_mode=True),
         {"x": uniform(gen, (2, 3, 7, 9))}, {"kernelSize": 2, "stride": 2, "ceilMode": True})
    case("max_pool2d_k3_s2_p1", "maxPool2d",
         lambda x: F.max_pool2d(x, 3, 2, padding=1),
         {"x": uniform(gen, (1, 2, 8, 8))}, {"kernelSize": 3, "stride": 2, "padding": 1})
    case("max_pool2d_k3_s2_p1_ceil", "maxPool2d",
         lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True),
         {"x": uniform(gen, (1, 2, 10, 7))},
         {"kernelSize": 3, "stride": 2, "padding": 1, "ceilMode": True})


def bn_cases(gen):
    def bn(training, momentum, eps):
        return lambda x, running_mean, running_var, weight, bias: F.batch_norm(
            x, running_mean, running_var, weight, bias, training, momentum, eps)

    def inputs(shape):
        c = shape[1]
        return {"x": uniform(gen, shape, -1, 3), "running_mean": uniform(gen, (c,)),
                "running_var": uniform(gen, (c,), 0.5, 2), "weight": uniform(gen, (c,), 0.5, 1.5),
                "bias": uniform(gen, (c,))}

    grads = ["x", "weight", "bias"]
    case("batch_norm_train", "batchNorm2d", bn(True, 0.1, 1e-5), inputs((3, 4, 5, 5)),
         {"training": True, "momentum": 0.1, "eps": 1e-5}, grads, ["running_mean", "running_var"])
    case("batch_norm_train_m03", "batchNorm2d", bn(True, 0.3, 1e-3), inputs((2, 3, 4, 6)),
         {"training": True, "momentum": 0.3, "eps": 1e-3}, grads, ["running_mean", "running_var"])
    case("batch_norm_eval", "batchNorm2d", bn(False, 0.1, 1e-5), inputs((2, 3, 4, 5)),
         {"training": False, "eps": 1e-5}, grads, ["running_mean", "running_var"])


def resize_cases(gen):
    for name, shape, size in [("up", (2, 3, 5, 7), (11, 16)), ("down", (1, 2, 12, 10), (5, 4)),
                              ("x2", (1, 2, 4, 4), (8, 8))]:
        for ac in (False, True):
            case(f"interpolate_{name}_{'ac' if ac else 'hp'}", "interpolate",
                 lambda x, size=size, ac=ac: F.interpolate(
                     x, size=size, mode="bilinear", align_corners=ac),
                 {"x": uniform(gen, shape)}, {"size": list(size), "alignCorners": ac})
    case("crop", "crop", lambda x: x[:, :, 1:5, 2:5],
         {"x": uniform(gen, (2, 3, 6, 7))}, {"height": 4, "width": 3, "top": 1, "left": 2})
    case("pad", "pad", lambda x: F.pad(x, (2, 1, 1, 3)),
         {"x": uniform(gen, (2, 3, 4, 4))}, {"height": 8, "width": 7, "top": 1, "left": 2})


def loss_cases(gen):
    logits = uniform(gen, (2, 5, 4, 6), -3, 3)
    t = targets(gen, (2, 4, 6), 5, 255)
    w = uniform(gen, (5,), 0.2, 2)
    ce = F.cross_entropy
    case("cross_entropy_mean", "crossEntropy",
         lambda logits, target: ce(logits, target, ignore_index=255),
         {"logits": logits, "target": t}, {"ignoreIndex": 255, "reduction": "mean"})
    for red in ("mean", "sum", "none"):
        case(f"cross_entropy_weight_{red}", "crossEntropy",
             lambda logits, target, weight, red=red: ce(
                 logits, target, weight, ignore_index=255, reduction=red),
             {"logits": logits, "target": t, "weight": w},
             {"ignoreIndex": 255, "reduction": red}, ["logits"])
    # Plain [N, K] logits, another ignore index.
    case("cross_entropy_2d_ignore0", "crossEntropy",
         lambda logits, target: ce(logits, target, ignore_index=0),
         {"logits": uniform(gen, (7, 4), -2, 2), "target": torch.tensor([0, 1, 2, 3, 3, 0, 1])},
         {"ignoreIndex": 0, "reduction": "mean"})


def misc_cases(gen):
    case("matmul_7x5x9", "matmul", lambda a, b: a @ b,
         {"a": uniform(gen, (7, 5)), "b": uniform(gen, (5, 9))})
    case("matmul_33x17x20", "matmul", lambda a, b: a @ b,
         {"a": uniform(gen, (33, 17)), "b": uniform(gen, (17, 20))})
    case("matmul_1x64x3", "matmul", lambda a, b: a @ b,
         {"a": uniform(gen, (1, 64)), "b": uniform(gen, (64, 3))})
    x = uniform(gen, (2, 3, 4, 4))
    x[x.abs() < 1e-3] = 0.5  # keep ReLU away from its kink
    case("relu", "relu", lambda x: F.relu(x), {"x": x})
    for op, fn in (("add", lambda a, b: a + b), ("mul", lambda a, b: a * b)):
        case(op, op, fn, {"a": uniform(gen, (2, 3, 4)), "b": uniform(gen, (2, 3, 4))})
        case(f"{op}_scalar", op, fn, {"a": uniform(gen, (2, 3, 4)), "b": uniform(gen, (1,))})
    case("sum_all", "sum", lambda x: x.sum(), {"x": uniform(gen, (3, 4, 5))})
    case("sum_dim1", "sum", lambda x: x.sum(1), {"x": uniform(gen, (3, 4, 5))}, {"dim": 1})
    case("mean_all", "mean", lambda x: x.mean(), {"x": uniform(gen, (3, 4, 5))})
    case("mean_dim_last", "mean", lambda x: x.mean(-1), {"x": uniform(gen, (3, 4, 5))}, {"dim": -1})
    # argmax has no gradient: its "out" is the i32 index.
    x = uniform(gen, (2, 5, 3, 4))
    store("argmax_dim1.x", x)
    store("argmax_dim1.out", x.argmax(1))
    cases.append({"name": "argmax_dim1", "op": "argmax", "options": {"dim": 1}, "inputs": ["x"],
                  "grads": [], "after": []})


def sgd_cases(gen):
    """torch.optim.SGD over three given gradients; `after.param` is [steps, ...param]."""
    for name, opts in [
        ("sgd_momentum_wd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-2}),
        ("sgd_nesterov", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
        ("sgd_dampening", {"lr": 0.2, "momentum": 0.5, "dampening": 0.3}),
        ("sgd_plain", {"lr": 0.3}),
    ]:
        p0 = uniform(gen, (12,))
        steps = uniform(gen, (3, 12))
        p = p0.clone().requires_grad_(True)
        opt = torch.optim.SGD([p], **opts)
        history = []
        for g in steps:
            p.grad = g.clone()
            opt.step()
            history.append(p.detach().clone())
        store(f"{name}.param", p0)
        store(f"{name}.steps", steps)
        store(f"{name}.after.param", torch.stack(history))
        camel = {"weight_decay": "weightDecay"}
        cases.append({"name": name, "op": "sgd",
                      "options": {camel.get(k, k): v for k, v in opts.items()},
                      "inputs": ["param", "steps"], "grads": [], "after": ["param"]})


def softmax_nll_cases(gen):
    """log_softmax / softmax along dim 1 and other dims, nll_loss with ignore, weights and each
    reduction. Shapes large enough that 1 KiB WebGPU bindings split classes into chunks."""
    for name, fn, op in (("log_softmax", F.log_softmax, "logSoftmax"),
                         ("softmax", F.softmax, "softmax")):
        case(f"{name}_dim1", op, lambda x, fn=fn: fn(x, dim=1),
             {"x": uniform(gen, (2, 6, 7, 8), -4, 4)}, {"dim": 1})
        case(f"{name}_dim_last", op, lambda x, fn=fn: fn(x, dim=-1),
             {"x": uniform(gen, (3, 4, 70), -4, 4)}, {"dim": -1})
        case(f"{name}_dim0", op, lambda x, fn=fn: fn(x, dim=0),
             {"x": uniform(gen, (5, 3, 4), -4, 4)}, {"dim": 0})
    log_probs = F.log_softmax(uniform(gen, (2, 5, 6, 8), -3, 3), dim=1)
    t = targets(gen, (2, 6, 8), 5, 255)
    w = uniform(gen, (5,), 0.2, 2)
    case("nll_loss_mean", "nllLoss",
         lambda input, target: F.nll_loss(input, target, ignore_index=255),
         {"input": log_probs, "target": t}, {"ignoreIndex": 255, "reduction": "mean"})
    for red in ("mean", "sum", "none"):
        case(f"nll_loss_weight_{red}", "nllLoss",
             lambda input, target, weight, red=red: F.nll_loss(
                 input, target, weight, ignore_index=255, reduction=red),
             {"input": log_probs, "target": t, "weight": w},
             {"ignoreIndex": 255, "reduction": red}, ["input"])
    # Plain [N, K] scores (nll_loss takes any values), PyTorch's ignore index -100.
    case("nll_loss_2d_ignore_neg100", "nllLoss",
         lambda input, target: F.nll_loss(input, target, ignore_index=-100),
         {"input": uniform(gen, (7, 4), -3, 1),
          "target": torch.tensor([0, 1, -100, 3, 2, -100, 1])},
         {"ignoreIndex": -100, "reduction": "mean"})


def write_safetensors(path, arrays, metadata):
    """The safetensors format by hand: u64 LE header length, JSON header (space-padded to a
    multiple of 8), then the raw little-endian bytes."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in arrays.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": "I32" if a.dtype.kind == "i" else "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2024)
    # New families go last: each draws from `gen`, so earlier cases keep their inputs.
    for make in (conv_cases, pool_cases, bn_cases, resize_cases, loss_cases, misc_cases, sgd_cases,
                 softmax_nll_cases):
        make(gen)
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "goldens.safetensors"), tensors,
                      {"generator": "scripts/make_op_goldens.py", "torch": torch.__version__})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        # One case per line: diffs stay readable when a case is added.
        f.write("[\n" + ",\n".join(json.dumps(c) for c in cases) + "\n]\n")
    size = os.path.getsize(os.path.join(OUT, "goldens.safetensors"))
    print(f"{len(cases)} cases, {len(tensors)} tensors, {size} bytes")


if __name__ == "__main__":
    main()
