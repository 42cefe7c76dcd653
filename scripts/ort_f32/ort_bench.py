#!/usr/bin/env python3
"""Time onnxruntime (CPU, intra_op_num_threads=2) on golden cases c07_en_100 and c11_en_400.

usage: ort_bench.py --model F32.onnx --golden /work/shared/golden [--runs 5] [--threads 2]
One warm-up run, then N timed runs per case; prints audio seconds, median wall seconds and
real-time factor (audio s / wall s, higher is faster).
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cases", nargs="+", default=["c07_en_100", "c11_en_400"])
    a = ap.parse_args()

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__} CPU, intra_op={a.threads}, model {os.path.basename(a.model)}, runs {a.runs}")

    for case in a.cases:
        d = os.path.join(a.golden, case)
        cj = json.load(open(os.path.join(d, "case.json")))
        feed = {
            "tokens": np.array([cj["input_ids"]], dtype=np.int64),
            "style": np.load(os.path.join(d, "style.npy")).astype(np.float32),
            "speed": np.array([cj["speed"]], dtype=np.float32),
        }
        audio = sess.run(None, feed)[0]  # warm-up
        secs = audio.shape[0] / cj.get("sample_rate", 24000)
        walls = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            sess.run(None, feed)
            walls.append(time.perf_counter() - t0)
        med = statistics.median(walls)
        print(f"{case}: tokens {cj['n_tokens']}, audio {secs:.2f} s, median wall {med:.3f} s "
              f"(min {min(walls):.3f}), RTF {secs / med:.2f}x")


if __name__ == "__main__":
    main()
