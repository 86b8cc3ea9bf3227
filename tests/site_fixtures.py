"""A published archive for the public-site tests: two public interviews (one with hostile
markup in its title and transcript), one restricted and one embargoed, tagged for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import add_json, insert_transcript

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.site.publish import publish
from livingmemory.site.serve import site_metadata
from livingmemory.tagging.pipeline import tag_transcripts

HOSTILE_TITLE = 'Spomini na Kranj <script>window.lmPwned = "title"</script>'
HOSTILE_LINE = "<img src=x onerror=\"window.lmPwned = 'line'\"> Med vojno smo hodili v šolo."
SL_LINES = [
    (0.0, "Rodila sem se leta 1932 v Kranju.", "Ana Novak"),
    (2.0, "Oče je delal v Železarni na Jesenicah.", "Ana Novak"),
    (3.0, "Kaj pa v petdesetih letih?", "Miha Zupan"),
    (3.5, HOSTILE_LINE, "Ana Novak"),
]
OVERLAPPED_LINE = SL_LINES[2][1]  # the interviewer's question, talked over by the narrator
EN_LINES = [
    (0.0, "My father left Bohinj for America.", None),
    (2.0, "He wrote letters home to Bled every week.", None),
]
RESTRICTED = ("Zaprta zgodba QK41", "Ivana Zakritnik", "Skrivnost iz Kranja QK43.")
EMBARGOED = ("Pod embargom QF71", "Ljudmila Prihodnja", "V Kranju pod embargom QF73.")
HIDDEN_TEXT = ["QK41", "QK43", "QF71", "QF73", "Zakritnik", "Prihodnja"]


def build_site(folder: Path, audio_files: dict[str, Path]) -> dict[str, Any]:
    """Add, transcribe (written in directly), tag and publish; return ids and paths."""
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    specs = [
        ("sl", HOSTILE_TITLE, "Ana Novak", "ogg",
         ["--access", "public", "--date", "1954-05-12", "--place", "Kranj", "--language", "sl",
          "--interviewer", "Miha Zupan"]),
        ("en", "Letters from Bohinj", "John Kos", "wav",
         ["--access", "public", "--date", "1987", "--place", "Bohinj", "--language", "en"]),
        ("restricted", RESTRICTED[0], RESTRICTED[1], "flac",
         ["--access", "restricted", "--date", "1961", "--place", "Kranj", "--language", "sl"]),
        ("embargoed", EMBARGOED[0], EMBARGOED[1], "mp3",
         ["--embargo-until", "2099-01-01", "--date", "1962", "--place", "Kranj",
          "--language", "sl"]),
    ]  # fmt: skip
    ids: dict[str, int] = {}
    for key, title, narrator, audio_format, options in specs:
        result, added = add_json(
            archive_db, audio_files[audio_format], "--title", title, "--narrator", narrator,
            *options,
        )  # fmt: skip
        assert result.exit_code == 0, str(result)
        ids[key] = added[0]["recording_id"]
    lines = {
        "sl": SL_LINES,
        "en": EN_LINES,
        "restricted": [(0.0, RESTRICTED[2], None)],
        "embargoed": [(0.0, EMBARGOED[2], None)],
    }
    with open_archive(archive_db) as archive:
        archive.db.execute(
            "UPDATE people SET birth_year = 1932, home_place = 'Jesenice' WHERE name = 'Ana Novak'"
        )
        for key, rows in lines.items():
            _, segment_ids = insert_transcript(
                archive,
                ids[key],
                [text for _, text, _ in rows],
                starts=[start for start, _, _ in rows],
                language="en" if key == "en" else "sl",
            )
            for segment_id, (start, text, speaker) in zip(segment_ids, rows, strict=True):
                end = next((s for s, _, _ in rows if s > start), start + 1.0)
                archive.db.execute(
                    "UPDATE segments SET speaker = ?, end = ?, overlap = ? WHERE id = ?",
                    [speaker, end, int(text == OVERLAPPED_LINE), segment_id],
                )
        archive.db.conn.commit()
        tag_transcripts(archive)
        publish(archive)
        metadata = site_metadata(archive)
    return {
        "folder": folder,
        "archive_db": archive_db,
        "public_db": folder / PUBLIC_DIR / PUBLIC_DB,
        "ids": ids,
        "metadata": metadata,
    }
