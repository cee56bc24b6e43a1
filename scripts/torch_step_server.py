#!/usr/bin/env python3
"""Dev-only peer of bench/dnnl_probe.ts --train: PyTorch steps on request, so that the probe can
interleave them with ours in the same minutes of a shared machine.

/usr/bin/python3 scripts/torch_step_server.py <model> <size> <mode> [threads]

Builds the model of scripts/bench_torch.py (random weights, batch 1) and its step (`train`:
forward + cross entropy + backward + SGD with momentum, as `deno task train`; `forward`: eval
inference), prints "ready", then for every line on stdin runs one step and prints its ms; an
empty line or EOF ends it. Prints the peak RSS (MB) last.
"""
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import build_model, model_run  # noqa: E402


def main():
    model, size, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 2)
    torch.manual_seed(0)
    step = model_run(build_model(model), {"batch": 1, "size": size, "mode": mode})
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            break
        t0 = time.perf_counter()
        step()
        print(f"{(time.perf_counter() - t0) * 1000:.1f}", flush=True)
    print(f"rss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}", flush=True)


if __name__ == "__main__":
    main()
