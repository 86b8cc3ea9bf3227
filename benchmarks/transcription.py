"""Benchmark the transcription engines: speed, peak memory and accuracy on the same audio.

Both engines (faster-whisper and openai-whisper) run on the *same weights*: every model is a
CTranslate2 folder found by :func:`livingmemory.transcription.models.resolve`, and openai-whisper
loads the
checkpoint converted from it (:func:`livingmemory.transcription.models.openai_checkpoint`). Every
clip is
decoded *once*, in this process, with :func:`livingmemory.archive.audio.load_audio`; the arrays are
saved as ``.npy`` files that each measuring process loads, so every engine sees identical
samples.

Each configuration (engine x model x compute type x decoding) runs in a fresh interpreter
started with ``subprocess`` (this file with ``--child``), so that its peak memory is its own and
one engine's imports or caches cannot help or hinder another. Results come back as JSON.

Peak memory is the child's own ``VmHWM`` from ``/proc/self/status``. ``ru_maxrss`` (from
``getrusage`` or ``os.wait4``) is *not* used: Linux carries the parent's high-water mark over
``fork``/``vfork`` + ``exec`` into the child's ``ru_maxrss``, so it reports at least the
parent's size (measured here: a 13 MiB child of a 400 MiB parent reported 414 MiB). The
baseline column is ``VmHWM`` after imports and audio loading, before the model is built.

Speed is the median wall time of ``--repeat`` repetitions (after one untimed warm-up on the
first 5 s of the first clip), as a real-time factor: wall seconds / audio seconds. Clips are
interleaved within each repetition. CPU time is recorded too: CPU seconds / wall seconds well
below the thread count means something else was competing for the cores. The share of the CPUs
that *other* programs used during each run is measured from ``/proc/stat``; a run where it
exceeds 15% is retried (``--retries``, after waiting up to ``--wait-idle`` seconds for the
machine to calm down) and left out of the medians. Runs where Whisper fell back to sampling at
a higher temperature (a suspected hallucination) are marked, and speed ratios are also given
without those clips, since the fallback's extra decodes, not the engine, then set the time.

Accuracy: WER and CER are Levenshtein distances on normalised text (NFKC, casefold,
apostrophes removed, other punctuation and symbols turned into spaces, whitespace collapsed;
for English, digits 0-20 become words and "ok", "st", "mr" become "okay", "saint", "mister").
CER counts characters of the normalised words joined by single spaces. Transcripts are the
production settings of :class:`~livingmemory.transcription.engines.base.DecodeOptions` (temperature
fallback, conditioning on previous text) with the language forced from the clip's known
language, as the archive does.

Metadata-aware prompting: the generated Slovenian clip is also transcribed with an
``initial_prompt`` listing its people and places, written the way
:func:`livingmemory.transcription.pipeline.build_prompt` writes one (names, then the place, then
extra
words), and both WERs are printed.

Audio:

* ``../shared/data/speech`` (each clip skipped with a note when absent): ``en_jfk``,
  ``en_harvard_8k`` (8 kHz telephone bandwidth), ``de_cv``, ``en_two_speakers``; references
  come from each folder's files as described in its SOURCE.txt;
* speech generated at run time with espeak-ng (Slovenian, English, German oral-history style
  sentences with known text), written to a temporary directory.

Usage::

    .venv/bin/python benchmarks/transcription.py --json /tmp/bench.json > /tmp/bench.md
    .venv/bin/python benchmarks/transcription.py --quick        # smoke run, a couple of minutes

Progress goes to stderr, the Markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = ROOT.parent / "shared" / "data" / "speech"
SAMPLE_RATE = 16_000
WARMUP_SECONDS = 5.0
# A run during which other programs used more than this share of all CPU time is "contended":
# it is retried (--retries) and left out of the medians when uncontended runs exist.
CONTENDED = 0.15
RETRY_PAUSE = 5.0

ENGINES = ("faster-whisper", "openai-whisper")
FW_COMPUTE_TYPES = ("int8", "float32")
DECODINGS = {"beam5": 5, "greedy": 1}

# As asserted verbatim by SYSTRAN/faster-whisper's test_transcribe (see en_jfk/SOURCE.txt).
JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)

# Generated speech: invented oral-history sentences (no digits, so no number normalisation).
GENERATED: dict[str, dict[str, Any]] = {
    "gen_sl": {
        "language": "sl",
        "voice": "sl",
        "text": (
            "Moja mama Marija Košir se je rodila na Jesenicah. "
            "Oče Janez je delal v železarni, mama pa je skrbela za kmetijo pod Mežaklo. "
            "Po vojni smo se preselili v Kranj, kjer je teta Ana Zupan delala v tovarni Iskra. "
            "Ob nedeljah smo hodili na Bled."
        ),
        # What the archive knows about the recording: its people, its place, extra words.
        "people": ["Marija Košir", "Janez Košir", "Ana Zupan"],
        "place": "Jesenice",
        "extra": "Mežakla, Kranj, Iskra, Bled.",
    },
    "gen_en": {
        "language": "en",
        "voice": "en-us",
        "text": (
            "My grandmother Rose Kowalski came to Cleveland from a small village in Poland. "
            "She worked in a bakery on Saint Clair Avenue and saved every penny for a house. "
            "On Sundays the whole family walked down to the lake."
        ),
    },
    "gen_de": {
        "language": "de",
        "voice": "de",
        "text": (
            "Mein Großvater Friedrich Huber war Bergmann in Bochum. "
            "Nach dem Krieg zog die Familie nach Graz, wo meine Mutter als Lehrerin arbeitete. "
            "Im Sommer fuhren wir immer an den Wörthersee."
        ),
    },
}
PROMPT_CLIP = "gen_sl"

# Targets the project states for itself (README / engine docstrings).
TARGET_RTF = 0.10
TARGET_SPEEDUP = 3.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- text normalisation, WER and CER ------------------------------------------------------------

_APOSTROPHES = re.compile("['\u2019\u2018`\u00b4\u02bc]")
_EN_NUMBERS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]  # fmt: skip
# "St. Clair" is how Whisper writes the "Saint Clair" of the generated English reference.
_EN_EQUIVALENTS = {str(i): word for i, word in enumerate(_EN_NUMBERS)} | {
    "ok": "okay",
    "st": "saint",
    "mr": "mister",
}


def normalise(text: str, language: str) -> list[str]:
    """Words for scoring: casefolded, punctuation-free, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _APOSTROPHES.sub("", text)
    text = "".join(" " if unicodedata.category(c)[0] in "PSC" else c for c in text)
    words = text.split()
    if language == "en":
        words = [_EN_EQUIVALENTS.get(w, w) for w in words]
    return words


def error_rates(reference: str, hypothesis: str, language: str) -> dict[str, float | int]:
    ref_words, hyp_words = normalise(reference, language), normalise(hypothesis, language)
    ref_chars, hyp_chars = " ".join(ref_words), " ".join(hyp_words)
    # The edit counts (WER's and CER's numerators) are summed over clips, so counts, not rates.
    word_edits = Levenshtein.distance(ref_words, hyp_words)
    char_edits = Levenshtein.distance(ref_chars, hyp_chars)
    return {
        "wer": word_edits / max(1, len(ref_words)),
        "cer": char_edits / max(1, len(ref_chars)),
        "word_edits": word_edits,
        "ref_words": len(ref_words),
        "char_edits": char_edits,
        "ref_chars": len(ref_chars),
    }


def metadata_prompt(people: list[str], place: str | None, extra: str | None) -> str | None:
    """The prompt livingmemory.transcription.pipeline.build_prompt writes from a recording's
    metadata."""
    words = [*people, *(p for p in (place,) if p)]
    parts = [", ".join(dict.fromkeys(words)) + "." if words else "", extra or ""]
    return " ".join(p for p in parts if p).strip() or None


# -- clips ---------------------------------------------------------------------------------------


@dataclass
class Clip:
    name: str
    language: str
    reference: str
    source: str
    path: str = ""  # the original audio
    npy: str = ""  # the decoded 16 kHz mono float32 array
    duration: float = 0.0
    prompt: str | None = None
    note: str = ""


def shared_clips(shared: Path) -> list[Clip]:
    """The real recordings in ../shared/data/speech that are present, with their references."""
    clips: list[Clip] = []

    def present(relative: str) -> Path | None:
        path = shared / relative
        if path.is_file():
            return path
        log(f"note: {path} is absent; skipping that clip")
        return None

    if jfk := present("en_jfk/jfk.flac"):
        source_txt = jfk.parent / "SOURCE.txt"
        if source_txt.is_file() and JFK_REFERENCE not in source_txt.read_text("utf-8"):
            log("warning: en_jfk/SOURCE.txt no longer contains the reference used here")
        clips.append(Clip("jfk", "en", JFK_REFERENCE, "shared en_jfk", str(jfk)))

    if harvard := present("en_harvard_8k/OSR_us_000_0034_8k.wav"):
        samples = json.loads((harvard.parent / "test_samples.json").read_text("utf-8"))
        [reference] = [s["transcription"] for s in samples if s["filename"] == harvard.name]
        clips.append(
            Clip(
                "harvard_8k", "en", reference, "shared en_harvard_8k", str(harvard),
                note="8 kHz telephone bandwidth",
            )
        )  # fmt: skip

    if german := present("de_cv/test_de.wav"):
        data = json.loads((german.parent / "test_data.json").read_text("utf-8"))
        [reference] = [
            t["transcript_with_punctuation"]
            for t in data["tests"]["language_tests"]
            if t["audio_file"] == german.name
        ]
        clips.append(
            Clip(
                "de_cv", "de", reference, "shared de_cv", str(german),
                note="reference keeps the ungrammatical 'Der ... liegenden Raum' that is read",
            )
        )  # fmt: skip

    if two := present("en_two_speakers/sample.wav"):
        turns = []
        for line in (two.parent / "sample.stm").read_text("utf-8").splitlines():
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and not line.startswith(";;"):
                turns.append((float(fields[3]), fields[5]))
        reference = " ".join(text for _, text in sorted(turns))
        clips.append(
            Clip(
                "two_speakers", "en", reference, "shared en_two_speakers", str(two),
                note="2 speakers, telephone conversation, overlap at 18 s, silence before 6.7 s",
            )
        )  # fmt: skip
    return clips


def generated_clips(directory: Path, names: list[str]) -> tuple[list[Clip], str]:
    """Synthesise the generated sentences with espeak-ng into ``directory``."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        log("note: espeak-ng is not installed; skipping the generated clips")
        return [], ""
    version = subprocess.run(
        [espeak, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    clips = []
    for name in names:
        spec = GENERATED[name]
        wav = directory / f"{name}.wav"
        subprocess.run(
            [espeak, "-v", spec["voice"], "-s", "150", "-w", str(wav), spec["text"]],
            check=True,
            capture_output=True,
        )
        prompt = None
        if "people" in spec:
            prompt = metadata_prompt(spec["people"], spec.get("place"), spec.get("extra"))
        clips.append(
            Clip(
                name, spec["language"], spec["text"], f"espeak-ng -v {spec['voice']}", str(wav),
                prompt=prompt, note="synthetic speech (espeak-ng)",
            )
        )  # fmt: skip
    return clips, version


def decode_clips(clips: list[Clip], directory: Path) -> list[Clip]:
    """Decode every clip once with livingmemory.archive.audio.load_audio and save the array."""
    import numpy as np

    from livingmemory.archive.audio import load_audio

    decoded = []
    for clip in clips:
        try:
            audio = load_audio(Path(clip.path))
        except Exception as error:  # a damaged file is reported, the rest still run
            log(f"note: could not decode {clip.path} ({error}); skipping {clip.name}")
            continue
        clip.npy = str(directory / f"{clip.name}.npy")
        np.save(clip.npy, audio)
        clip.duration = len(audio) / SAMPLE_RATE
        decoded.append(clip)
        log(f"decoded {clip.name}: {clip.duration:.2f} s ({clip.language}, {clip.source})")
    return decoded


# -- the measuring child -------------------------------------------------------------------------


def cpu_ticks() -> tuple[int, int]:
    """(all, busy) CPU time of the whole machine so far, in clock ticks, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values), sum(values) - idle


def _proc_status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child_main(spec_path: str) -> None:
    """Run one configuration over its clips; write the results JSON named in the spec."""
    spec = json.loads(Path(spec_path).read_text("utf-8"))
    result: dict[str, Any] = {key: spec[key] for key in ("engine", "model", "decoding", "threads")}
    result["requested_compute_type"] = spec["compute_type"]
    try:
        _child_measure(spec, result)
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {error}"
    result["peak_rss_mib"] = _proc_status_kib("VmHWM") / 1024
    Path(spec["result_path"]).write_text(json.dumps(result, indent=1), "utf-8")


def _child_measure(spec: dict[str, Any], result: dict[str, Any]) -> None:
    import numpy as np

    from livingmemory.transcription import models
    from livingmemory.transcription.engines import get_engine
    from livingmemory.transcription.engines.base import DecodeOptions

    tag = f"{spec['engine']} {spec['model']} {spec['compute_type']} {spec['decoding']}"
    audio = {clip["name"]: np.load(clip["npy"]) for clip in spec["clips"]}
    engine_class = get_engine(spec["engine"])
    entry = models.resolve(spec["model"], allow_download=False)
    result["engine_version"] = engine_class.version()
    result["model_path"] = str(entry.path)
    result["model_source"] = entry.source
    result["baseline_rss_mib"] = _proc_status_kib("VmHWM") / 1024

    start = time.perf_counter()
    engine = engine_class(entry, compute_type=spec["compute_type"], threads=spec["threads"])
    result["load_s"] = time.perf_counter() - start
    result["compute_type"] = engine.compute_type
    beam = DECODINGS[spec["decoding"]]

    def run(clip: dict[str, Any], samples: Any, prompt: str | None = None) -> dict[str, Any]:
        options = DecodeOptions(language=clip["language"], beam_size=beam, initial_prompt=prompt)
        ticks = cpu_ticks()
        wall, cpu = time.perf_counter(), time.process_time()
        segments, _info = engine.transcribe(samples, options)
        decoded = list(segments)  # decoding happens here
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        total, busy = (after - before for after, before in zip(cpu_ticks(), ticks, strict=True))
        # Busy CPU time not ours, as a share of all CPU time available while we ran.
        others = (
            0.0 if total <= 0 else max(0.0, busy / total - cpu / (wall * (os.cpu_count() or 1)))
        )
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "others_busy": others,
            "text": " ".join(segment.text for segment in decoded),
            # Segments re-decoded at a higher temperature (Whisper's fallback when a decode
            # looks like a hallucination): sampled, so slower and different run to run.
            "fallback_segments": sum(segment.temperature > 0 for segment in decoded),
            "max_temperature": max((segment.temperature for segment in decoded), default=0.0),
        }

    first = spec["clips"][0]
    run(first, audio[first["name"]][: int(WARMUP_SECONDS * SAMPLE_RATE)])  # untimed warm-up

    runs: dict[str, list[dict[str, Any]]] = {clip["name"]: [] for clip in spec["clips"]}
    for repetition in range(spec["repeat"]):
        for clip in spec["clips"]:  # interleaved, so a burst of contention hits all clips
            for attempt in range(1 + spec["retries"]):
                measured = run(clip, audio[clip["name"]])
                measured |= error_rates(clip["reference"], measured["text"], clip["language"])
                measured["contended"] = measured["others_busy"] > CONTENDED
                runs[clip["name"]].append(measured)
                log(
                    f"    {tag} rep {repetition + 1}/{spec['repeat']} {clip['name']:<13}"
                    f" wall {measured['wall_s']:6.2f} s"
                    f"  RTF {measured['wall_s'] / clip['duration']:.3f}"
                    f"  WER {measured['wer']:.3f}"
                    f"  others {100 * measured['others_busy']:.0f}%"
                    + (
                        f"  fallback x{measured['fallback_segments']}"
                        if measured["fallback_segments"]
                        else ""
                    )
                    + ("  (contended)" if measured["contended"] else "")
                )
                if not measured["contended"]:
                    break
                if attempt < spec["retries"]:
                    time.sleep(RETRY_PAUSE)
                    wait_for_idle(spec["wait_idle"])  # no use re-running into the same crowd
    result["runs"] = runs

    prompted = {}
    for clip in spec["clips"]:
        if clip.get("prompt") and spec.get("prompt_experiment"):
            measured = run(clip, audio[clip["name"]], clip["prompt"])
            measured |= error_rates(clip["reference"], measured["text"], clip["language"])
            measured["prompt"] = clip["prompt"]
            prompted[clip["name"]] = measured
            log(f"    {tag} {clip['name']} with metadata prompt: WER {measured['wer']:.3f}")
    result["prompted"] = prompted


# -- orchestration -------------------------------------------------------------------------------


def model_info(names: list[str]) -> dict[str, dict[str, Any]]:
    """Resolve each model offline; models that are not installed are skipped with a note."""
    from livingmemory.errors import LivingMemoryError
    from livingmemory.transcription import models

    found = {}
    for name in names:
        try:
            entry = models.resolve(name, allow_download=False)
        except LivingMemoryError as error:
            log(f"note: skipping model {name}: {error}")
            continue
        found[name] = {
            "path": str(entry.path),
            "source": entry.source,
            "multilingual": entry.multilingual,
            "size_bytes": entry.size_bytes,
        }
    return found


def prepare_openai_checkpoints(names: list[str]) -> None:
    """Convert (once, cached) outside the measured processes, so no child pays for it."""
    code = (
        "import sys\n"
        "from livingmemory.transcription import models\n"
        "for name in sys.argv[1:]:\n"
        "    print(models.openai_checkpoint(models.resolve(name, allow_download=False)),"
        " file=sys.stderr)\n"
    )
    log(f"preparing openai-whisper checkpoints for {', '.join(names)} (cached after the first)")
    subprocess.run([sys.executable, "-c", code, *names], check=True, cwd=ROOT)


def busy_fraction(seconds: float = 1.0) -> float:
    """Share of all CPU time spent busy over ``seconds`` (between our runs: other programs)."""

    try:
        total_a, busy_a = cpu_ticks()
        time.sleep(seconds)
        total_b, busy_b = cpu_ticks()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 0.0 if total_b <= total_a else (busy_b - busy_a) / (total_b - total_a)


def wait_for_idle(limit: float, threshold: float = 0.25) -> float:
    """Wait up to ``limit`` seconds for other programs to leave the CPUs; the busy share seen."""
    deadline = time.monotonic() + limit
    busy = busy_fraction()
    while busy > threshold and time.monotonic() < deadline:
        log(f"    other programs keep {100 * busy:.0f}% of the CPUs busy; waiting")
        time.sleep(10)
        busy = busy_fraction()
    return busy


def run_child(spec: dict[str, Any], workdir: Path, index: int) -> dict[str, Any]:
    spec_path = workdir / f"config-{index}.json"
    spec["result_path"] = str(workdir / f"result-{index}.json")
    spec_path.write_text(json.dumps(spec), "utf-8")
    load_before = os.getloadavg()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
        cwd=ROOT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    try:
        result = json.loads(Path(spec["result_path"]).read_text("utf-8"))
    except (OSError, ValueError):
        result = {key: spec[key] for key in ("engine", "model", "decoding", "threads")}
        result["requested_compute_type"] = spec["compute_type"]
        result["error"] = f"the measuring process exited with {completed.returncode}"
    result["process_s"] = elapsed
    result["loadavg_before"] = load_before
    result["loadavg_after"] = os.getloadavg()
    return result


def plan(args: argparse.Namespace, models: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Configurations ordered so each openai-whisper run sits next to its faster-whisper ones."""
    configs = []
    for model in models:
        for decoding in args.decodings:
            for engine in args.engines:
                compute_types = args.fw_compute if engine == "faster-whisper" else ["float32"]
                for compute_type in compute_types:
                    configs.append(
                        {
                            "engine": engine,
                            "model": model,
                            "compute_type": compute_type,
                            "decoding": decoding,
                        }
                    )
    return configs


def clips_for(model: dict[str, Any], clips: list[Clip]) -> list[Clip]:
    """English-only models get the English clips only (the language is forced, never guessed)."""
    if model["multilingual"] is False:
        return [c for c in clips if c.language == "en"]
    return clips


def summarise(results: list[dict[str, Any]], clips: dict[str, Clip]) -> list[dict[str, Any]]:
    """One row per configuration and clip: medians over the repetitions."""
    rows = []
    for result in results:
        for name, measured in result.get("runs", {}).items():
            clip = clips[name]
            clean = [run for run in measured if not run.get("contended")]
            runs = clean or measured
            texts = {run["text"] for run in measured}
            wall = statistics.median(run["wall_s"] for run in runs)
            cpu = statistics.median(run["cpu_s"] for run in runs)
            rows.append(
                {
                    "engine": result["engine"],
                    "model": result["model"],
                    "compute_type": result.get("compute_type", result["requested_compute_type"]),
                    "decoding": result["decoding"],
                    "clip": name,
                    "language": clip.language,
                    "audio_s": clip.duration,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "rtf": wall / clip.duration,
                    "wall_min_s": min(run["wall_s"] for run in runs),
                    "wall_all_s": [run["wall_s"] for run in measured],
                    "others_busy_all": [run.get("others_busy", 0.0) for run in measured],
                    "runs_used": len(runs),
                    "contended": not clean,
                    "fallback": any(run.get("fallback_segments") for run in runs),
                    "peak_rss_mib": result.get("peak_rss_mib"),
                    "wer": statistics.median(run["wer"] for run in runs),
                    "cer": statistics.median(run["cer"] for run in runs),
                    "transcripts_vary": len(texts) > 1,
                    "text": runs[0]["text"],
                }
            )
    return rows


def find(rows: list[dict[str, Any]], **where: Any) -> dict[str, Any] | None:
    for row in rows:
        if all(row.get(key) == value for key, value in where.items()):
            return row
    return None


def openai_row(rows: list[dict[str, Any]], row: dict[str, Any]) -> dict[str, Any] | None:
    return find(
        rows,
        engine="openai-whisper",
        model=row["model"],
        decoding=row["decoding"],
        clip=row["clip"],
    )


def fallback_clips(rows: list[dict[str, Any]], model: str, decoding: str) -> set[str]:
    """Clips on which any engine fell back to sampling at this model and decoding."""
    return {
        row["clip"]
        for row in rows
        if row["model"] == model and row["decoding"] == decoding and row["fallback"]
    }


def speed_totals(
    rows: list[dict[str, Any]],
    model: str,
    decoding: str,
    compute: str,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> Any:
    """(openai-whisper s, faster-whisper s, clips) summed over the clips both measured."""
    ow_total = fw_total = 0.0
    names = []
    for row in rows:
        if (row["engine"], row["model"], row["decoding"], row["compute_type"]) != (
            "faster-whisper",
            model,
            decoding,
            compute,
        ) or row["clip"] in exclude:
            continue
        if reference := openai_row(rows, row):
            ow_total += reference["wall_s"]
            fw_total += row["wall_s"]
            names.append(row["clip"])
    return (ow_total, fw_total, names) if names else None


# -- report --------------------------------------------------------------------------------------

DECODING_LABEL = {"beam5": "beam 5", "greedy": "greedy"}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def render(report: dict[str, Any]) -> str:
    rows = report["rows"]
    results = report["configs"]
    out: list[str] = []
    meta = report["meta"]
    out.append("## Transcription benchmark")
    out.append("")
    version = meta["versions"]
    out.append(
        f"{meta['cpu']} ({meta['cpu_count']} cores), {meta['threads']} threads per engine, "
        f"median of {meta['repeat']} repetition(s); faster-whisper {version['faster-whisper']}"
        f" (CTranslate2 {version['ctranslate2']}), openai-whisper "
        f"{version['openai-whisper']} (torch {version['torch']})."
    )
    out.append("")
    out.append(
        "| engine | model | compute | decoding | clip | lang | audio s | wall s | RTF "
        "| peak RSS MiB | WER | CER | ow/fw speed |"
    )
    out.append("|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        ratio = ""
        if row["engine"] == "faster-whisper" and (reference := openai_row(rows, row)):
            ratio = f"{reference['wall_s'] / row['wall_s']:.2f}x"
            if reference["fallback"] or row["fallback"]:
                ratio += " ‡"
        vary = " *" if row["transcripts_vary"] else ""
        contended = (" †" if row["contended"] else "") + (" ‡" if row["fallback"] else "")
        peak = row["peak_rss_mib"]
        out.append(
            f"| {row['engine']} | {row['model']} | {row['compute_type']} "
            f"| {DECODING_LABEL[row['decoding']]} | {row['clip']} | {row['language']} "
            f"| {row['audio_s']:.1f} | {row['wall_s']:.2f}{contended} | {row['rtf']:.3f} "
            f"| {'n/a' if peak is None else f'{peak:.0f}'} | {_pct(row['wer'])}{vary} "
            f"| {_pct(row['cer'])} | {ratio} |"
        )
    out.append("")
    out.append(
        "RTF = median wall / audio seconds. Peak RSS is the whole measuring process (Python, "
        "the decoded clips, the engine) and is one number per configuration. ow/fw speed = "
        "openai-whisper wall / faster-whisper wall, same model, decoding and clip. "
        "`*` = transcripts differed between repetitions (WER shown is the median). "
        f"Runs during which other programs used over {100 * CONTENDED:.0f}% of the CPUs are "
        "retried and left out of the medians; `†` = no uncontended run was obtained. "
        "`‡` = temperature fallback: some segments were re-decoded by sampling at a higher "
        "temperature, which costs extra decodes and varies run to run, so that clip's time "
        "measures the fallback more than the engine."
    )

    out.append("")
    out.append("### Speed ratio openai-whisper / faster-whisper (same weights, same decoding)")
    out.append("")
    out.append(
        "| model | decoding | clips | openai-whisper s | fw int8 s | ow / fw int8 "
        "| fw float32 s | ow / fw float32 | fw float32 / int8 |"
    )
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for model in report["models"]:
        for decoding in report["meta"]["decodings"]:
            excluded = fallback_clips(rows, model, decoding)
            for exclude in (frozenset(), excluded) if excluded else (frozenset(),):
                int8 = speed_totals(rows, model, decoding, "int8", exclude)
                f32 = speed_totals(rows, model, decoding, "float32", exclude)
                if not int8 and not f32:
                    continue
                names = ", ".join((int8 or f32)[2])
                if exclude:
                    names = f"without fallback: {names}"
                cells = [model, DECODING_LABEL[decoding], names, f"{(int8 or f32)[0]:.2f}"]
                for totals in (int8, f32):
                    cells += (
                        [f"{totals[1]:.2f}", f"{totals[0] / totals[1]:.2f}x"]
                        if totals
                        else ["", ""]
                    )
                cells.append(f"{f32[1] / int8[1]:.2f}x" if int8 and f32 else "")
                out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "Sums of the per-clip median wall times over the clips both engines ran; the "
        "'without fallback' rows leave out clips where any engine fell back to sampling."
    )

    out.append("")
    out.append("### Per configuration: model load, memory, CPU use")
    out.append("")
    out.append(
        "| engine | model | compute | decoding | load s | baseline RSS MiB | peak RSS MiB "
        "| CPU s / wall s | others busy before | load avg before -> after | error |"
    )
    out.append("|---|---|---|---|---:|---:|---:|---:|---:|---|---|")
    for result in results:
        walls = [r["wall_s"] for runs in result.get("runs", {}).values() for r in runs]
        cpus = [r["cpu_s"] for runs in result.get("runs", {}).values() for r in runs]
        util = f"{sum(cpus) / sum(walls):.2f}" if walls else ""
        before, after = result["loadavg_before"][0], result["loadavg_after"][0]
        out.append(
            f"| {result['engine']} | {result['model']} "
            f"| {result.get('compute_type', result['requested_compute_type'])} "
            f"| {DECODING_LABEL[result['decoding']]} | {result.get('load_s', 0):.2f} "
            f"| {result.get('baseline_rss_mib', 0):.0f} | {result.get('peak_rss_mib', 0):.0f} "
            f"| {util} | {100 * result.get('others_busy_before', 0):.0f}% "
            f"| {before:.2f} -> {after:.2f} | {result.get('error', '')} |"
        )
    out.append("")
    out.append(
        f"CPU s / wall s near {meta['threads']} means the engine had the cores to itself; well "
        "below it, something else was competing (or the engine does not use all threads)."
    )

    prompted = [r for r in results if r.get("prompted", {}).get(PROMPT_CLIP)]
    out.append("")
    out.append(f"### Metadata-aware prompting ({PROMPT_CLIP}, Slovenian, espeak-ng)")
    out.append("")
    if not prompted:
        out.append(f"Not measured ({PROMPT_CLIP} not in this run, or no multilingual model).")
    else:
        prompt = prompted[0]["prompted"][PROMPT_CLIP]["prompt"]
        out.append(f"initial_prompt: `{prompt}`")
        out.append("")
        out.append(
            "| engine | model | compute | decoding | WER no prompt | WER with prompt "
            "| CER no prompt | CER with prompt |"
        )
        out.append("|---|---|---|---|---:|---:|---:|---:|")
        for result in prompted:
            row = find(
                rows,
                engine=result["engine"],
                model=result["model"],
                compute_type=result["compute_type"],
                decoding=result["decoding"],
                clip=PROMPT_CLIP,
            )
            with_prompt = result["prompted"][PROMPT_CLIP]
            out.append(
                f"| {result['engine']} | {result['model']} | {result['compute_type']} "
                f"| {DECODING_LABEL[result['decoding']]} | {_pct(row and row['wer'])} "
                f"| {_pct(with_prompt['wer'])} | {_pct(row and row['cer'])} "
                f"| {_pct(with_prompt['cer'])} |"
            )
        out.append("")
        out.append(f"Reference: {report['clips'][PROMPT_CLIP]['reference']}")
        out.append("")
        for result in prompted:
            row = find(
                rows,
                engine=result["engine"],
                model=result["model"],
                compute_type=result["compute_type"],
                decoding=result["decoding"],
                clip=PROMPT_CLIP,
            )
            label = (
                f"{result['engine']} {result['model']} {result['compute_type']} "
                f"{DECODING_LABEL[result['decoding']]}"
            )
            out.append(f"- {label}, no prompt: {row['text'] if row else 'n/a'}")
            out.append(f"- {label}, prompt: {result['prompted'][PROMPT_CLIP]['text']}")

    out.append("")
    out.append("### Targets")
    out.append("")
    out.extend(
        f"  - {line.strip()}" if line.startswith("  ") else f"- {line}"
        for line in report["targets"]
    )
    out.append("")
    out.append(f"Conditions: {report['conditions']}")
    return "\n".join(out) + "\n"


def judge_targets(rows: list[dict[str, Any]]) -> list[str]:
    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    lines = []
    fw = find(
        rows,
        engine="faster-whisper",
        model="base",
        compute_type="int8",
        decoding="beam5",
        clip="jfk",
    )
    if fw:
        lines.append(
            f"faster-whisper base int8 RTF <= {TARGET_RTF:.2f} on English (jfk, beam 5): "
            f"{fw['rtf']:.3f} -> {verdict(fw['rtf'] <= TARGET_RTF)}"
        )
        greedy = find(rows, **{**_key(fw), "decoding": "greedy"})
        if greedy:
            lines.append(f"  (greedy, for information: RTF {greedy['rtf']:.3f})")
    else:
        lines.append("faster-whisper base int8 RTF on jfk: not measured")

    excluded = fallback_clips(rows, "base", "beam5")
    for clip_label, totals in (
        ("jfk", _pair(rows, "jfk") if "jfk" not in excluded else None),
        ("clips without fallback", speed_totals(rows, "base", "beam5", "int8", excluded)),
    ):
        if totals:
            ratio = totals[0] / totals[1]
            lines.append(
                f"faster-whisper base int8 >= {TARGET_SPEEDUP:.0f}x faster than openai-whisper on "
                f"identical weights (beam 5, {clip_label}): {ratio:.2f}x -> "
                f"{verdict(ratio >= TARGET_SPEEDUP)}"
            )
        else:
            lines.append(f"speed-up (beam 5, {clip_label}): not measured")
    for compute, totals, label in (
        ("int8", speed_totals(rows, "base", "beam5", "int8"), "all clips, fallback included"),
        ("float32", speed_totals(rows, "base", "beam5", "float32", excluded), "no fallback"),
    ):
        if totals and (compute == "float32" or excluded):
            lines.append(
                f"  (faster-whisper {compute} vs openai-whisper, beam 5, {label}: "
                f"{totals[0] / totals[1]:.2f}x)"
            )

    if fw:
        lines.append(
            f"jfk WER 0 (faster-whisper base int8 beam 5): {_pct(fw['wer'])} -> "
            f"{verdict(fw['wer'] == 0)}"
        )
        others = [
            f"{r['engine']} {r['model']} {r['compute_type']} {DECODING_LABEL[r['decoding']]} "
            f"{_pct(r['wer'])}"
            for r in rows
            if r["clip"] == "jfk" and r is not fw
        ]
        if others:
            lines.append("  (jfk WER elsewhere: " + "; ".join(others) + ")")
    else:
        lines.append("jfk WER 0: not measured")
    return lines


def _key(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("engine", "model", "compute_type", "decoding", "clip")}


def _pair(rows: list[dict[str, Any]], clip: str) -> tuple[float, float, list[str]] | None:
    fw = find(
        rows,
        engine="faster-whisper",
        model="base",
        compute_type="int8",
        decoding="beam5",
        clip=clip,
    )
    ow = fw and openai_row(rows, fw)
    return (ow["wall_s"], fw["wall_s"], [clip]) if fw and ow else None


def versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for name in ("faster-whisper", "ctranslate2", "openai-whisper", "torch", "numpy"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (median; default 3)")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 repetition, jfk + gen_en, base only"
    )
    parser.add_argument(
        "--engines", type=_csv, default=list(ENGINES), help="comma-separated (default both)"
    )
    parser.add_argument(
        "--models", type=_csv, default=["tiny.en", "base"], help="default tiny.en,base"
    )
    parser.add_argument(
        "--fw-compute",
        type=_csv,
        default=list(FW_COMPUTE_TYPES),
        help="faster-whisper compute types (default int8,float32)",
    )
    parser.add_argument(
        "--decodings", type=_csv, default=list(DECODINGS), help="beam5,greedy (default both)"
    )
    parser.add_argument("--clips", type=_csv, default=None, help="only these clips (by name)")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="threads per engine"
    )
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared speech dir")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="re-runs of a repetition that other programs contended (default 2)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=(
            "before each configuration and before retrying a contended run, wait up to this "
            "long for other programs to leave the CPUs"
        ),
    )
    parser.add_argument("--json", type=Path, default=None, help="write the raw results here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat = 1
        args.models = ["base"]
        args.clips = args.clips or ["jfk", "gen_en"]
    for engine in args.engines:
        if engine not in ENGINES:
            parser.error(f"unknown engine {engine!r} (choose from {', '.join(ENGINES)})")
    for decoding in args.decodings:
        if decoding not in DECODINGS:
            parser.error(f"unknown decoding {decoding!r} (choose from {', '.join(DECODINGS)})")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the checkout's livingmemory, installed or not
    if args.child:
        child_main(args.child)
        return 0
    # A plain `kill` still cleans up: the temporary directory is removed, the child is killed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.perf_counter()
    load_start = os.getloadavg()
    log(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)}")

    models = model_info(args.models)
    if not models:
        log("no model to benchmark")
        return 1
    with tempfile.TemporaryDirectory(prefix="lm-bench-") as tmp:
        workdir = Path(tmp)
        wanted_generated = [n for n in GENERATED if args.clips is None or n in args.clips]
        generated, espeak_version = generated_clips(workdir, wanted_generated)
        all_clips = shared_clips(args.shared) + generated
        if args.clips is not None:
            all_clips = [c for c in all_clips if c.name in args.clips]
        clips = decode_clips(all_clips, workdir)
        if not clips:
            log("no audio to benchmark")
            return 1
        by_name = {c.name: c for c in clips}
        if "openai-whisper" in args.engines:
            prepare_openai_checkpoints(list(models))

        configs = plan(args, models)
        results = []
        for index, config in enumerate(configs, 1):
            selected = clips_for(models[config["model"]], clips)
            if not selected:
                continue
            others_busy = wait_for_idle(args.wait_idle)
            log(
                f"[{index}/{len(configs)}] {config['engine']} {config['model']} "
                f"{config['compute_type']} {config['decoding']} on "
                f"{', '.join(c.name for c in selected)} (load avg {os.getloadavg()[0]:.2f}, "
                f"CPUs {100 * others_busy:.0f}% busy before start)"
            )
            spec = {
                **config,
                "threads": args.threads,
                "repeat": args.repeat,
                "retries": args.retries,
                "wait_idle": args.wait_idle,
                "clips": [asdict(c) for c in selected],
                "prompt_experiment": True,
            }
            result = run_child(spec, workdir, index)
            result["others_busy_before"] = others_busy
            if "error" in result:
                log(f"    failed: {result['error']}")
            else:
                log(
                    f"    done in {result['process_s']:.1f} s; load {result['load_s']:.2f} s, "
                    f"peak RSS {result['peak_rss_mib']:.0f} MiB"
                )
            results.append(result)
            if args.json:  # partial results survive an interrupted run
                args.json.write_text(json.dumps({"partial": True, "configs": results}), "utf-8")

    rows = summarise(results, by_name)
    load_end = os.getloadavg()
    utils = [
        sum(r["cpu_s"] for runs in res.get("runs", {}).values() for r in runs)
        / max(1e-9, sum(r["wall_s"] for runs in res.get("runs", {}).values() for r in runs))
        for res in results
        if res.get("runs")
    ]
    busy = [res["others_busy_before"] for res in results]
    conditions = (
        f"load average (1/5/15 min) {' '.join(f'{x:.2f}' for x in load_start)} at start, "
        f"{' '.join(f'{x:.2f}' for x in load_end)} at end; our own runs add ~{args.threads}. "
        f"CPU s / wall s per configuration {min(utils, default=0):.2f}-{max(utils, default=0):.2f}"
        f" (threads {args.threads}); CPUs busy with other programs before each configuration "
        f"{100 * min(busy, default=0):.0f}-{100 * max(busy, default=0):.0f}%. "
        f"Total benchmark time {time.perf_counter() - began:.0f} s."
    )
    report = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "cpu": cpu_name(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads,
            "repeat": args.repeat,
            "decodings": args.decodings,
            "python": platform.python_version(),
            "versions": versions(),
            "espeak_ng": espeak_version,
            "args": {k: str(v) for k, v in vars(args).items()},
            "total_s": time.perf_counter() - began,
            "loadavg_start": load_start,
            "loadavg_end": load_end,
        },
        "models": models,
        "clips": {c.name: asdict(c) for c in clips},
        "configs": results,
        "rows": rows,
        "targets": judge_targets(rows),
        "conditions": conditions,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), "utf-8")
        log(f"raw results written to {args.json}")
    sys.stdout.write(render(report))
    return 0 if all("error" not in r for r in results) else 2


if __name__ == "__main__":
    sys.exit(main())
