#!/usr/bin/env python3
"""Drives `warble serve` with the official `openai` Python package, as a real client would, and checks with
Whisper (faster-whisper, offline) that the audio says the input.

    /work/venv-tools/bin/python scripts/openai_client/check.py --warble target/release/warble \
        --whisper /work/whisper-base [--port 8899]

Needs WARBLE_MODEL_DIR. Three requests per sentence: a plain WAV (`audio.speech.create`), streamed PCM
(`with_streaming_response`, first-byte time measured), and SSE (`stream_format="sse"`, base64 deltas). Prints one
markdown row per request: first byte, audio length, WER of the transcript.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import wave

SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please call me back when you have a free moment this afternoon.",
    "Streaming speech should start long before the sentence is finished.",
]


def norm(s: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", s.lower()).split()


def wer(ref: str, hyp: str) -> float:
    r, h = norm(ref), norm(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)] / max(1, len(r))


def pcm_to_wav(pcm: bytes, rate: int = 24000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def wav_seconds(data: bytes) -> float:
    # Streamed WAVs carry 0xFFFFFFFF sizes: count the bytes after the 44-byte header instead.
    with wave.open(io.BytesIO(data)) as w:
        rate, width = w.getframerate(), w.getsampwidth()
    return (len(data) - 44) / (rate * width)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warble", default="target/release/warble")
    ap.add_argument("--whisper", default=os.environ.get("WHISPER_MODEL", "/work/whisper-base"))
    ap.add_argument("--port", type=int, default=8899)
    args = ap.parse_args()

    from faster_whisper import WhisperModel
    from openai import OpenAI

    server = subprocess.Popen([args.warble, "serve", "--port", str(args.port)], stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/health", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            print("server did not start", file=sys.stderr)
            return 1
        client = OpenAI(base_url=base + "/v1", api_key="not-needed")
        whisper = WhisperModel(args.whisper, device="cpu", compute_type="int8", cpu_threads=2)

        def transcribe(wav: bytes) -> str:
            segs, _ = whisper.transcribe(io.BytesIO(wav), language="en", beam_size=5)
            return " ".join(s.text for s in segs).strip()

        print("| request | sentence | first byte ms | audio s | transcript | WER |")
        print("|---|---|---|---|---|---|")
        total_err, total_words = 0.0, 0
        for i, text in enumerate(SENTENCES, 1):
            # 1. a plain WAV, the way most OpenAI users call it.
            t = time.perf_counter()
            wav = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="wav").content
            rows = [("wav (create)", (time.perf_counter() - t) * 1000, wav)]
            # 2. streamed PCM through with_streaming_response.
            t, first, pcm = time.perf_counter(), None, b""
            with client.audio.speech.with_streaming_response.create(
                model="tts-1", voice="af_heart", input=text, response_format="pcm"
            ) as r:
                for chunk in r.iter_bytes():
                    if first is None and chunk:
                        first = (time.perf_counter() - t) * 1000
                    pcm += chunk
            rows.append(("pcm (streaming)", first, pcm_to_wav(pcm)))
            # 3. server-sent events with base64 deltas.
            t, first, pcm, done = time.perf_counter(), None, b"", False
            with client.audio.speech.with_streaming_response.create(
                model="gpt-4o-mini-tts", voice="nova", input=text, response_format="pcm", extra_body={"stream_format": "sse"}
            ) as r:
                for line in r.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    ev = json.loads(line[6:])
                    if ev["type"] == "speech.audio.delta":
                        if first is None:
                            first = (time.perf_counter() - t) * 1000
                        pcm += base64.b64decode(ev["audio"])
                    elif ev["type"] == "speech.audio.done":
                        done = True
            assert done, "no speech.audio.done event"
            rows.append(("sse", first, pcm_to_wav(pcm)))
            for name, ms, audio in rows:
                hyp = transcribe(audio)
                e = wer(text, hyp)
                total_err += e * len(norm(text))
                total_words += len(norm(text))
                print(f"| {name} | {i} | {ms:.0f} | {wav_seconds(audio):.2f} | {hyp} | {100 * e:.1f} % |")
        print(f"\noverall WER {100 * total_err / max(1, total_words):.1f} % over {total_words} words")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
