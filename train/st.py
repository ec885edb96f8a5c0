"""Minimal safetensors reader and writer (F32, BF16, F16, I64), no third-party package."""

import json
import struct

import numpy as np
import torch

_DT = {"F32": (torch.float32, 4), "BF16": (torch.bfloat16, 2), "F16": (torch.float16, 2),
       "I64": (torch.int64, 8), "I32": (torch.int32, 4)}
_NAME = {v[0]: k for k, v in _DT.items()}


def _raw(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save(tensors, path, metadata=None):
    """Write {name: tensor} in sorted name order with 8-byte aligned header."""
    header = {}
    off = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name]
        b = _raw(t)
        header[name] = {"dtype": _NAME[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def load(path):
    """Read a safetensors file into {name: tensor} (dtype as stored)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt, size = _DT[info["dtype"]]
        a, b = info["data_offsets"]
        buf = data[base + a:base + b]
        if dt == torch.bfloat16:
            t = torch.from_numpy(np.frombuffer(buf, dtype=np.int16).copy()).view(torch.bfloat16)
        else:
            npdt = {torch.float32: np.float32, torch.float16: np.float16, torch.int64: np.int64,
                    torch.int32: np.int32}[dt]
            t = torch.from_numpy(np.frombuffer(buf, dtype=npdt).copy())
        out[name] = t.reshape(info["shape"])
    return out
