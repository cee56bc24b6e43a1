#!/usr/bin/env python3
"""Dev-only peer of bench/cold_start.ts: PyTorch's cold start for one prediction.

/usr/bin/python3 scripts/bench_cold_torch.py <weights.pth|.safetensors> <image.png> <out_mask.png>

Times, from interpreter start (the caller measures the whole process too): torch.load (or
safetensors.torch.load_file for a .safetensors file), building FCN-8s/VGG16 and loading the state
dict, the forward + argmax of the normalised image, and saving the mask PNG. PyTorch's defaults
except the thread count: TORCH_THREADS (the bench passes our BLAS backend's), else PyTorch's own.
Prints one JSON line.
"""
import json
import os
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_model_goldens import VggFcn  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def main():
    weights, image, out = sys.argv[1:4]
    default_threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", default_threads)))
    t_import = time.perf_counter()
    if weights.endswith(".safetensors"):
        from safetensors.torch import load_file
        sd = load_file(weights)
    else:
        sd = torch.load(weights, map_location="cpu")
    t_load = time.perf_counter()
    model = VggFcn("fcn8s", "vgg16", num_classes=21)
    model.load_state_dict(sd)
    model.eval()
    t_build = time.perf_counter()
    rgb = np.asarray(Image.open(image).convert("RGB"), dtype=np.float32) / 255
    x = torch.from_numpy(((rgb - MEAN) / STD).transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        mask = model(x)["out"].argmax(1)[0].to(torch.uint8).numpy()
    t_forward = time.perf_counter()
    Image.fromarray(mask, mode="P").save(out)
    t_end = time.perf_counter()
    print(json.dumps({
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "default_threads": default_threads,
        "import_s": t_import - T0, "load_s": t_load - t_import, "build_s": t_build - t_load,
        "forward_s": t_forward - t_build, "save_s": t_end - t_forward, "total_s": t_end - T0,
    }))


if __name__ == "__main__":
    main()
