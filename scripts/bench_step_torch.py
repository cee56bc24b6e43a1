#!/usr/bin/env python3
"""PyTorch step server of `deno task bench`'s head-to-head sections (bench/step_client.ts).

/usr/bin/python3 scripts/bench_step_torch.py, then JSON lines on stdin:
  {"model": "fcn8s" | "fcn_resnet50", "size": 224, "mode": "forward" | "train", "threads": 2}
      builds the model (make_model_goldens.py's VggFcn / ResNetFcn: the layout our checkpoints
      and the ONNX exports use; ResNet without the aux head), random input, batch 1;
      answers {"ok": true, "description": ...}
  {"op": "step"}  one forward (eval, torch.no_grad) or training step (forward, cross-entropy,
      backward, SGD with momentum 0.9 and weight decay 1e-4, zero_grad() as written in
      PyTorch's docs); answers {"ms": wall time, "rssBytes": VmHWM}
  {"op": "quit"}

PyTorch runs with its defaults except torch.set_num_threads(threads), which the bench sets to the
thread count of our BLAS backend (PyTorch's own default, the number of physical cores, is reported
in the description).

Needs Debian's PyTorch (apt-get install -y python3-torch python3-torchvision).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import ResNetFcn, VggFcn  # noqa: E402

CLASSES = 21


def peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def prepare(spec):
    default_threads = torch.get_num_threads()
    threads = int(spec.get("threads", default_threads))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    size = int(spec["size"])
    if spec["model"] == "fcn8s":
        model = VggFcn("fcn8s", "vgg16", num_classes=CLASSES)
    elif spec["model"] == "fcn_resnet50":
        model = ResNetFcn(CLASSES, [3, 4, 6, 3], 1.0, aux=False)
    else:
        raise ValueError(f"unknown model {spec['model']!r}")
    x = torch.rand(1, 3, size, size) * 2 - 1
    description = (f"PyTorch {torch.__version__}, {threads} threads (set to match ours; its "
                   f"default here: {default_threads}), other settings default")
    if spec["mode"] == "forward":
        model.eval()

        def forward():
            with torch.no_grad():
                return model(x)["out"]
        return forward, description
    model.train()
    target = torch.randint(0, CLASSES, (1, size, size))
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)

    def step():
        loss = F.cross_entropy(model(x)["out"], target, ignore_index=255)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step, description


def answer(o):
    sys.stdout.write(json.dumps(o) + "\n")
    sys.stdout.flush()


def main():
    run = None
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        if msg.get("op") == "quit":
            break
        try:
            if run is None:
                run, description = prepare(msg)
                answer({"ok": True, "description": description})
                continue
            t0 = time.perf_counter()
            run()
            answer({"ms": (time.perf_counter() - t0) * 1000, "rssBytes": peak_rss()})
        except Exception as e:  # the bench reports it in the row
            answer({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
