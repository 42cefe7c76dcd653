#!/usr/bin/env python3
"""Reference Kokoro + Whisper: the same sentences and the same Whisper scoring as run.py, but the
audio comes from the *reference* model (kokoro-onnx's int8 ONNX export run by onnxruntime),
so Warble's acoustic code is out of the loop. The phonemes come from

* --frontend misaki: misaki 0.9.4, Kokoro's own front end (KPipeline: `EspeakG2P(language=...)`
  for es/fr/it/pt-br/hi, `ja.JAG2P()` for ja, `zh.ZHG2P()` for zh), run through
  g2p/scripts/ref_outputs.py with --misaki-python (a venv with misaki[ja,zh], phonemizer-fork,
  espeakng-loader, unidic-lite; misaki is not in the tools venv);
* --frontend warble: `warble phonemize --lang L` (--bin), i.e. Warble's front end on the
  reference model;
* --phonemes FILE: a ready `sentence<TAB>phonemes` TSV (one language only).

Experiments on the phonemes (applied after the front end): --replace OLD=NEW (repeatable), e.g.
`--replace 'r.=ɽ'` for espeak's Hindi flap written `r.`; --danda-stop appends `.` where the sentence
ends in the danda `।` (which the reference drops).

Synthesis follows KPipeline/KModel: symbols mapped to ids with config.json's vocab (symbols
outside it dropped), pad 0 at both ends, style = voice pack row len(phonemes) - 1
(`pack[len(ps)-1]`), speed 1. Voices are the defaults Warble uses (registry.rs), read from
voices/<name>.bin as float32 [510, 1, 256].

    /work/venv-tools/bin/python scripts/whisper_eval/reference.py --langs hi,ja,es \
        --frontend misaki --misaki-python /path/to/misaki-venv/bin/python \
        --out scripts/whisper_eval/results/reference --threads 2

Writes <out>/<lang>.tsv and summary.md/summary.json exactly like run.py (same columns, same
normalisation: run.py's functions are imported), plus <out>/<lang>.phonemes.tsv and the WAVs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
import run  # noqa: E402  (the same normalisation, scoring and summary as Warble's evaluation)

# warble --lang code -> misaki/espeak language (KPipeline's LANG_CODES)
MISAKI_LANG = {"es": "es", "fr": "fr-fr", "it": "it", "pt-br": "pt-br", "hi": "hi", "ja": "ja", "zh": "zh"}
SAMPLE_RATE = 24000


def read_sentences(path: Path, limit: int) -> list[str]:
    lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines()]
    lines = [l for l in lines if l and not l.startswith("#")]
    return lines[:limit] if limit else lines


def phonemes_misaki(python: str, lang: str, sentences: list[str]) -> list[str]:
    script = REPO / "g2p/scripts/ref_outputs.py"
    p = subprocess.run([python, str(script), MISAKI_LANG[lang]], input="\n".join(sentences) + "\n",
                       capture_output=True, text=True, check=True)
    rows = [l.split("\t", 1) for l in p.stdout.splitlines()]
    if [r[0] for r in rows] != sentences:
        sys.exit(f"misaki output for {lang} does not line up with the sentences:\n{p.stderr[-2000:]}")
    return [r[1] for r in rows]


def phonemes_warble(binary: str, lang: str, sentences: list[str]) -> list[str]:
    out = []
    for s in sentences:  # one call per sentence: a sentence never spans lines
        p = subprocess.run([binary, "phonemize", "--lang", lang, s], capture_output=True, text=True, check=True)
        out.append(p.stdout.strip())
    return out


def phonemes_file(path: str, sentences: list[str]) -> list[str]:
    table = dict(l.split("\t", 1) for l in Path(path).read_text(encoding="utf-8").splitlines() if "\t" in l)
    return [table[s] for s in sentences]


class ReferenceKokoro:
    def __init__(self, model: Path, config: Path, voices: Path, threads: int):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        names = {i.name: i for i in self.session.get_inputs()}
        if set(names) != {"tokens", "style", "speed"}:
            sys.exit(f"unexpected ONNX inputs {list(names)} (expected kokoro-onnx's tokens/style/speed)")
        self.speed_dtype = np.int32 if "int" in names["speed"].type else np.float32
        self.vocab = json.loads(config.read_text(encoding="utf-8"))["vocab"]
        self.voices_dir = voices
        self.packs: dict[str, np.ndarray] = {}

    def pack(self, voice: str) -> np.ndarray:
        if voice not in self.packs:
            self.packs[voice] = np.fromfile(self.voices_dir / f"{voice}.bin", dtype="<f4").reshape(510, 1, 256)
        return self.packs[voice]

    def ids(self, ps: str) -> list[int]:
        return [self.vocab[c] for c in ps if c in self.vocab]

    def synthesize(self, ps: str, voice: str, speed: float = 1.0) -> np.ndarray:
        ps = ps[:510]
        ids = self.ids(ps)
        style = self.pack(voice)[len(ps) - 1]  # [1, 256]; KPipeline.infer: pack[len(ps)-1]
        audio = self.session.run(None, {
            "tokens": np.array([[0, *ids, 0]], dtype=np.int64),
            "style": style.astype(np.float32),
            "speed": np.array([speed], dtype=self.speed_dtype),
        })[0]
        return np.asarray(audio, dtype=np.float32).reshape(-1)


def write_wav(path: Path, audio: np.ndarray):
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.tobytes())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", default="hi,ja,es")
    ap.add_argument("--frontend", choices=["misaki", "warble", "file"], default="misaki")
    ap.add_argument("--misaki-python", default=os.environ.get("MISAKI_PYTHON", "python3"),
                    help="interpreter of a venv with misaki 0.9.4 (see g2p/scripts/ref_outputs.py)")
    ap.add_argument("--bin", default=str(REPO / "target/release/warble"), help="warble, for --frontend warble")
    ap.add_argument("--phonemes", help="sentence<TAB>phonemes TSV, for --frontend file")
    ap.add_argument("--models", default=os.environ.get("WARBLE_MODEL_DIR", "/work/shared/models"))
    ap.add_argument("--onnx", default=None, help="default: <models>/kokoro-v1.0.int8.onnx")
    ap.add_argument("--whisper", default=os.environ.get("WHISPER_MODEL", "/work/whisper-base"))
    ap.add_argument("--sentences", default=str(HERE / "sentences"))
    ap.add_argument("--out", default=str(HERE / "results/reference"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--beam-size", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-prompt", action="store_true")
    ap.add_argument("--replace", action="append", default=[], metavar="OLD=NEW",
                    help="replace a phoneme substring before synthesis (repeatable)")
    ap.add_argument("--danda-stop", action="store_true",
                    help="append '.' to the phonemes of sentences ending in the danda")
    args = ap.parse_args()

    models = Path(args.models)
    langs = [l.strip() for l in args.langs.split(",") if l.strip()]
    for lang in langs:
        if lang not in MISAKI_LANG:
            sys.exit(f"{lang}: reference.py covers {', '.join(MISAKI_LANG)}")
    if args.frontend == "file" and len(langs) != 1:
        sys.exit("--frontend file takes one language")
    if args.frontend == "warble" and "WARBLE_MODEL_DIR" not in os.environ:
        os.environ["WARBLE_MODEL_DIR"] = str(models)

    kokoro = ReferenceKokoro(Path(args.onnx or models / "kokoro-v1.0.int8.onnx"), models / "config.json",
                             models / "voices", args.threads)
    from faster_whisper import WhisperModel
    whisper = WhisperModel(args.whisper, device="cpu", compute_type="int8", cpu_threads=args.threads)
    voices = run.default_voices()
    out = Path(args.out)
    summary = []
    for lang in langs:
        sentences = read_sentences(Path(args.sentences, f"{lang}.txt"), args.limit)
        if args.frontend == "misaki":
            phonemes = phonemes_misaki(args.misaki_python, lang, sentences)
        elif args.frontend == "warble":
            phonemes = phonemes_warble(args.bin, lang, sentences)
        else:
            phonemes = phonemes_file(args.phonemes, sentences)
        for rule in args.replace:
            old, new = rule.split("=", 1)
            phonemes = [ps.replace(old, new) for ps in phonemes]
        if args.danda_stop:
            phonemes = [ps + "." if s.rstrip().endswith("\u0964") and ps[-1:] not in ".?!" else ps
                        for s, ps in zip(sentences, phonemes)]
        voice = voices[lang]
        wav_dir = out / "wav" / lang
        wav_dir.mkdir(parents=True, exist_ok=True)
        with open(out / f"{lang}.phonemes.tsv", "w", encoding="utf-8") as f:
            for s, ps in zip(sentences, phonemes):
                f.write(f"{s}\t{ps}\n")
        wlang = run.LANGS[lang][0]
        results, synth_total = [], 0.0
        for i, (text, ps) in enumerate(zip(sentences, phonemes)):
            wav = wav_dir / f"{i:03d}.wav"
            t0 = time.time()
            write_wav(wav, kokoro.synthesize(ps, voice))
            synth_total += time.time() - t0
            segs, _ = whisper.transcribe(str(wav), language=wlang, beam_size=args.beam_size,
                                         condition_on_previous_text=False, vad_filter=False,
                                         initial_prompt=None if args.no_prompt else run.PROMPTS.get(lang))
            hyp = " ".join(s.text.strip() for s in segs).strip()
            results.append({"idx": i, "sentence": text, "hyp": hyp, "stderr": ps,
                            "audio_s": f"{run.wav_seconds(wav):.2f}"})
            r = run.score(lang, text, hyp)
            print(f"[{lang} {i:02d}] {r['errors']}/{r['ref_len']}  ref: {text}\n{'':11}ps:  {ps}\n"
                  f"{'':11}hyp: {hyp}", flush=True)
        entry = run.finish_language(lang, results, out, f"{voice} (onnx, {args.frontend})", synth_total)
        summary.append(entry)
        print(f"== {lang}: {entry['metric']} {entry['rate']}", flush=True)
        run.write_summary(summary, out)
    print()
    print(run.write_summary(summary, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
