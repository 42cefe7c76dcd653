#!/usr/bin/env python3
"""Whisper check of the front-end work of issue 16, before and after, on the same model and voice:

* names: the held-out name sentences (g2p/tests/data/en_names.txt), spoken from the phonemes of Warble's
  letter-to-sound rules (before), of the espeak-ng fallback as misaki reads unknown words (after) and of the
  learnt reader, the fallback of builds without espeak-ng (a third column, `learnt`);
* mixed: the Latin-script code-switched sentences (g2p/tests/data/codeswitch_latin.txt), spoken wholly in the
  language of their first run (before: what sentence-level detection did) and with `--lang auto` (after:
  per-word detection), transcribed with Whisper's own language detection.

    cargo run --release -p warble-g2p --features espeak --example names_phonemes > /tmp/names.tsv
    WARBLE_MODEL_DIR=... /path/to/venv/bin/python scripts/whisper_eval/frontends.py \\
        --names /tmp/names.tsv --whisper /path/to/whisper-base [--limit N]

Scoring as run.py (normalised words, numbers spelled out); prints a markdown table.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402

CODES = {"en": "en-us", "es": "es", "fr": "fr", "it": "it", "pt": "pt-br"}


def say(binary: str, args: list[str], wav: Path) -> bool:
    p = subprocess.run([binary, "say", "--voice", "af_heart", "--no-noise", *args, "-o", str(wav)],
                       capture_output=True, text=True, timeout=300)
    return p.returncode == 0 and wav.exists()


def wer(model, wav: Path, ref: str, lang: str | None) -> tuple[int, int]:
    segs, _ = model.transcribe(str(wav), language=lang, beam_size=5)
    hyp = " ".join(s.text for s in segs)
    code = lang or "en"
    n2w = {"en": "en", "es": "es", "fr": "fr", "it": "it", "pt": "pt_BR"}.get(code, "en")
    r = run.units(run.normalise(ref, code, n2w), "wer")
    h = run.units(run.normalise(hyp, code, n2w), "wer")
    s, d, i, _ = run.edit_ops(r, h)
    return s + d + i, len(r)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(REPO / "target/release/warble"))
    ap.add_argument("--whisper", default="/work/whisper-base")
    ap.add_argument("--names", required=True, help="TSV from the names_phonemes example")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--names-only", action="store_true", help="skip the mixed-language set")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    from faster_whisper import WhisperModel
    model = WhisperModel(a.whisper, device="cpu", compute_type="int8", cpu_threads=a.threads)
    tmp = Path(tempfile.mkdtemp())
    rows = []

    names = [l.rstrip("\n").split("\t") for l in open(a.names, encoding="utf-8") if l.strip()]
    if a.limit:
        names = names[: a.limit]
    tot = {"before": [0, 0], "after": [0, 0], "learnt": [0, 0]}
    for k, (text, rules, espeak, *learnt) in enumerate(names):
        for cond, ps in (("before", rules), ("after", espeak), ("learnt", learnt[0] if learnt else None)):
            if ps is None:
                continue
            wav = tmp / f"n{k}{cond}.wav"
            if not say(a.bin, ["--phonemes", ps], wav):
                print(f"synthesis failed: {text}", file=sys.stderr)
                continue
            e, n = wer(model, wav, text, "en")
            tot[cond][0] += e
            tot[cond][1] += n
    rows.append(("names (en, %d sentences)" % len(names), tot))

    cases, inp = [], None
    if a.names_only:
        cases_file = []
    else:
        cases_file = (REPO / "g2p/tests/data/codeswitch_latin.txt").read_text(encoding="utf-8").splitlines()
    for line in cases_file:
        if line.startswith("> "):
            inp = line[2:]
        elif line.startswith("= ") and inp:
            cases.append((inp, line[2:].split(":", 1)[0]))
    if a.limit:
        cases = cases[: a.limit]
    tot = {"before": [0, 0], "after": [0, 0], "learnt": [0, 0]}
    for k, (text, first) in enumerate(cases):
        for cond, lang in (("before", CODES[first]), ("after", "auto")):
            wav = tmp / f"m{k}{cond}.wav"
            if not say(a.bin, ["--lang", lang, text], wav):
                print(f"synthesis failed: {text}", file=sys.stderr)
                continue
            e, n = wer(model, wav, text, None)
            tot[cond][0] += e
            tot[cond][1] += n
    if cases:
        rows.append(("mixed Latin-script (%d sentences)" % len(cases), tot))

    print("| set | WER before | WER after | WER learnt (no espeak) |")
    print("|---|---|---|---|")
    for name, t in rows:
        b, f, l = (f"{100 * t[c][0] / t[c][1]:.1f} %" if t[c][1] else "" for c in ("before", "after", "learnt"))
        print(f"| {name} | {b} | {f} | {l} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
