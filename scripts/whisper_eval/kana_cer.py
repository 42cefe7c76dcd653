#!/usr/bin/env python3
"""Japanese CER over kana readings (pykakasi) of results/ja.tsv's normalised columns.

Discounts Whisper's kanji/kana spelling choices and homophones (台所/大どころ, 完走/乾燥),
so it is closer to "was it pronounced right". Readings come from pykakasi's dictionary and
are applied to both sides alike. Usage: python kana_cer.py [results/ja.tsv]"""
import sys
from pathlib import Path

import pykakasi

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402

k = pykakasi.kakasi()


def kana(s: str) -> str:
    return "".join(x["hira"] for x in k.convert(s))


path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results/ja.tsv")
errors = total = 0
for line in path.read_text(encoding="utf-8").splitlines()[1:]:
    c = line.split("\t")
    if c[5] == "synthesis failed":
        continue
    r, h = kana(c[3]), kana(c[4])
    s, d, i, _ = run.edit_ops(list(r), list(h))
    errors, total = errors + s + d + i, total + len(r)
    if s + d + i:
        print(f"{c[0]}\t{r}\t->\t{h}\t{s + d + i}")
print(f"kana CER: {100 * errors / max(total, 1):.1f} % ({errors}/{total})")
