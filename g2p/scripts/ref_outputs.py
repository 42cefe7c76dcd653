"""Reference phoneme strings from misaki 0.9.4 (Kokoro's own front end) for Warble's G2P tests.

Setup (scratch venv): pip install 'misaki[ja,zh]==0.9.4' phonemizer-fork espeakng-loader unidic-lite
and `pip uninstall unidic` (its dictionary must be downloaded from outside the registry; fugashi then falls back to
unidic-lite). Usage: python ref_outputs.py LANG < sentences.txt > ref.tsv   (LANG: zh ja es fr-fr it pt-br hi)
Output: sentence<TAB>phonemes, one line per input line.
"""
import sys

lang = sys.argv[1]
if lang == "zh":
    from misaki import zh

    g = zh.ZHG2P()
elif lang == "ja":
    from misaki import ja

    g = ja.JAG2P()
else:
    from misaki import espeak

    g = espeak.EspeakG2P(language=lang)

for line in sys.stdin:
    s = line.rstrip("\n")
    if not s or s.startswith("#"):
        continue
    print(f"{s}\t{g(s)[0]}")
