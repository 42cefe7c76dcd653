#!/usr/bin/env python3
"""Independent reference for the int8 ONNX → PyTorch weight conversion.

Dequantizes kokoro-v1.0.int8.onnx with numpy, using only the mapping table
docs/onnx-int8-keys.tsv (which initializer is which torch key, and which scale / zero point
each weight uses) and the transforms described in docs/onnx-int8-notes.md. It does not look at
the Rust code. For every torch key it prints: key, shape, sum, and a position-weighted sum that
changes if elements are permuted (transposes, gate order). The Rust test
tests/onnx_int8.rs compares against the committed output tests/data/int8_checksums.tsv.

Usage (in a scratch venv: pip install onnx numpy):
    python3 weights/scripts/int8_reference_checksums.py MODEL.onnx onnx-int8-keys.tsv > weights/tests/data/int8_checksums.tsv
"""
import csv
import sys
from collections import defaultdict

import numpy as np
import onnx
from onnx import numpy_helper

model_path, tsv_path = sys.argv[1], sys.argv[2]
inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(model_path).graph.initializer}
rows = list(csv.DictReader(open(tsv_path), delimiter="\t"))

scale_of, zp_of = {}, {}
for r in rows:
    if r["kind"] != "qparam":
        continue
    for key in r["torch_key"].split(";"):
        (scale_of if "scale" in r["transform"] else zp_of)[key] = inits[r["onnx_name"]]

IOFC_TO_IFGO = [0, 2, 3, 1]


def reorder(m, hidden):
    return np.concatenate([m[i * hidden:(i + 1) * hidden] for i in IOFC_TO_IFGO], axis=0)


out = {}
for r in rows:
    if r["kind"] != "weight":
        continue
    key, q, t = r["torch_key"], inits[r["onnx_name"]], r["transform"]
    if t.startswith("W=(q.int8 - zp[n])"):  # MatMulInteger, per output column
        w = ((q.astype(np.float64) - zp_of[key].astype(np.float64)[None, :]) * scale_of[key][None, :]).T
    elif t.startswith("W=(q."):  # per-tensor: ConvInteger, Gather
        w = (q.astype(np.float64) - float(zp_of[key])) * float(scale_of[key])
    elif t.startswith("dir "):  # LSTM W / R
        d = int(t[4])
        w = ((q[d].astype(np.float64) - float(zp_of[key][d])) * float(scale_of[key][d])).T
        w = reorder(w, w.shape[0] // 4)
    elif t.startswith("float; B["):  # LSTM bias
        d = int(t[len("float; B["):][0])
        half = q.shape[1] // 2
        part = q[d, :half] if "(Wb)" in t else q[d, half:]
        w = reorder(part.astype(np.float64), half // 4)
    elif t.startswith("float32 [in,out]"):
        w = q.T.astype(np.float64)
    else:
        w = q.astype(np.float64)
    out[key] = w.astype(np.float32)

for key in sorted(out):
    v = out[key].astype(np.float64).ravel()
    weights = ((np.arange(v.size, dtype=np.int64) * 2654435761) % 1000) / 1000.0
    print(f"{key}\t{list(out[key].shape)}\t{v.sum():.9e}\t{(v * weights).sum():.9e}")
