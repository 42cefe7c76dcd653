#!/usr/bin/env python3
"""Intelligibility check: synthesize sentences with Warble, transcribe them with
Whisper (faster-whisper, CTranslate2, fully offline) and report WER / CER per language.

    WARBLE_MODEL_DIR=/work/shared/models \
    /work/venv-tools/bin/python scripts/whisper_eval/run.py \
        --whisper /work/whisper-base [--langs en-us,ja] [--limit 10]

Per language it writes results/<lang>.tsv (one row per sentence) and, for the whole
run, results/summary.md (the markdown table it prints) and results/summary.json.

Scoring
* every text: Unicode NFKC, lowercase, punctuation and symbols -> space, whitespace collapsed;
* numbers: digit strings are spelled out in both the reference and the transcript
  (num2words for en/es/fr/it/pt; a small table for hi; kanji numerals for ja/zh), so
  "12" and "twelve" match;
* en: a short British -> American spelling map (Whisper writes US spelling);
* hi: nukta dropped and chandrabindu folded into anusvara on both sides (common
  spelling variation that Whisper does not reproduce consistently);
* zh: transcripts converted Traditional -> Simplified (OpenCC) when opencc is installed;
* en/es/fr/it/pt/hi: WER over words; ja/zh: CER over characters, spaces removed.
The "raw" column is the same metric with punctuation/case removal only (no number,
spelling or script folding).
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

# warble --lang code -> (whisper language, metric, num2words language)
LANGS = {
    "en-us": ("en", "wer", "en"),
    "en-gb": ("en", "wer", "en"),
    "es": ("es", "wer", "es"),
    "fr": ("fr", "wer", "fr"),
    "it": ("it", "wer", "it"),
    "pt-br": ("pt", "wer", "pt_BR"),
    "hi": ("hi", "wer", None),
    "ja": ("ja", "cer", None),
    "zh": ("zh", "cer", None),
}

# Matches `Language::EnUs => "af_heart",` in g2p/src/registry.rs (for the table only).
RUST_LANG = {"EnUs": "en-us", "EnGb": "en-gb", "Es": "es", "Fr": "fr", "It": "it",
             "PtBr": "pt-br", "Hi": "hi", "Ja": "ja", "Zh": "zh"}


def default_voices() -> dict[str, str]:
    out = {}
    try:
        src = (REPO / "g2p/src/registry.rs").read_text(encoding="utf-8")
        m = re.search(r"fn default_voice\(.*?\{(.*?)\n\}", src, re.S)
        for name, voice in re.findall(r"Language::(\w+)\s*=>\s*\"([^\"]+)\"", m.group(1) if m else ""):
            if name in RUST_LANG:
                out[RUST_LANG[name]] = voice
    except OSError:
        pass
    return out


# Whisper, even with language="hi" forced, often writes Hindi speech in Urdu (Perso-Arabic)
# script: Hindi and Urdu are one spoken language. A neutral Devanagari prompt steers it to
# Devanagari without hinting at the content. (--no-prompt turns this off.)
PROMPTS = {"hi": "यह हिंदी में लिखा गया एक वाक्य है।"}

# ---------------------------------------------------------------- normalisation

UK_US = {
    "colour": "color", "colours": "colors", "favourite": "favorite", "neighbour": "neighbor",
    "neighbours": "neighbors", "centre": "center", "theatre": "theater", "organise": "organize",
    "realise": "realize", "travelling": "traveling", "cancelled": "canceled", "programme": "program",
    "grey": "gray", "cheque": "check", "metres": "meters", "kilometres": "kilometers",
    "okay": "ok",
}

HI_NUM = {0: "शून्य", 1: "एक", 2: "दो", 3: "तीन", 4: "चार", 5: "पांच", 6: "छह", 7: "सात",
          8: "आठ", 9: "नौ", 10: "दस", 11: "ग्यारह", 12: "बारह", 15: "पंद्रह", 20: "बीस",
          25: "पच्चीस", 30: "तीस", 40: "चालीस", 50: "पचास", 100: "सौ"}

CJK_DIGITS = "零一二三四五六七八九"


def cjk_number(n: int, lang: str) -> str:
    """Arabic integer -> kanji/hanzi numeral (ja: 百五, zh: 一百零五), for n < 10**8."""
    if n == 0:
        return "零"
    if n >= 10 ** 4:
        hi, lo = divmod(n, 10 ** 4)
        rest = cjk_number(lo, lang) if lo else ""
        if lang == "zh" and lo and lo < 1000:
            rest = "零" + rest
        return cjk_number(hi, lang) + "万" + rest
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d == 0:
            zero = bool(out)
            continue
        if zero and lang == "zh":
            out += "零"
        zero = False
        # "十", "百", "千" alone in Japanese; "十" alone at the start in Chinese
        lead_one = d == 1 and unit and (lang == "ja" or (unit == "十" and not out))
        out += ("" if lead_one else CJK_DIGITS[d]) + unit
    return out


def spell_numbers(text: str, lang: str, n2w_lang: str | None) -> str:
    # Devanagari (and other) decimal digits -> ASCII
    text = "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in text)
    # thousands separators "1,500" / "1.500" / "1 500" -> 1500
    text = re.sub(r"(?<=\d)[,.\u202f\u00a0 ](?=\d{3}\b)", "", text)

    if lang == "fr":  # "8h" / "8 h 30" -> "8 heures"
        text = re.sub(r"\b(\d+)\s?h\b", lambda m: f"{m.group(1)} heure{'' if m.group(1) == '1' else 's'}", text)
    if lang.startswith("en"):  # "£2" -> "2 pounds"
        cur = {"£": "pound", "$": "dollar", "€": "euro"}
        text = re.sub(r"([£$€])\s?(\d+)\b",
                      lambda m: f"{m.group(2)} {cur[m.group(1)]}{'' if m.group(2) == '1' else 's'}", text)

    def repl(m: re.Match) -> str:
        n = int(m.group(0))
        if lang in ("ja", "zh"):
            return cjk_number(n, lang)
        if lang == "hi":
            return f" {HI_NUM[n]} " if n in HI_NUM else m.group(0)
        try:
            from num2words import num2words
            return f" {num2words(n, lang=n2w_lang)} "
        except Exception:
            return m.group(0)

    return re.sub(r"\d+", repl, text)


_t2s = None


def to_simplified(text: str) -> str:
    global _t2s
    if _t2s is None:
        try:
            import opencc
            _t2s = opencc.OpenCC("t2s").convert
        except Exception:
            _t2s = lambda s: s  # noqa: E731
    return _t2s(text)


def strip_punct(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in text)
    return " ".join(text.split())


def normalise(text: str, lang: str, n2w_lang: str | None) -> str:
    text = unicodedata.normalize("NFKC", text)
    if lang == "zh":
        text = to_simplified(text)
    text = spell_numbers(text, lang, n2w_lang)
    text = strip_punct(text)
    if lang.startswith("en"):
        text = " ".join(UK_US.get(w, w) for w in text.split())
    if lang == "hi":
        text = text.replace("\u093c", "").replace("\u0901", "\u0902")  # nukta, chandrabindu
    if lang in ("ja", "zh"):
        text = text.replace(" ", "")
    return text


# ---------------------------------------------------------------- scoring

def edit_ops(ref: list[str], hyp: list[str]) -> tuple[int, int, int, int]:
    """(substitutions, deletions, insertions, hits) of a minimal alignment."""
    try:
        import jiwer
        if not ref:
            return 0, 0, len(hyp), 0
        if not hyp:
            return 0, len(ref), 0, 0
        o = jiwer.process_words(" ".join(ref), " ".join(hyp))
        return o.substitutions, o.deletions, o.insertions, o.hits
    except ImportError:
        pass
    # Levenshtein with backtrace
    n, m = len(ref), len(hyp)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
    s = de = ins = h = 0
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            if ref[i - 1] == hyp[j - 1]:
                h += 1
            else:
                s += 1
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            de, i = de + 1, i - 1
        else:
            ins, j = ins + 1, j - 1
    return s, de, ins, h


def units(text: str, metric: str) -> list[str]:
    return list(text.replace(" ", "")) if metric == "cer" else text.split()


# ---------------------------------------------------------------- synthesis

def synthesize(binary: str, lang: str, text: str, wav: Path, voice: str | None, timeout: float):
    cmd = [binary, "say", "--lang", lang, text, "-o", str(wav)]
    if voice:
        cmd[2:2] = ["--voice", voice]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"timeout after {timeout}s", time.time() - t0
    err = (p.stderr or "").strip()
    if p.returncode != 0 or not wav.exists():
        return False, err or f"exit {p.returncode}", time.time() - t0
    return True, err, time.time() - t0


def wav_seconds(path: Path) -> float:
    try:
        with wave.open(str(path)) as w:
            return w.getnframes() / w.getframerate()
    except Exception:
        return float("nan")


def tsv(s: str) -> str:
    return s.replace("\t", " ").replace("\n", " / ").replace("\r", "")


def score(lang: str, text: str, hyp: str) -> dict:
    _, metric, n2w = LANGS[lang]
    ref_n, hyp_n = normalise(text, lang, n2w), normalise(hyp, lang, n2w)
    r, h = units(ref_n, metric), units(hyp_n, metric)
    s, d, i, _ = edit_ops(r, h)
    raw_r, raw_h = units(strip_punct(text), metric), units(strip_punct(hyp), metric)
    rs, rd, ri, _ = edit_ops(raw_r, raw_h)
    cs, cd, ci, _ = edit_ops(units(ref_n, "cer"), units(hyp_n, "cer"))
    return {"ref_n": ref_n, "hyp_n": hyp_n, "sub": s, "del": d, "ins": i, "errors": s + d + i,
            "ref_len": len(r), "raw_errors": rs + rd + ri, "raw_ref_len": len(raw_r),
            "char_errors": cs + cd + ci, "char_len": len(units(ref_n, "cer"))}


TSV_HEADER = ["idx", "sentence", "transcript", "ref_normalised", "hyp_normalised", "errors",
              "ref_len", "warble_stderr", "audio_s"]


def finish_language(lang: str, results: list[dict], out: Path, voice: str, synth_s: float | None) -> dict:
    """Scores one language's transcripts, writes <lang>.tsv and returns its summary entry.

    results: dicts with idx, sentence, hyp (None when synthesis failed), stderr, audio_s."""
    wlang, metric, _ = LANGS[lang]
    tot = dict.fromkeys(["sub", "del", "ins", "errors", "ref_len", "raw_errors", "raw_ref_len",
                         "char_errors", "char_len"], 0)
    rows, failures, exact, audio = [], [], 0, 0.0
    for res in results:
        if res["hyp"] is None:
            failures.append(res["stderr"] or "synthesis failed")
            rows.append([res["idx"], res["sentence"], "", "", "", "synthesis failed", "", res["stderr"], ""])
            continue
        sc = score(lang, res["sentence"], res["hyp"])
        for k in tot:
            tot[k] += sc[k]
        exact += sc["errors"] == 0
        try:
            audio += float(res["audio_s"])
        except ValueError:
            pass
        rows.append([res["idx"], res["sentence"], res["hyp"], sc["ref_n"], sc["hyp_n"], sc["errors"],
                     sc["ref_len"], res["stderr"], res["audio_s"]])
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{lang}.tsv", "w", encoding="utf-8") as f:
        f.write("\t".join(TSV_HEADER) + "\n")
        for row in rows:
            f.write("\t".join(tsv(str(c)) for c in row) + "\n")
    return {
        "lang": lang, "whisper_lang": wlang, "voice": voice, "metric": metric.upper(),
        "sentences": len(results), "synthesized": len(results) - len(failures),
        "rate": tot["errors"] / tot["ref_len"] if tot["ref_len"] else None,
        "raw_rate": tot["raw_errors"] / tot["raw_ref_len"] if tot["raw_ref_len"] else None,
        "cer": tot["char_errors"] / tot["char_len"] if tot["char_len"] else None,
        "substitutions": tot["sub"], "deletions": tot["del"], "insertions": tot["ins"],
        "ref_units": tot["ref_len"], "audio_s": round(audio, 1),
        "synth_s": None if synth_s is None else round(synth_s, 1), "exact": exact,
        "error": failures[0].strip().splitlines()[-1] if failures else None,
    }


def rescore(out: Path, langs: list[str]) -> int:
    """Re-applies the normalisation and scoring to the transcripts in existing <lang>.tsv files."""
    old = {}
    try:
        old = {e["lang"]: e for e in json.loads((out / "summary.json").read_text(encoding="utf-8"))}
    except (OSError, ValueError):
        pass
    summary = []
    for lang in langs:
        path = out / f"{lang}.tsv"
        if not path.exists():
            continue
        results = []
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            c = line.split("\t")
            c += [""] * (len(TSV_HEADER) - len(c))
            failed = c[5] == "synthesis failed"
            results.append({"idx": c[0], "sentence": c[1], "hyp": None if failed else c[2],
                            "stderr": c[7], "audio_s": c[8]})
        prev = old.get(lang, {})
        summary.append(finish_language(lang, results, out, prev.get("voice") or default_voices().get(lang, "?"),
                                       prev.get("synth_s")))
    print(write_summary(summary, out))
    return 0


def write_summary(summary: list[dict], out: Path) -> str:
    def pct(x):
        return "—" if x is None else f"{100 * x:.1f} %"

    md = ["| Language | Voice | Sentences | Metric | Error rate | Raw (punct. only) | CER | Exact matches |",
          "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for e in summary:
        sent = str(e["sentences"]) if e["synthesized"] == e["sentences"] else f"{e['synthesized']}/{e['sentences']}"
        note = f" (synthesis failed: {e['error']})" if e["error"] and e["synthesized"] == 0 else ""
        md.append(f"| {e['lang']} | {e['voice']} | {sent} | {e['metric']} | {pct(e['rate'])}{note} | "
                  f"{pct(e['raw_rate'])} | {pct(e.get('cer'))} | {e['exact']}/{e['synthesized']} |")
    table = "\n".join(md)
    (out / "summary.md").write_text(table + "\n", encoding="utf-8")
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return table


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=str(REPO / "target/release/warble"))
    ap.add_argument("--whisper", default=os.environ.get("WHISPER_MODEL", "/work/whisper-base"),
                    help="CTranslate2 Whisper model folder")
    ap.add_argument("--langs", default=",".join(LANGS))
    ap.add_argument("--limit", type=int, default=0, help="sentences per language (0 = all)")
    ap.add_argument("--voice", default=None, help="force one voice for every language")
    ap.add_argument("--sentences", default=str(HERE / "sentences"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--no-prompt", action="store_true",
                    help="do not give Whisper the per-language script prompt (PROMPTS)")
    ap.add_argument("--synth-timeout", type=float, default=300)
    ap.add_argument("--rescore", action="store_true",
                    help="only re-normalise and re-score the transcripts already in --out/<lang>.tsv")
    args = ap.parse_args()
    langs = [l.strip() for l in args.langs.split(",") if l.strip()]
    if args.rescore:
        return rescore(Path(args.out), langs)

    if "WARBLE_MODEL_DIR" not in os.environ and Path("/work/shared/models").is_dir():
        os.environ["WARBLE_MODEL_DIR"] = "/work/shared/models"
    if not Path(args.bin).exists():
        sys.exit(f"no warble binary at {args.bin} (cargo build --release -p warble-cli first)")

    from faster_whisper import WhisperModel
    model = WhisperModel(args.whisper, device="cpu", compute_type="int8", cpu_threads=args.threads)

    out = Path(args.out)
    wav_root = out / "wav"
    voices = default_voices()
    jobs: dict[str, list[str]] = {}
    for lang in langs:
        if lang not in LANGS:
            sys.exit(f"unknown language {lang}; known: {', '.join(LANGS)}")
        lines = [l.strip() for l in Path(args.sentences, f"{lang}.txt").read_text(encoding="utf-8").splitlines()]
        lines = [l for l in lines if l and not l.startswith("#")]
        jobs[lang] = lines[: args.limit] if args.limit else lines

    # Synthesis runs one sentence ahead of recognition in a worker thread.
    pool = cf.ThreadPoolExecutor(max_workers=1)
    futures = {}
    for lang, lines in jobs.items():
        (wav_root / lang).mkdir(parents=True, exist_ok=True)
        for i, text in enumerate(lines):
            wav = wav_root / lang / f"{i:03d}.wav"
            wav.unlink(missing_ok=True)
            futures[lang, i] = pool.submit(synthesize, args.bin, lang, text, wav, args.voice, args.synth_timeout)

    summary = []
    for lang, lines in jobs.items():
        wlang, metric, _ = LANGS[lang]
        results, synth_total = [], 0.0
        for i, text in enumerate(lines):
            ok, msg, synth_s = futures[lang, i].result()
            wav = wav_root / lang / f"{i:03d}.wav"
            synth_total += synth_s
            if not ok:
                print(f"[{lang} {i:02d}] SYNTHESIS FAILED: {msg.splitlines()[-1] if msg else ''}", flush=True)
                results.append({"idx": i, "sentence": text, "hyp": None, "stderr": msg, "audio_s": ""})
                continue
            segs, _ = model.transcribe(str(wav), language=wlang, beam_size=args.beam_size,
                                       condition_on_previous_text=False, vad_filter=False,
                                       initial_prompt=None if args.no_prompt else PROMPTS.get(lang))
            hyp = " ".join(s.text.strip() for s in segs).strip()
            results.append({"idx": i, "sentence": text, "hyp": hyp, "stderr": msg,
                            "audio_s": f"{wav_seconds(wav):.2f}"})
            r = score(lang, text, hyp)
            print(f"[{lang} {i:02d}] {metric}={r['errors'] / max(r['ref_len'], 1):.2f}  ref: {text}\n"
                  f"{'':11}hyp: {hyp}", flush=True)
        entry = finish_language(lang, results, out, args.voice or voices.get(lang, "?"), synth_total)
        summary.append(entry)
        print(f"== {lang}: {entry['metric']} {entry['rate']}", flush=True)
        write_summary(summary, out)  # partial table after each language

    pool.shutdown()
    print()
    print(write_summary(summary, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
