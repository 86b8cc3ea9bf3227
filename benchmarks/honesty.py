"""Honest transcripts: prompt policy, suspect-segment flags and language choice, measured.

Three questions, one run (faster-whisper, the default ``base`` model, production decoding
options, the language forced from the clip's known language as the archive does):

1. **Prompt policy.** Every clip belongs to an "interview" whose metadata names a narrator
   (Marija Košir), an interviewer (Ana Zupan) and a place (Bled); some clips say those names,
   most do not. Each clip is decoded with no prompt, with the names as a list (the old
   default), with a natural sentence naming them, and with the names as faster-whisper
   ``hotwords``. The table gives WER and the number of *invented names*: metadata name words
   in the transcript beyond the number of times the reference says them.
2. **Flags.** Segments of the no-prompt run (word timestamps on) are aligned to the
   reference (jiwer) and each gets its own WER; a segment with WER >= 0.5 is *bad*, one with
   WER <= 0.1 *good*. For each flag of :mod:`livingmemory.transcription.quality` the table says
   what share of
   bad segments it catches and what share of good ones it raises, separately on the *tuning*
   clips (the ones the thresholds were chosen on: hand-written sentences, voice set A) and the
   *held-out* clips (real Gorenjska speech transcripts from ``../shared`` and English/German
   sentences, voice set B, and the shared real recordings).
3. **Language.** Detection among the archive's expected languages on every clip: for each
   probability threshold, how many clips are accepted and how many of those are right.

Speech is generated with espeak-ng (several voices and speeds); the shared real recordings in
``../shared/data/speech`` are used when present. Raw results are cached as JSON (``--cache``)
so the tables can be re-printed (``--report-only``) without decoding again.

Usage::

    .venv/bin/python benchmarks/honesty.py --cache /tmp/honesty.json > /tmp/honesty.md
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NARRATOR, INTERVIEWER, PLACE = "Marija Košir", "Ana Zupan", "Bled"
NAME_WORDS = ("marija", "kosir", "ana", "zupan", "bled")

# Hand-written oral-history style sentences (tuning material). Some say the metadata names.
TUNING = {
    "sl": [
        "Rodila sem se leta petdeset v Kranju, v hiši ob reki.",
        "Oče je delal v železarni na Jesenicah, mama je bila doma.",
        "Pozimi smo se sankali po bregu za cerkvijo.",
        "Jaz sem Marija Košir in tukaj na Bledu živim že vse življenje.",
        "V šolo smo hodili peš, tudi uro daleč, v vsakem vremenu.",
        "Po vojni je bilo hudo, hrane ni bilo dovolj za vse.",
        "Ana Zupan me je vprašala, kako smo praznovali božič.",
        "Ob nedeljah smo šli k maši, potem pa na kosilo k stari mami.",
        "Ko sem bila mlada, smo plesali na vaški veselici.",
        "V tovarni sem delala trideset let, vedno v isti izmeni.",
    ],
    "en": [
        "I was born in nineteen fifty in a small house by the river.",
        "My father worked at the ironworks, my mother stayed at home.",
        "In winter we went sledging on the hill behind the church.",
        "After the war there was not enough food for everyone.",
    ],
    "de": [
        "Ich bin im Jahr neunzehnhundertfünfzig in einem kleinen Dorf geboren.",
        "Mein Vater arbeitete in der Fabrik, meine Mutter war zu Hause.",
        "Im Winter sind wir mit dem Schlitten den Hügel hinunter gefahren.",
        "Nach dem Krieg gab es nicht genug zu essen.",
    ],
}
# Held-out hand-written sentences for English and German (not used to choose anything).
HELD_OUT = {
    "en": [
        "We walked to school every day, even in the snow.",
        "On Sundays the whole family had lunch with my grandmother.",
        "Ana Zupan asked me about the village dances.",
    ],
    "de": [
        "Wir sind jeden Tag zu Fuß in die Schule gegangen.",
        "Am Sonntag hat die ganze Familie bei der Großmutter gegessen.",
    ],
}
# More tuning clips (flags only): the first round had too few well-recognised segments to
# set a false-alarm rate on.
TUNING_MORE = {
    "en": [
        "My grandmother kept bees behind the house.",
        "We had two cows, a pig and a few chickens.",
        "The train to the city left at six in the morning.",
        "In summer we helped with the hay in the fields.",
        "Hello.",
        "Yes, yes, that is right.",
    ],
    "de": [
        "Meine Großmutter hatte Bienen hinter dem Haus.",
        "Der Zug in die Stadt fuhr um sechs Uhr morgens.",
        "Im Sommer haben wir auf dem Feld beim Heu geholfen.",
        "Ja, genau.",
    ],
    "sl": [
        "Stara mama je imela čebele za hišo.",
        "Imeli smo dve kravi, prašiča in nekaj kokoši.",
        "Vlak v mesto je odpeljal ob šestih zjutraj.",
        "Ja, ja, tako je bilo.",
    ],
}
# A second held-out set, made after the first held-out results were read (so that the rule
# changes made then are judged on clips nobody has looked at): new sentences, new voices.
FRESH = {
    "en": [
        "My uncle drove a truck for the sawmill for many years.",
        "We never locked the door, everybody knew everybody.",
        "Okay.",
        "On the first of May there was a big fire on the hill.",
    ],
    "de": [
        "Mein Onkel ist viele Jahre Lastwagen für das Sägewerk gefahren.",
        "Wir haben die Tür nie abgeschlossen.",
        "Am ersten Mai gab es ein großes Feuer auf dem Hügel.",
    ],
    "sl": [
        "Stric je dolga leta vozil tovornjak za žago.",
        "Vrat nismo nikoli zaklepali, vsi so se poznali.",
        "Prvega maja je na hribu gorel velik kres.",
        "No, ja.",
    ],
}
VOICES_FRESH = {"sl": ["sl+m6"], "en": ["en+m6", "en-gb+f3"], "de": ["de+f5"]}
VOICES_A = {"sl": ["sl+m3", "sl+f2"], "en": ["en+m3"], "de": ["de+f2"]}
VOICES_B = {"sl": ["sl+m1", "sl+f4"], "en": ["en+f4", "en-us+m1"], "de": ["de+m1"]}
EXPECTED = ("sl", "en", "de", "hr")


@dataclass
class Clip:
    name: str
    path: Path
    language: str
    reference: str
    split: str  # tuning | held-out


@dataclass
class Run:
    clip: str
    policy: str
    words: bool
    wall: float
    segments: list[dict[str, Any]] = field(default_factory=list)


def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^\w\s]", " ", text).split()


def synthesise(voice: str, speed: int, sentences: list[str], target: Path) -> None:
    """Sentences with a pause between them, like a narrator thinking."""
    text = " [[_:_:]] ".join(sentences)
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-g", "12", "-w", str(target), text],
        check=True,
        capture_output=True,
    )


def rog_sentences() -> list[str]:
    """Real spoken Slovenian from Gorenjska speakers (manual transcripts), anonymised tokens
    and fillers removed, for held-out Slovenian clips."""
    folder = SHARED / "text" / "sl_rog_gorenjska"
    sentences = []
    for path in sorted(folder.glob("DERIVED_*.turns.tsv")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            text = line.split("\t")[1]
            text = re.sub(r"\[[^\]]*\]|\b(eem|eee|nnn|mhm)\b|\w+- ", "", text)
            text = re.sub(r"\s+([,.?!])", r"\1", " ".join(text.split())).strip(" ,")
            if len(text.split()) >= 4:
                sentences.append(text)
    return sentences


def make_clips(folder: Path) -> list[Clip]:
    clips: list[Clip] = []

    def add(name: str, language: str, voice: str, speed: int, sentences: list[str], split: str):
        path = folder / f"{name}.wav"
        synthesise(voice, speed, sentences, path)
        clips.append(Clip(name, path, language, " ".join(sentences), split))

    for language, sentences in TUNING.items():
        for v, voice in enumerate(VOICES_A[language]):
            for i in range(0, len(sentences), 2):
                speed = (140, 165)[(i // 2 + v) % 2]
                add(f"tune-{language}-{v}-{i}", language, voice, speed, sentences[i : i + 2],
                    "tuning")  # fmt: skip
    for language, sentences in TUNING_MORE.items():
        for v, voice in enumerate(VOICES_A[language]):
            for i in range(0, len(sentences), 2):
                add(f"tune2-{language}-{v}-{i}", language, voice, 150, sentences[i : i + 2],
                    "tuning")  # fmt: skip
    for language, sentences in FRESH.items():
        for v, voice in enumerate(VOICES_FRESH[language]):
            for i in range(0, len(sentences), 2):
                add(f"fresh-{language}-{v}-{i}", language, voice, (145, 165)[v % 2],
                    sentences[i : i + 2], "fresh")  # fmt: skip
    rog = rog_sentences()
    for i in range(0, min(len(rog), 16), 2):
        voice = VOICES_B["sl"][(i // 2) % 2]
        add(f"held-sl-rog-{i}", "sl", voice, (150, 170)[(i // 2) % 2], rog[i : i + 2], "held-out")
    for language, sentences in HELD_OUT.items():
        for v, voice in enumerate(VOICES_B[language]):
            add(f"held-{language}-{v}", language, voice, 155, sentences, "held-out")
    speech = SHARED / "speech"
    if (speech / "en_jfk" / "jfk.flac").exists():
        clips.append(Clip("shared-en-jfk", speech / "en_jfk" / "jfk.flac", "en",
                          "And so my fellow Americans, ask not what your country can do for you, "
                          "ask what you can do for your country.", "held-out"))  # fmt: skip
    if (speech / "de_cv" / "test_de.wav").exists():  # the reference as SOURCE.txt gives it
        text = "Der hinter diesem Portal liegenden Raum wurde als Leichenhalle genutzt"
        clips.append(Clip("shared-de-cv", speech / "de_cv" / "test_de.wav", "de", text, "held-out"))
    if (speech / "en_harvard_8k" / "test_samples.json").exists():
        data = json.loads((speech / "en_harvard_8k" / "test_samples.json").read_text())
        text = data[0]["transcription"]
        clips.append(Clip("shared-en-harvard", speech / "en_harvard_8k" /
                          "OSR_us_000_0034_8k.wav", "en", text, "held-out"))  # fmt: skip
    stm = speech / "en_two_speakers" / "sample.stm"
    if stm.exists():
        text = " ".join(line.split(None, 5)[5] for line in stm.read_text().splitlines()
                        if line.strip() and not line.startswith(";"))  # fmt: skip
        clips.append(Clip("shared-en-call", speech / "en_two_speakers" / "sample.wav", "en", text,
                          "held-out"))  # fmt: skip
    return clips


def prompts(language: str) -> dict[str, dict[str, str | None]]:
    names = f"{NARRATOR}, {INTERVIEWER}, {PLACE}."
    sentence = {
        "sl": f"Pripoveduje {NARRATOR}, sprašuje {INTERVIEWER}. {PLACE}.",
        "en": f"An interview with {NARRATOR} by {INTERVIEWER}, in {PLACE}.",
        "de": f"Ein Gespräch mit {NARRATOR}, geführt von {INTERVIEWER}, in {PLACE}.",
    }[language]
    return {
        "none": {"initial_prompt": None, "hotwords": None},
        "names": {"initial_prompt": names, "hotwords": None},
        "sentence": {"initial_prompt": sentence, "hotwords": None},
        "hotwords": {"initial_prompt": None, "hotwords": f"{NARRATOR} {INTERVIEWER} {PLACE}"},
    }


def decode_all(clips: list[Clip], cache: Path | None) -> dict[str, Any]:
    from dataclasses import replace

    from livingmemory.archive.audio import load_audio
    from livingmemory.transcription import models
    from livingmemory.transcription.engines import get_engine
    from livingmemory.transcription.engines.base import DecodeOptions

    model = models.resolve(models.DEFAULT_MODEL)
    engine = get_engine("faster-whisper")(model, threads=os.cpu_count() or 1)
    results: dict[str, Any] = {"clips": [], "runs": [], "detections": {}}
    if cache and cache.exists():  # resume: keep what an earlier run decoded
        results = json.loads(cache.read_text())
    known = {c["name"] for c in results["clips"]}
    results["clips"] += [c.__dict__ | {"path": str(c.path)} for c in clips if c.name not in known]
    for n, clip in enumerate(clips, 1):
        if any(r["clip"] == clip.name for r in results["runs"]):
            continue  # already decoded (a resumed run)
        audio = load_audio(clip.path)
        results["detections"][clip.name] = engine.detect_language(audio)[:8]
        base = DecodeOptions(language=clip.language, word_timestamps=True)
        plans = [(p, True, kw) for p, kw in prompts(clip.language).items()]
        plans.append(("none", False, prompts(clip.language)["none"]))
        if clip.name.startswith(("tune2-", "fresh-")):
            plans = plans[:1]  # flags only: the prompt-policy table uses the first round
        for policy, words, kw in plans:
            options = replace(base, word_timestamps=words, **kw)
            clock = time.monotonic()
            segments, _ = engine.transcribe(audio, options)
            decoded = list(segments)
            wall = time.monotonic() - clock
            results["runs"].append(Run(clip.name, policy, words, wall, [
                {"start": s.start, "end": s.end, "text": s.text, "avg_logprob": s.avg_logprob,
                 "no_speech_prob": s.no_speech_prob, "compression_ratio": s.compression_ratio,
                 "temperature": s.temperature, "words": [w.__dict__ for w in s.words]}
                for s in decoded]).__dict__)  # fmt: skip
        print(f"[{n}/{len(clips)}] {clip.name}", file=sys.stderr)
        if cache:
            cache.write_text(json.dumps(results, ensure_ascii=False))
    return results


# -- analysis -------------------------------------------------------------------------------


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = " ".join(normalise(reference)), " ".join(normalise(hypothesis))
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp or "<empty>"))


def segment_wers(reference: str, segments: list[dict[str, Any]]) -> list[float]:
    """Each segment's own WER: the clip's word alignment, errors charged to segments."""
    import jiwer

    ref = normalise(reference)
    hyp, owner = [], []
    for i, s in enumerate(segments):
        words = normalise(s["text"])
        hyp += words
        owner += [i] * len(words)
    errors, refs = [0] * len(segments), [0] * len(segments)
    if not segments:
        return []
    if not hyp:
        return [1.0] * len(segments)
    out = jiwer.process_words(" ".join(ref) or "x", " ".join(hyp))
    for chunk in out.alignments[0]:
        if chunk.type in ("equal", "substitute"):
            for k in range(chunk.hyp_end_idx - chunk.hyp_start_idx):
                seg = owner[chunk.hyp_start_idx + k]
                refs[seg] += 1
                errors[seg] += chunk.type == "substitute"
        elif chunk.type == "insert":
            for k in range(chunk.hyp_start_idx, chunk.hyp_end_idx):
                errors[owner[k]] += 1
        else:  # delete: charged to the segment of the next hypothesis word
            seg = owner[min(chunk.hyp_start_idx, len(owner) - 1)]
            count = chunk.ref_end_idx - chunk.ref_start_idx
            errors[seg] += count
            refs[seg] += count
    return [e / r if r else (1.0 if e else 0.0) for e, r in zip(errors, refs, strict=True)]


def invented_names(reference: str, hypothesis: str) -> int:
    ref, hyp = normalise(reference), normalise(hypothesis)

    # Stems: "Bledu" is Bled, "Marijo" is Marija.
    def count(words: list[str], name: str) -> int:
        return sum(1 for w in words if w[: max(3, len(name) - 1)] == name[: max(3, len(name) - 1)])

    return sum(max(0, count(hyp, n) - count(ref, n)) for n in NAME_WORDS)


def report(results: dict[str, Any]) -> str:
    from livingmemory.transcription.engines.base import DecodeOptions, Segment, Word
    from livingmemory.transcription.quality import flag_segments

    clips = {c["name"]: c for c in results["clips"]}
    runs = results["runs"]
    out = ["## Prompt policy (faster-whisper base, word timestamps on)", "",
           "| policy | language | clips | WER (pooled mean) | invented names | "
           "clips with an invented name |", "|---|---|---|---|---|---|"]  # fmt: skip
    for policy in ("none", "names", "sentence", "hotwords"):
        for language in ("sl", "en", "de"):
            rows = [r for r in runs if r["policy"] == policy and r["words"]
                    and clips[r["clip"]]["language"] == language
                    and not r["clip"].startswith(("tune2-", "fresh-"))]  # fmt: skip
            if not rows:
                continue
            wers, invented = [], []
            for r in rows:
                hyp = " ".join(s["text"] for s in r["segments"])
                wers.append(wer(clips[r["clip"]]["reference"], hyp))
                invented.append(invented_names(clips[r["clip"]]["reference"], hyp))
            out.append(f"| {policy} | {language} | {len(rows)} | {sum(wers) / len(wers):.2f} | "
                       f"{sum(invented)} | {sum(1 for i in invented if i)} |")  # fmt: skip
    # Word timestamps: what they cost.
    on = {r["clip"]: r["wall"] for r in runs if r["policy"] == "none" and r["words"]
          and not r["clip"].startswith(("tune2-", "fresh-"))}  # fmt: skip
    off = {r["clip"]: r["wall"] for r in runs if r["policy"] == "none" and not r["words"]}
    both = [c for c in on if c in off]
    if both:
        ratio = sum(on[c] for c in both) / sum(off[c] for c in both)
        out += ["", f"Word timestamps cost: {ratio:.2f}x the decoding time without them "
                f"({len(both)} clips, same run).", ""]  # fmt: skip
    # Flags, calibrated per segment.
    out += ["## Suspect-segment flags (no prompt; bad = segment WER >= 0.5, good = <= 0.1)", ""]
    for split in ("tuning", "held-out", "fresh"):
        stats: dict[str, list[int]] = {}
        bad_total = good_total = 0
        for r in runs:
            clip = clips[r["clip"]]
            if r["policy"] != "none" or not r["words"] or clip["split"] != split:
                continue
            segs = [
                Segment(s["start"], s["end"], s["text"], s["avg_logprob"], s["no_speech_prob"],
                        s["compression_ratio"], s["temperature"],
                        tuple(Word(**w) for w in s["words"]))
                for s in r["segments"]
            ]  # fmt: skip
            flags = flag_segments(segs, clip["language"], DecodeOptions(), prompt=None)
            for seg_wer, seg_flags in zip(segment_wers(clip["reference"], r["segments"]), flags,
                                          strict=True):  # fmt: skip
                bad, good = seg_wer >= 0.5, seg_wer <= 0.1
                bad_total += bad
                good_total += good
                for name in [*seg_flags, "ANY"] if seg_flags else []:
                    caught = stats.setdefault(name, [0, 0])
                    caught[0] += bad
                    caught[1] += good
        out += [f"**{split}**: {bad_total} bad segments, {good_total} good", "",
                "| flag | bad caught | good flagged |", "|---|---|---|"]  # fmt: skip
        for name, (b, g) in sorted(stats.items(), key=lambda kv: kv[0] != "ANY"):
            out.append(f"| {name} | {b}/{bad_total} ({b / max(bad_total, 1):.0%}) | "
                       f"{g}/{good_total} ({g / max(good_total, 1):.0%}) |")  # fmt: skip
        out.append("")
    # The threshold of low_confidence, swept: mean word probability per segment.
    out += ["### `low_confidence` threshold (mean word probability)", "",
            "| threshold | tuning: bad caught | tuning: good flagged | held-out: bad caught | "
            "held-out: good flagged | fresh: bad caught | fresh: good flagged |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    points: dict[str, list[tuple[float, float]]] = {"tuning": [], "held-out": [], "fresh": []}
    for r in runs:
        clip = clips[r["clip"]]
        if r["policy"] != "none" or not r["words"]:
            continue
        for seg, seg_wer in zip(r["segments"], segment_wers(clip["reference"], r["segments"]),
                                strict=True):  # fmt: skip
            words = seg["words"]
            if words:
                mean = sum(w["probability"] for w in words) / len(words)
                points[clip["split"]].append((mean, seg_wer))
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75):
        cells = []
        for split in ("tuning", "held-out", "fresh"):
            bad = [m for m, w in points[split] if w >= 0.5]
            good = [m for m, w in points[split] if w <= 0.1]
            cells += [f"{sum(m < threshold for m in bad)}/{len(bad)}",
                      f"{sum(m < threshold for m in good)}/{len(good)}"]  # fmt: skip
        out.append(f"| {threshold:.2f} | " + " | ".join(cells) + " |")
    out.append("")
    # Language choice.
    out += ["## Language detection among expected languages", "",
            "| threshold | accepted | right among accepted | wrong among accepted | "
            "marked uncertain |", "|---|---|---|---|---|"]  # fmt: skip
    picks = []
    for name, candidates in results["detections"].items():
        allowed = [c for c in candidates if c[0] in EXPECTED] or candidates
        picks.append((clips[name]["language"], allowed[0][0], allowed[0][1]))
    for threshold in (0.0, 0.3, 0.5, 0.7, 0.9):
        accepted = [p for p in picks if p[2] >= threshold]
        right = sum(1 for p in accepted if p[0] == p[1])
        out.append(f"| {threshold:.1f} | {len(accepted)}/{len(picks)} | {right} | "
                   f"{len(accepted) - right} | {len(picks) - len(accepted)} |")  # fmt: skip
    out += ["", "| language | clips | detected right (top allowed) | median p when right | "
            "max p when wrong |", "|---|---|---|---|---|"]  # fmt: skip
    for language in ("sl", "en", "de"):
        mine = [p for p in picks if p[0] == language]
        right = sorted(p[2] for p in mine if p[1] == language)
        wrong = [p[2] for p in mine if p[1] != language]
        med = f"{right[len(right) // 2]:.2f}" if right else "-"
        out.append(f"| {language} | {len(mine)} | {len(right)} | {med} | "
                   f"{max(wrong) if wrong else 0:.2f} |")  # fmt: skip
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="JSON file for raw results")
    parser.add_argument("--report-only", action="store_true", help="re-print from --cache")
    args = parser.parse_args()
    if args.report_only:
        results = json.loads(args.cache.read_text())
    else:
        with tempfile.TemporaryDirectory() as tmp:
            clips = make_clips(Path(tmp))
            print(f"{len(clips)} clips", file=sys.stderr)
            results = decode_all(clips, args.cache)
    print(report(results))


if __name__ == "__main__":
    main()
