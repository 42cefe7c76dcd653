#!/usr/bin/env python3
"""Check the rebuilt f32 model against the golden files (audio, durations, dur_float).

usage: verify_f32.py [--model F32.onnx] [--golden DIR] [case ...]
Runs onnxruntime CPUExecutionProvider with intra_op_num_threads=2, inter_op 1 (as the golden run did).
The durations and dur_float tensors are added as extra graph outputs (this does not change the audio bits).
"""
import argparse
import json
import os

import numpy as np
import onnx
import onnxruntime as ort

DUR = "/encoder/Cast_output_0"        # int64 [1,T]: max(1, round(dur_float))
DUR_FLOAT = "/encoder/Div_output_0"   # float [1,T]: sum(sigmoid(logits)) / speed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="/work/ort-f32/kokoro-v1.0-f32.onnx")
    ap.add_argument("--golden", default="/work/shared/golden")
    ap.add_argument("--voices", default="/work/shared/models/voices")
    ap.add_argument("cases", nargs="*", default=["c01_en_tiny", "c02_ja_short", "c07_en_100", "c11_en_400"])
    a = ap.parse_args()

    m = onnx.load(a.model)
    names = {o for n in m.graph.node for o in n.output}
    extra = [x for x in (DUR, DUR_FLOAT) if x in names]
    for x in extra:
        m.graph.output.append(onnx.ValueInfoProto(name=x))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    del m
    print(f"onnxruntime {ort.__version__}, model {a.model}")

    for case in a.cases:
        d = os.path.join(a.golden, case)
        cj = json.load(open(os.path.join(d, "case.json")))
        ids = np.array([cj["input_ids"]], dtype=np.int64)
        style = np.load(os.path.join(d, "style.npy")).astype(np.float32)
        # the voice pack row n_tokens-1 must be the golden style
        pack = np.fromfile(os.path.join(a.voices, cj["voice"] + ".bin"), dtype="<f4").reshape(510, 1, 256)
        assert np.array_equal(pack[cj["n_tokens"] - 1], style), "style row mismatch"
        speed = np.array([cj["speed"]], dtype=np.float32)
        outs = sess.run(None, {"tokens": ids, "style": style, "speed": speed})
        res = dict(zip([o.name for o in sess.get_outputs()], outs))
        audio, ref = res["audio"], np.load(os.path.join(d, "audio_f32.npy"))
        msg = f"{case}: T={ids.shape[1]} audio {audio.shape[0]} vs golden {ref.shape[0]} samples"
        if audio.shape == ref.shape:
            err = audio.astype(np.float64) - ref
            e2 = np.sum(err ** 2)
            snr = 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / e2) if e2 > 0 else float("inf")
            msg += (f"; max|diff| {np.abs(err).max():.3g}, SNR {snr:.1f} dB"
                    f", bit-exact {np.array_equal(audio, ref)}")
        if DUR in res:
            gd = np.load(os.path.join(d, "durations.npy"))
            msg += f"; durations equal {np.array_equal(res[DUR], gd)} (sum {res[DUR].sum()})"
        if DUR_FLOAT in res:
            gf = np.load(os.path.join(d, "dur_float.npy"))
            msg += f"; dur_float max|diff| {np.abs(res[DUR_FLOAT] - gf).max():.3g}"
        print(msg, flush=True)


if __name__ == "__main__":
    main()
