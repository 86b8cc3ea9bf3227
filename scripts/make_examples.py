"""Regenerate the example interviews in livingmemory/data/examples (needs espeak-ng and ffmpeg).

The examples are invented life stories read by espeak-ng, so the project can ship and publish
them freely. Run: ``.venv/bin/python scripts/make_examples.py``. Output is deterministic for a
given espeak-ng/ffmpeg version; the committed files are what the demo and docs use.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "livingmemory" / "data" / "examples"

EXAMPLES = [
    {
        "file": "kosir-marija-jesenice.opus",
        "voice": "sl",
        "text": (
            "Rodila sem se leta tisoč devetsto dvaintrideset na Jesenicah. "
            "Oče je delal v železarni, mama je doma skrbela za kmetijo pod Mežaklo. "
            "Po vojni smo se preselili v Kranj, kjer sem trideset let delala v tovarni Iskra. "
            "Ob nedeljah smo hodili na Bled in včasih peš na Triglav."
        ),
        "meta": {
            "title": "Od železarne do Iskre",
            "narrator": {"name": "Marija Košir", "birth_year": 1932, "home_place": "Jesenice"},
            "interviewer": "Ana Zupan",
            "date": "2026-03-14",
            "place": "Kranj",
            "language": "sl",
            "access": "public",
            "consent": "Signed release form, 14. 3. 2026 (synthetic example).",
        },
    },
    {
        "file": "novak-john-bohinj.mp3",
        "voice": "en-us",
        "text": (
            "My parents came from Bohinj. My father left for America in nineteen twenty three "
            "and worked in the steel mills of Cleveland. He always said that the lake at Bohinj "
            "was colder than Lake Erie, and that he missed the mountains every single day."
        ),
        "meta": {
            "title": "A father who missed the mountains",
            "narrator": {"name": "John Novak", "birth_year": 1941, "home_place": "Cleveland"},
            "interviewer": "Ana Zupan",
            "date": "2026-04",
            "place": "Bohinjska Bistrica",
            "language": "en",
            "access": "public",
        },
    },
    {
        "file": "zasebno-skofja-loka.ogg",
        "voice": "sl",
        "text": (
            "Tega ne bi rada povedala javno. Moj brat je po vojni odšel čez mejo v Celovec "
            "in ga nismo videli dvajset let. V Škofji Loki o tem nismo govorili."
        ),
        "meta": {
            "title": "Brat čez mejo",
            "narrator": "Frančiška Demšar",
            "interviewer": "Ana Zupan",
            "date": "2026-05-02",
            "place": "Škofja Loka",
            "language": "sl",
            "access": "restricted",
            "consent": "Narrator asked that this stays within the archive team.",
        },
    },
]

ENCODERS = {
    ".opus": ["-c:a", "libopus", "-b:a", "24k"],
    ".mp3": ["-c:a", "libmp3lame", "-b:a", "48k"],
    ".ogg": ["-c:a", "libvorbis", "-q:a", "1"],
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for example in EXAMPLES:
            target = OUT / example["file"]
            wav = Path(tmp) / "speech.wav"
            subprocess.run(
                ["espeak-ng", "-v", example["voice"], "-s", "150", "-w", str(wav), example["text"]],
                check=True,
            )
            subprocess.run(
                ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ac", "1",
                 *ENCODERS[target.suffix], "-map_metadata", "-1", str(target)],
                check=True,
            )  # fmt: skip
            sidecar = target.with_suffix(".yml")
            sidecar.write_text(
                "# Synthetic example interview (espeak-ng), made by scripts/make_examples.py\n"
                + yaml.safe_dump(example["meta"], allow_unicode=True, sort_keys=False),
                encoding="utf-8",
            )
            print(f"wrote {target.relative_to(OUT.parent.parent)} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    import argparse

    # No options: the parser answers --help (with this module's docstring) instead of
    # rewriting the tracked files it makes.
    argparse.ArgumentParser(description=__doc__).parse_args()
    main()
