"""Converts Resemblyzer's GE2E speaker encoder (`resemblyzer/pretrained.pt`, PyPI Resemblyzer 0.1.4) to
`speaker/assets/ge2e.safetensors`, which warble-speaker embeds with `include_bytes!`.

Usage (from the repository root):
    /work/venv-clone/bin/python scripts/ge2e/convert.py [--out speaker/assets/ge2e.safetensors]

Keys keep the checkpoint's own names (`lstm.weight_ih_l0`, `linear.weight`, …), all float32. The
GE2E loss parameters `similarity_weight`/`similarity_bias` are dropped: inference never uses them
(Resemblyzer itself loads with `strict=False` and has no such attributes).

The safetensors file is written by hand (8-byte little-endian header length, JSON header, raw
little-endian data) so that the script needs nothing beyond torch and numpy; tensors are stored in
sorted key order so the output is byte-for-byte reproducible.
"""

import argparse
import hashlib
import json
import os
import struct

import numpy as np
import torch

from _resemblyzer import PACKAGE_DIR

INFERENCE_PREFIXES = ("lstm.", "linear.")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the data section starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.join(here, "..", "..", "speaker", "assets", "ge2e.safetensors")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.normpath(default_out))
    args = parser.parse_args()

    source = os.path.join(PACKAGE_DIR, "pretrained.pt")
    checkpoint = torch.load(source, map_location="cpu")
    state = checkpoint["model_state"]
    tensors = {k: v.detach().float().numpy() for k, v in state.items() if k.startswith(INFERENCE_PREFIXES)}
    dropped = sorted(k for k in state if not k.startswith(INFERENCE_PREFIXES))
    write_safetensors(args.out, tensors)

    print(f"source  {source}\n        sha256 {sha256(source)}")
    print(f"wrote   {args.out} ({os.path.getsize(args.out)} bytes, {len(tensors)} tensors)\n        sha256 {sha256(args.out)}")
    print(f"dropped {', '.join(dropped)}")


if __name__ == "__main__":
    main()
