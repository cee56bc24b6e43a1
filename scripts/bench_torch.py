#!/usr/bin/env python3
"""PyTorch peer of `deno task bench`: times the same kernel and model cases on the CPU.

Run by bench/torch.ts as `/usr/bin/python3 scripts/bench_torch.py < spec.json`; prints one
JSON object on stdout. The spec (written by the bench) lists:
  threads      torch.set_num_threads: our BLAS backend's thread count (PyTorch's own default,
               the physical cores, is reported as default_threads); nothing else is set
  timing       warmup, warmup_ms, reps, budget_ms, min_time_ms, max_reps, single_run_ms: the
               rules of bench/timing.ts
  kernels      cases of bench/cases.ts: kind conv|convT|pool|ce|matmul, pass, geometry `g`
               (ConvGeom / PoolGeom, NCHW) or sizes
  models       {id, model: fcn8s|fcn8s_small|fcn_resnet50, size, batch, mode: forward|train}
Output: {"torch": version, "threads": n, "default_threads": n, "mkldnn": bool, "results": [{id,
ms, samples, cold, load, note?}]}; load = the machine's load during the timed runs (bench/load.ts:
avg1, busyPct, ownPct, otherPct, seconds) or null off Linux. Backward kernels go through aten::convolution_backward and
max_pool2d_with_indices_backward (no autograd bookkeeping); the cross-entropy backward through
torch.autograd.grad on a kept graph.

Needs Debian's PyTorch (apt-get install -y python3-torch python3-torchvision).
"""
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CLASSES = 21


def proc_ticks():
    """(busy, total) ticks of all cores and this process's own ticks, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        with open("/proc/self/stat") as f:
            t = f.read()
        fields = t[t.rindex(")") + 2:].split()
        own = sum(int(x) for x in fields[11:15])
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v), own


class LoadWindow:
    """bench/load.ts's startLoad in Python: the machine's load between start and end()."""

    def __init__(self):
        self.a, self.t0 = proc_ticks(), time.perf_counter()

    def end(self):
        b = proc_ticks()
        if self.a is None or b is None or b[1] <= self.a[1]:
            return None
        total = b[1] - self.a[1]

        def pct(ticks):
            return min(100, max(0, round(ticks / total * 100)))
        busy = pct(b[0] - self.a[0])
        own = min(busy, pct(b[2] - self.a[2]))
        return {"avg1": round(os.getloadavg()[0], 2), "busyPct": busy, "ownPct": own,
                "otherPct": busy - own, "seconds": round(time.perf_counter() - self.t0, 3)}


def measure(run, timing):
    """bench/timing.ts's rules: warm-up, timed runs within the budget; ms, every sample, load."""
    def once():
        t0 = time.perf_counter()
        run()
        return (time.perf_counter() - t0) * 1000

    warm, i = 0.0, 0
    while i < timing["warmup"] or (warm < timing["warmup_ms"] and i < 5):
        window = LoadWindow()
        ms = once()
        if ms >= timing["single_run_ms"]:
            return {"ms": ms, "samples": [ms], "cold": True, "load": window.end()}
        warm += ms
        i += 1
    samples, spent = [], 0.0
    window = LoadWindow()

    def more():
        n = len(samples)
        return (n == 0 or (n < timing["reps"] and spent < timing["budget_ms"])
                or (n < timing["max_reps"] and spent < timing["min_time_ms"]))
    while more():
        ms = once()
        samples.append(ms)
        spent += ms
    return {"ms": statistics.median(samples), "samples": samples, "cold": False,
            "load": window.end()}


def rand(*shape, scale=1.0):
    return (torch.rand(*shape) * 2 - 1) * scale


def conv_args(g):
    return dict(stride=(g["strideH"], g["strideW"]), padding=(g["padH"], g["padW"]),
                dilation=(g["dilH"], g["dilW"]))


def conv_backward(dy, x, w, g, transposed, mask):
    """aten::convolution_backward of conv2d (or conv_transpose2d when transposed)."""
    a = conv_args(g)
    return torch.ops.aten.convolution_backward(
        dy, x, w, None, list(a["stride"]), list(a["padding"]), list(a["dilation"]),
        transposed, [0, 0], 1, mask)


def kernel_run(c):
    """The call to time for one kernel case."""
    kind, p = c["kind"], c["pass"]
    if kind in ("conv", "convT"):
        g = c["g"]
        x = rand(g["n"], g["c"], g["h"], g["w"])  # the conv's input space
        y = rand(g["n"], g["k"], g["oh"], g["ow"])  # the conv's output space
        w = rand(g["k"], g["c"], g["kh"], g["kw"], scale=0.05)  # [K, C, KH, KW]
        a = conv_args(g)
        if kind == "conv":
            b = rand(g["k"])
            return {
                "fwd": lambda: F.conv2d(x, w, b, **a),
                "bwd_data": lambda: conv_backward(y, x, w, g, False, [True, False, False]),
                "bwd_weight": lambda: conv_backward(y, x, w, g, False, [False, True, False]),
            }[p]
        # convT: input y [N, K, OH, OW] (K = its in-channels), weight [K, C, KH, KW], output x.
        return {
            "fwd": lambda: F.conv_transpose2d(y, w, None, **a),
            "bwd_data": lambda: conv_backward(x, y, w, g, True, [True, False, False]),
            "bwd_weight": lambda: conv_backward(x, y, w, g, True, [False, True, False]),
        }[p]
    if kind == "pool":
        g = c["g"]
        x = rand(g["n"], g["c"], g["h"], g["w"])
        k, s, pd = (g["kh"], g["kw"]), (g["strideH"], g["strideW"]), (g["padH"], g["padW"])
        if p == "fwd":
            return lambda: F.max_pool2d(x, k, s, pd, return_indices=True)
        y, idx = F.max_pool2d(x, k, s, pd, return_indices=True)
        dy = rand(*y.shape)
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            dy, x, list(k), list(s), list(pd), [1, 1], False, idx)
    if kind == "ce":
        logits = rand(c["n"], c["k"], c["hw"], scale=3.0)
        target = torch.randint(0, c["k"], (c["n"], c["hw"]))
        if p == "fwd":
            return lambda: F.cross_entropy(logits, target, ignore_index=255, reduction="none")
        lg = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(lg, target, ignore_index=255, reduction="none")
        g = rand(*loss.shape)
        return lambda: torch.autograd.grad(loss, lg, g, retain_graph=True)
    if kind == "matmul":
        a, b = rand(c["m"], c["k"]), rand(c["k"], c["n"])
        return lambda: a @ b
    raise ValueError(f"unknown kernel kind {kind!r}")


def scaled(c, width):
    return max(1, round(c * width))


class FCN8s(nn.Module):
    """FCN-8s on VGG16 as lib/models/vgg_fcn.ts builds it (width-scaled backbone, head size)."""

    def __init__(self, width=1.0, head=4096, k=CLASSES):
        super().__init__()
        stages, in_c = [], 3
        for count, c in zip([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]):
            c = scaled(c, width)
            layers = []
            for _ in range(count):
                layers += [nn.Conv2d(in_c, c, 3, padding=1), nn.ReLU(inplace=True)]
                in_c = c
            layers.append(nn.MaxPool2d(2, 2))
            stages.append(nn.Sequential(*layers))
        self.stages = nn.ModuleList(stages)
        self.head = nn.Sequential(
            nn.Conv2d(in_c, head, 7, padding=3), nn.ReLU(inplace=True), nn.Dropout2d(0.5),
            nn.Conv2d(head, head, 1), nn.ReLU(inplace=True), nn.Dropout2d(0.5),
            nn.Conv2d(head, k, 1))
        self.pool3_score = nn.Conv2d(scaled(256, width), k, 1)
        self.pool4_score = nn.Conv2d(scaled(512, width), k, 1)
        self.up2_1 = nn.ConvTranspose2d(k, k, 4, 2, 1, bias=False)
        self.up2_2 = nn.ConvTranspose2d(k, k, 4, 2, 1, bias=False)
        self.up8 = nn.ConvTranspose2d(k, k, 16, 8, 4, bias=False)

    def forward(self, x):
        h, w = x.shape[2:]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        y = F.pad(x, (0, pw - w, 0, ph - h)) if (ph, pw) != (h, w) else x
        pools = []
        for stage in self.stages:
            y = stage(y)
            pools.append(y)
        s = self.head(y)
        up = self.up2_1(s)
        s = up + self.pool4_score(pools[3])[:, :, :up.shape[2], :up.shape[3]]
        up = self.up2_2(s)
        s = up + self.pool3_score(pools[2])[:, :, :up.shape[2], :up.shape[3]]
        return self.up8(s)[:, :, :h, :w]


def build_model(kind):
    if kind == "fcn8s":
        return FCN8s()
    if kind == "fcn8s_small":
        return FCN8s(width=1 / 8, head=512)
    if kind == "fcn_resnet50":
        from torchvision.models.segmentation import fcn_resnet50
        return fcn_resnet50(weights=None, weights_backbone=None, num_classes=CLASSES,
                            aux_loss=False)
    raise ValueError(f"unknown model {kind!r}")


def model_run(model, c):
    n, s = c["batch"], c["size"]
    x = rand(n, 3, s, s)
    if c["mode"] == "forward":
        model.eval()

        def fwd():
            with torch.no_grad():
                out = model(x)
                return out["out"] if isinstance(out, dict) else out
        return fwd
    model.train()
    target = torch.randint(0, CLASSES, (n, s, s))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)

    def step():
        out = model(x)
        out = out["out"] if isinstance(out, dict) else out
        loss = F.cross_entropy(out, target, ignore_index=255)
        opt.zero_grad()  # as PyTorch's docs write it (1.13's default: set_to_none=False)
        loss.backward()
        opt.step()
        return loss
    return step


def main():
    spec = json.load(sys.stdin)
    default_threads = torch.get_num_threads()
    torch.set_num_threads(spec.get("threads", default_threads))
    torch.manual_seed(0)
    timing = spec["timing"]
    results = []
    for c in spec.get("kernels", []):
        try:
            results.append({"id": c["id"], **measure(kernel_run(c), timing)})
        except Exception as e:  # report and go on: one unsupported case must not end the run
            results.append({"id": c["id"], "note": f"n/a: {type(e).__name__}: {e}"})
    models = {}
    for c in spec.get("models", []):
        try:
            if c["model"] not in models:
                models[c["model"]] = build_model(c["model"])
            results.append({"id": c["id"], **measure(model_run(models[c["model"]], c), timing)})
        except Exception as e:
            results.append({"id": c["id"], "note": f"n/a: {type(e).__name__}: {e}"})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "default_threads": default_threads,
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }))


if __name__ == "__main__":
    main()
