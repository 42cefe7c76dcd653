#!/usr/bin/env python3
"""Whisper check of the Romance-language symbol readings (issue 16): each sentence of sentences/symbols.tsv is
spoken from misaki's phonemes (`EspeakG2P`, the reference front end, which hands the text to espeak-ng as written:
before) and by `warble say` (after: the symbols rewritten as words first), on the same model and voice, and
Whisper base transcribes both in the sentence's language. A symbol counts as heard when its key word (or one of
the written forms listed with it, as Whisper may write `-5` or `km`) is in the transcript.

    /work/venv-tools/bin/pip install misaki phonemizer-fork espeakng-loader   # the reference, for "before"
    WARBLE_MODEL_DIR=... /work/venv-tools/bin/python scripts/whisper_eval/symbols.py --whisper /work/whisper-base
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WHISPER = {"es": "es", "fr": "fr", "it": "it", "pt-br": "pt"}
MISAKI = {"es": "es", "fr": "fr-fr", "it": "it", "pt-br": "pt-br"}
VOICE = {"es": "ef_dora", "fr": "ff_siwis", "it": "if_sara", "pt-br": "pf_dora"}


def fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s.lower())
    return " ".join("".join(c for c in s if not unicodedata.combining(c)).split())


def heard(key: str, hyp: str) -> bool:
    return any(fold(alt.replace("_", " ")) in hyp for alt in key.split("|"))


def say(binary: str, args: list[str], wav: Path) -> bool:
    p = subprocess.run([binary, "say", "--no-noise", *args, "-o", str(wav)], capture_output=True, text=True,
                       timeout=300)
    return p.returncode == 0 and wav.exists()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "target/release/warble"))
    ap.add_argument("--whisper", default="/work/whisper-base")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from faster_whisper import WhisperModel
    from misaki import espeak
    model = WhisperModel(a.whisper, device="cpu", compute_type="int8", cpu_threads=a.threads)
    g2p = {lang: espeak.EspeakG2P(language=code) for lang, code in MISAKI.items()}
    tmp = Path(tempfile.mkdtemp())
    rows = [l.rstrip("\n").split("\t") for l in open(HERE / "sentences/symbols.tsv", encoding="utf-8")
            if l.strip() and not l.startswith("#")]
    totals = {lang: {"before": 0, "after": 0, "keys": 0} for lang in WHISPER}
    for k, (lang, text, keys) in enumerate(rows):
        keys = keys.split()
        totals[lang]["keys"] += len(keys)
        for cond in ("before", "after"):
            wav = tmp / f"{k}{cond}.wav"
            args = ["--voice", VOICE[lang]]
            args += ["--phonemes", g2p[lang](text)[0]] if cond == "before" else ["--lang", lang, text]
            if not say(a.bin, args, wav):
                print(f"synthesis failed ({cond}): {text}", file=sys.stderr)
                continue
            segs, _ = model.transcribe(str(wav), language=WHISPER[lang], beam_size=5)
            hyp = fold(" ".join(s.text for s in segs))
            hits = sum(heard(key, hyp) for key in keys)
            totals[lang][cond] += hits
            print(f"{lang}\t{cond}\t{hits}/{len(keys)}\t{text}\t{hyp}", flush=True)
    print("\n| language | symbols heard, before (misaki) | after (Warble) |")
    print("|---|---|---|")
    all_b = all_a = all_n = 0
    for lang, t in totals.items():
        print(f"| {lang} | {t['before']}/{t['keys']} | {t['after']}/{t['keys']} |")
        all_b, all_a, all_n = all_b + t["before"], all_a + t["after"], all_n + t["keys"]
    print(f"| all | {all_b}/{all_n} | {all_a}/{all_n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
