#!/usr/bin/env python3
"""Writes g2p/data/langid_words.tsv: the most frequent words of English, Spanish, French, Italian and Portuguese
with their Zipf frequency in each language, for word-level language identification inside Latin-script text
(g2p/src/langid.rs).

Source: the PyPI package wordfreq 3.1.1 (code Apache-2.0; its word-frequency data CC BY-SA 4.0, by Robyn Speer and
contributors, built from Wikipedia, OpenSubtitles, Google Books, Reddit, Twitter and other corpora). This file is a
derived subset of that data and is distributed under CC BY-SA 4.0 (see g2p/data/NOTICE).

    python3 -m venv /tmp/venv-wf && /tmp/venv-wf/bin/pip install wordfreq==3.1.1
    /tmp/venv-wf/bin/python g2p/scripts/make_langid.py g2p/data/langid_words.tsv

Output: a header line, then one line per word: word, then for en es fr it pt the Zipf frequency times 10 rounded
(0: not among that language's top words). Words are lowercase letters with inner apostrophes only.
"""
import re
import sys

from wordfreq import top_n_list, zipf_frequency

LANGS = ["en", "es", "fr", "it", "pt"]
TOP = 16000
WORD = re.compile(r"^[a-zà-öø-ÿœ]+(?:'[a-zà-öø-ÿœ]+)?$")


def main():
    out = sys.argv[1]
    words = {}
    for i, lang in enumerate(LANGS):
        for w in top_n_list(lang, TOP):
            w = w.replace("’", "'")
            if not WORD.match(w):
                continue
            words.setdefault(w, [0] * len(LANGS))
    for w, z in words.items():
        for i, lang in enumerate(LANGS):
            f = zipf_frequency(w, lang)
            # Below 2.0 (one in 10^7 words) a word is noise in another language's corpus.
            z[i] = int(round(f * 10)) if f >= 2.0 else 0
    with open(out, "w", encoding="utf-8") as f:
        f.write("# word\t" + "\t".join(LANGS) + "\t(Zipf x 10; wordfreq 3.1.1, CC BY-SA 4.0)\n")
        for w in sorted(words):
            f.write(w + "\t" + "\t".join(str(v) for v in words[w]) + "\n")


if __name__ == "__main__":
    main()
