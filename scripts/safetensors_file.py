"""Dev-only: the safetensors writer the golden scripts share (numpy only)."""
import json
import struct

import numpy as np


def write_arrays(path, arrays, metadata=None):
    """The safetensors format by hand: u64 LE header length, JSON header (`__metadata__` first
    where given, space-padded to a multiple of 8), then the raw little-endian bytes of each
    `name: (dtype, array)` of `arrays`, dtype as safetensors names it ("F32", "I64", ...)."""
    header, blobs, offset = ({} if metadata is None else {"__metadata__": metadata}), [], 0
    for name, (dtype, a) in arrays.items():
        raw = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
