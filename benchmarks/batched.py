"""Batched vs sequential decoding in the faster-whisper engine: speed and WER on the same audio.

faster-whisper's ``BatchedInferencePipeline`` cuts the audio at pauses (Silero VAD) into chunks
and decodes several chunks at once; sequential decoding walks through 30-s windows one after
another, conditioning each on the text before it and falling back to higher temperatures when a
window looks wrong. This script measures both on identical decoded audio, with one loaded model,
in one process, alternating the order of the modes per clip so that the load other programs put
on this shared machine hits both alike. It prints one row per clip and mode and the ratios
(sequential wall time / batched wall time) over all clips.

Modes (``--modes``):

* ``sequential``: the engine's default path (``DecodeOptions(batched=False)``);
* ``batched-30``: VAD chunks of up to 30 s, faster-whisper's default;
* ``batched-20`` (and ``batched-N`` for any N): chunks of up to N s
  (``DecodeOptions.batch_chunk_seconds``).

Audio: the clips in ``../shared/data/speech`` (skipped with a note when absent; references as in
``benchmarks/transcription.py``) and long generated recordings (espeak-ng): a Slovenian and an
English oral-history monologue of several minutes built from the sentences below, with their
exact text as the reference. WER/CER use the normalisation of ``benchmarks/transcription.py``.

Usage::

    .venv/bin/python benchmarks/batched.py                      # base int8, all clips
    .venv/bin/python benchmarks/batched.py --quick              # short clips only, tiny model
    .venv/bin/python benchmarks/batched.py --batch-sizes 4,8,16 # batch size sweep (long clips)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from transcription import (  # noqa: E402 - the sibling benchmark's clips and scoring
    DEFAULT_SHARED,
    Clip,
    cpu_name,
    cpu_ticks,
    error_rates,
    log,
    shared_clips,
)

# Invented oral-history sentences, no digits (so no number normalisation is needed).
LONG_SL = [
    "Rodila sem se na Jesenicah, v hiši pod Mežaklo, kjer je živela že moja stara mama.",
    "Oče je vsako jutro ob petih odšel v železarno in se vrnil šele zvečer.",
    "Mama je skrbela za kmetijo, za dve kravi, kokoši in velik vrt za hišo.",
    "Pozimi smo otroci hodili v šolo peš, tudi kadar je zapadlo veliko snega.",
    "Učiteljica nam je brala povesti in nas učila pesmi o gorah in jezerih.",
    "Med vojno smo se bali vsakega avtomobila, ki je pripeljal po cesti.",
    "Brat je odšel v partizane in ga dve leti nismo videli.",
    "Po vojni smo se preselili v Kranj, kjer je oče dobil delo v tovarni Iskra.",
    "Stanovali smo v majhnem stanovanju blizu reke Save, tik ob starem mestu.",
    "Ob nedeljah smo se z vlakom peljali na Bled in se sprehajali okoli jezera.",
    "Teta Ana je šivala obleke za vso vas in nas vedno pogostila s potico.",
    "Ko sem končala šolo, sem se zaposlila v tekstilni tovarni v Škofji Loki.",
    "Tam sem spoznala moža, ki je bil doma iz Bohinja in je rad hodil v hribe.",
    "Poročila sva se v cerkvi na Brezjah, svatba pa je bila pri njegovih starših.",
    "Vsako poletje smo šli na planino, kjer so pastirji delali sir.",
    "Otroci so se igrali ob potoku, midva pa sva nabirala borovnice.",
    "Mož je kasneje delal na železnici in je poznal vse postaje do Ljubljane.",
    "Ko so prišli vnuki, sem jim pripovedovala, kako smo živeli nekoč.",
    "Danes je vse drugače, ljudje imajo avtomobile in nihče več ne hodi peš.",
    "Vendar se še vedno rada spomnim tistih preprostih, a lepih časov.",
]
LONG_EN = [
    "My grandmother came to Cleveland from a small village in the mountains.",
    "She worked in a bakery on Saint Clair Avenue and saved every penny for a house.",
    "My grandfather found a job in the steel mill on the other side of the river.",
    "On Sundays the whole family walked down to the lake after church.",
    "The children spoke their parents' language at home and English at school.",
    "During the war my uncle served in the navy and wrote letters every month.",
    "When he came back he opened a small shop that sold shoes and hats.",
    "The neighbours were from many countries, and everybody helped each other.",
    "In winter the streets were covered with snow for weeks at a time.",
    "My mother sang old songs while she cooked soup in a big iron pot.",
    "We had no car, so we took the streetcar whenever we went downtown.",
    "My father taught me to play the accordion in the evenings.",
    "Every summer there was a picnic with music and dancing in the park.",
    "Later I moved to Chicago to study engineering at the university.",
    "I still remember the smell of fresh bread in my grandmother's kitchen.",
]
# Each monologue is its sentences twice (--rounds) in different orders: several minutes of speech
# with pauses between sentences, as a long interview has, and a reference known word for word.
LONG: dict[str, dict[str, Any]] = {
    "long_sl": {"language": "sl", "voice": "sl", "sentences": LONG_SL},
    "long_en": {"language": "en", "voice": "en-us", "sentences": LONG_EN},
}


def long_text(sentences: list[str], rounds: int = 3) -> str:
    order: list[str] = []
    for round_ in range(rounds):  # a fixed rotation, every other round reversed: no randomness
        cut = round_ * 7 % len(sentences)
        shifted = sentences[cut:] + sentences[:cut]
        order += shifted if round_ % 2 == 0 else shifted[::-1]
    return " ".join(order)


def long_clips(directory: Path, rounds: int) -> list[Clip]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        log("note: espeak-ng is not installed; skipping the long generated recordings")
        return []
    clips = []
    for name, spec in LONG.items():
        text = long_text(spec["sentences"], rounds)
        wav = directory / f"{name}.wav"
        subprocess.run(
            [espeak, "-v", spec["voice"], "-s", "150", "-g", "8", "-w", str(wav), text],
            check=True,
            capture_output=True,
        )
        clips.append(Clip(name, spec["language"], text, f"espeak-ng -v {spec['voice']}", str(wav)))
    return clips


def parse_mode(mode: str, batch_size: int) -> dict[str, Any]:
    if mode == "sequential":
        return {"batched": False}
    if mode.startswith("batched-"):
        return {
            "batched": True,
            "batch_chunk_seconds": int(mode.split("-", 1)[1]),
            "batch_size": batch_size,
        }
    raise SystemExit(f"unknown mode {mode!r}: sequential or batched-N")


def measure(engine: Any, audio: Any, language: str, options: dict[str, Any]) -> dict[str, Any]:
    from livingmemory.transcription.engines.base import DecodeOptions

    decode = DecodeOptions(language=language, beam_size=5, **options)
    ticks_total, ticks_busy = cpu_ticks()
    cpu, clock = time.process_time(), time.monotonic()
    segments, info = engine.transcribe(audio, decode)
    segments = list(segments)
    wall, cpu = time.monotonic() - clock, time.process_time() - cpu
    ticks_total2, ticks_busy2 = cpu_ticks()
    ticks = max(1, ticks_total2 - ticks_total)
    ours = cpu * os.sysconf("SC_CLK_TCK")
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "others_busy": max(0.0, (ticks_busy2 - ticks_busy - ours) / ticks),
        "text": " ".join(s.text for s in segments),
        "segments": len(segments),
        "fallbacks": sum(1 for s in segments if s.temperature > 0),
        "batch_size": info.extra.get("batch_size"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from livingmemory.archive.audio import load_audio
    from livingmemory.transcription import models
    from livingmemory.transcription.engines import get_engine
    from livingmemory.transcription.engines.base import SAMPLE_RATE, default_batch_size

    workdir = Path(tempfile.mkdtemp(prefix="lm-batched-"))
    clips: list[Clip] = []
    if not args.no_shared:
        clips += shared_clips(args.shared)
    if not args.quick:
        clips += long_clips(workdir, args.rounds)
    audios = {}
    for clip in clips:
        audios[clip.name] = load_audio(Path(clip.path))
        clip.duration = len(audios[clip.name]) / SAMPLE_RATE
        log(f"decoded {clip.name}: {clip.duration:.1f} s ({clip.language})")
    model = models.resolve(args.model)
    if not model.multilingual:
        clips = [c for c in clips if c.language == "en"]
    engine = get_engine("faster-whisper")(
        model, compute_type=args.compute_type, threads=args.threads or os.cpu_count() or 1
    )
    batch_size = args.batch_size or default_batch_size()
    warm = audios[clips[0].name][: 5 * SAMPLE_RATE]
    for mode in args.modes:  # one untimed pass per mode (VAD model, pipeline set-up)
        measure(engine, np.ascontiguousarray(warm), clips[0].language, parse_mode(mode, batch_size))
    rows = []
    for index, clip in enumerate(clips):
        modes = args.modes[index % len(args.modes) :] + args.modes[: index % len(args.modes)]
        for mode in modes:
            result = measure(engine, audios[clip.name], clip.language, parse_mode(mode, batch_size))
            result |= error_rates(clip.reference, result["text"], clip.language)
            result |= {
                "clip": clip.name,
                "language": clip.language,
                "mode": mode,
                "audio_s": clip.duration,
            }
            result["rtf"] = result["wall_s"] / clip.duration
            rows.append(result)
            log(
                f"{clip.name:14} {mode:11} {result['wall_s']:6.2f} s  RTF {result['rtf']:.3f}  "
                f"WER {100 * result['wer']:.1f}%  others {100 * result['others_busy']:.0f}%"
            )
    sweep = []
    for size in args.batch_sizes:
        for clip in [c for c in clips if c.name.startswith("long_")]:
            options = {"batched": True, "batch_size": size, "batch_chunk_seconds": args.sweep_chunk}
            result = measure(engine, audios[clip.name], clip.language, options)
            result |= error_rates(clip.reference, result["text"], clip.language)
            result |= {"clip": clip.name, "batch_size": size, "audio_s": clip.duration}
            sweep.append(result)
            log(f"sweep {clip.name} batch {size}: {result['wall_s']:.2f} s")
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "model": model.name,
        "compute_type": engine.compute_type,
        "threads": args.threads or os.cpu_count(),
        "batch_size": batch_size,
        "cpu": cpu_name(),
        "modes": args.modes,
        "rows": rows,
        "sweep": sweep,
        "sweep_chunk": args.sweep_chunk,
    }


def render(report: dict[str, Any]) -> str:
    rows, modes = report["rows"], report["modes"]
    out = [
        f"faster-whisper {report['model']} {report['compute_type']}, beam 5, "
        f"{report['threads']} threads, batch size {report['batch_size']}, CPU: {report['cpu']}",
        "",
        "| clip | lang | audio s | mode | wall s | RTF | segments | WER | CER | others' CPU |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fallback = " *" if r["fallbacks"] else ""
        out.append(
            f"| {r['clip']} | {r['language']} | {r['audio_s']:.1f} | {r['mode']} | "
            f"{r['wall_s']:.2f} | {r['rtf']:.3f} | "
            f"{r['segments']} | {100 * r['wer']:.1f}%{fallback} | {100 * r['cer']:.1f}% | "
            f"{100 * r['others_busy']:.0f}% |"
        )
    out += [
        "",
        "Over all clips (words: the sum of edits over the sum of reference words):",
        "",
        "| mode | clips | audio s | wall s | RTF | WER | sequential / mode speed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    groups = {
        "all clips": sorted({r["clip"] for r in rows}),
        "long recordings": sorted({r["clip"] for r in rows if r["clip"].startswith("long_")}),
        "short clips": sorted({r["clip"] for r in rows if not r["clip"].startswith("long_")}),
    }
    for label, names in groups.items():
        if not names:
            continue
        totals = {}
        for mode in modes:
            chosen = [r for r in rows if r["mode"] == mode and r["clip"] in names]
            totals[mode] = (
                sum(r["audio_s"] for r in chosen),
                sum(r["wall_s"] for r in chosen),
                sum(r["word_edits"] for r in chosen) / max(1, sum(r["ref_words"] for r in chosen)),
            )
        base = totals.get("sequential")
        for mode, (audio, wall, wer) in totals.items():
            ratio = f"{base[1] / wall:.2f}x" if base and wall else ""
            out.append(
                f"| {mode} | {label} ({len(names)}) | {audio:.1f} | {wall:.2f} | "
                f"{wall / audio:.3f} | {100 * wer:.1f}% | {ratio} |"
            )
    if report["sweep"]:
        out += [
            "",
            f"Batch size (batched-{report['sweep_chunk']}, long recordings):",
            "",
            "| clip | batch size | wall s | RTF | WER |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in report["sweep"]:
            out.append(
                f"| {r['clip']} | {r['batch_size']} | {r['wall_s']:.2f} | "
                f"{r['wall_s'] / r['audio_s']:.3f} | {100 * r['wer']:.1f}% |"
            )
    busy = [r["others_busy"] for r in rows]
    out += [
        "",
        f"Other programs used a median {100 * statistics.median(busy):.0f}% "
        f"(max {100 * max(busy):.0f}%) of the CPUs during the runs; `*`: temperature fallback.",
    ]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument(
        "--modes",
        type=lambda v: [m.strip() for m in v.split(",") if m.strip()],
        default=["sequential", "batched-30", "batched-20"],
    )
    parser.add_argument("--batch-size", type=int, default=0, help="0: chosen for the machine")
    parser.add_argument(
        "--batch-sizes",
        type=lambda v: [int(s) for s in v.split(",") if s.strip()],
        default=[],
        help="also sweep these batch sizes on the long recordings",
    )
    parser.add_argument("--sweep-chunk", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="repeats of the long texts")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--no-shared", action="store_true")
    parser.add_argument("--quick", action="store_true", help="short clips only")
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), "utf-8")
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
