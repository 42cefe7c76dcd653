#!/usr/bin/env python3
"""Packs misaki's gold/silver lexicons (Apache-2.0, misaki 0.9.4, misaki/data/*.json) into the compact form the
crate embeds: one file per dialect, lines `key<TAB>gold<TAB>silver`, sorted by the key's UTF-8 bytes.

A field is empty when the dictionary lacks the key, `~` when its value is null, the phonemes when it is a string,
and `{TAG=phonemes;TAG=phonemes;...}` (null as an empty value) when it has per-POS variants.

    python3 g2p/scripts/pack_lexicon.py /path/to/site-packages/misaki/data g2p/data
"""
import json
import os
import sys


def enc(v):
    if v is None:
        return "~"
    if isinstance(v, str):
        assert "\t" not in v and "\n" not in v and not v.startswith("{") and v != "~"
        return v
    parts = [f"{k}={'' if p is None else p}" for k, p in v.items()]
    return "{" + ";".join(parts) + "}"


def main():
    src, dst = sys.argv[1], sys.argv[2]
    for d in ("us", "gb"):
        gold = json.load(open(os.path.join(src, f"{d}_gold.json"), encoding="utf-8"))
        silver = json.load(open(os.path.join(src, f"{d}_silver.json"), encoding="utf-8"))
        keys = sorted(set(gold) | set(silver), key=lambda k: k.encode("utf-8"))
        with open(os.path.join(dst, f"{d}.lex"), "w", encoding="utf-8", newline="\n") as f:
            for k in keys:
                assert "\t" not in k and "\n" not in k
                g = enc(gold[k]) if k in gold else ""
                s = enc(silver[k]) if k in silver and k not in gold else ""
                f.write(f"{k}\t{g}\t{s}\n")


if __name__ == "__main__":
    main()
