"""Writes the GE2E parity fixtures in speaker/tests/fixtures/ge2e/ from the real Resemblyzer package.

Usage (from the repository root, with Kokoro models for the speech):
    WARBLE_MODEL_DIR=/path/to/models /work/venv-clone/bin/python scripts/ge2e/reference.py \
        [--warble target/release/warble]

Three utterances are spoken by Warble itself (three Kokoro voices, 16 kHz), passed through Resemblyzer's
`preprocess_wav` (volume to -30 dBFS increase-only, webrtcvad trimming), giving ~0.9 s, ~3.3 s and ~6.1 s.
Each is stored as raw little-endian 16-bit PCM (`<name>.s16le`, value = sample / 32768). Every reference
number is computed from those quantised samples, so the Rust side reads exactly what Python embedded.

`ge2e.json` holds per clip: the partial mel ranges, the length the waveform is zero-padded to, the per-frame
band sums of the whole mel spectrogram the network is fed (a checksum of every frame), a few exact mel
frames, the partial embeddings and the utterance embedding (`VoiceEncoder.embed_utterance`, rate 1.3,
min_coverage 0.75). Numbers are rounded to 8 significant digits (float32 holds ~7.2) to keep the files small.
"""

import argparse
import json
import os
import subprocess
import tempfile

import librosa
import numpy as np
import soundfile
import torch

from _resemblyzer import VoiceEncoder, audio

CLIPS = [
    ("short", "af_heart", "Hello there."),
    ("medium", "bm_george", "The quick brown fox jumps over the lazy dog."),
    (
        "long",
        "af_bella",
        "Every partial window of the encoder hears one and a half seconds of speech, "
        "and their average describes the voice.",
    ),
]
RATE, MIN_COVERAGE = 1.3, 0.75


def rounded(values, digits):
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=np.float64).ravel()]


def render(warble, voice, text, path):
    subprocess.run(
        [warble, "say", text, "--voice", voice, "--sample-rate", "16000", "-o", path],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wav, sr = soundfile.read(path, dtype="float32")
    return wav, sr


def main():
    root = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_warble = next(
        (p for p in (f"{root}/target/release/warble", f"{root}/target/debug/warble") if os.path.exists(p)), "warble"
    )
    parser.add_argument("--warble", default=default_warble, help="the warble binary that speaks the clips")
    parser.add_argument("--out", default=os.path.join(root, "speaker", "tests", "fixtures", "ge2e"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.set_num_threads(1)
    encoder = VoiceEncoder("cpu", verbose=False)
    clips = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, voice, text in CLIPS:
            raw, sr = render(args.warble, voice, text, os.path.join(tmp, f"{name}.wav"))
            wav = audio.preprocess_wav(raw, source_sr=sr)
            pcm = np.clip(np.round(wav * 32768.0), -32768, 32767).astype("<i2")
            pcm.tofile(os.path.join(args.out, f"{name}.s16le"))
            wav = pcm.astype(np.float32) / np.float32(32768.0)

            embed, partials, wav_slices = encoder.embed_utterance(
                wav, return_partials=True, rate=RATE, min_coverage=MIN_COVERAGE
            )
            # The mel spectrogram embed_utterance feeds the network: of the waveform zero-padded to the
            # end of the last partial (when that is beyond its end).
            _, mel_slices = encoder.compute_partial_slices(len(wav), RATE, MIN_COVERAGE)
            padded_len = max(len(wav), wav_slices[-1].stop)
            mel = audio.wav_to_mel_spectrogram(np.pad(wav, (0, padded_len - len(wav)), "constant"))
            used = int(mel_slices[-1].stop)
            exact = sorted({0, 1, used // 3, used // 2, used - 1})
            clips.append(
                {
                    "name": name,
                    "voice": voice,
                    "text": text,
                    "audio": f"{name}.s16le",
                    "samples": len(wav),
                    "padded_samples": int(padded_len),
                    "mel_frames": mel.shape[0],
                    "mel_slices": [[int(s.start), int(s.stop)] for s in mel_slices],
                    "mel_frame_sums": rounded(mel.astype(np.float64).sum(axis=1), 7),
                    "mel_exact": {str(i): rounded(mel[i], 8) for i in exact},
                    "partial_embeddings": [rounded(p, 8) for p in partials],
                    "embedding": rounded(embed, 8),
                }
            )
            print(f"{name}: {len(wav) / 16000:.2f} s, {len(mel_slices)} partials, {mel.shape[0]} mel frames")

    meta = {
        "source": "Resemblyzer VoiceEncoder.embed_utterance (scripts/ge2e/reference.py)",
        "versions": {
            "resemblyzer": "0.1.4",
            "librosa": librosa.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
        },
        "rate": RATE,
        "min_coverage": MIN_COVERAGE,
        "clips": clips,
    }
    with open(os.path.join(args.out, "ge2e.json"), "w") as f:
        json.dump(meta, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
