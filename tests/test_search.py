"""``livingmemory search``: any inflected form, without diacritics, current transcripts only.

Transcripts are written straight into the archive with known text and start times, then
tagged (tagging fills ``segments.lemmas``, which search matches lemmatised queries against).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from support import (
    db_rows,
    insert_recording,
    insert_transcript,
    run_cli,
)

from livingmemory.archive import schema
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.search import search
from livingmemory.tagging.pipeline import tag_transcripts

TITLE = "Pri stari mami [1987]"
# (start seconds, text): one segment past the first hour, for the HH:MM:SS time code.
SEGMENTS = [
    (0.0, "Živeli smo v Kranju, v majhni hiši."),
    (65.5, "Mama je prišla iz Škofje Loke."),
    (130.0, "Škofja Loka je lepo mesto."),
    (3725.0, "Oče je delal v Železarni Jesenice."),
    (3790.0, "Pozimi smo se sankali pod Triglavom."),
    (4000.0, "Vojna je vzela očeta."),
]


def timecode(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@pytest.fixture(scope="module")
def tagged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One tagged archive shared by the read-only search tests of this module."""
    folder = tmp_path_factory.mktemp("search") / "archive"
    init_archive(folder / "archive.db")
    archive_db = folder / "archive.db"
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title=TITLE)
        _, segment_ids = insert_transcript(
            archive,
            recording_id,
            [text for _, text in SEGMENTS],
            starts=[start for start, _ in SEGMENTS],
        )
        tag_transcripts(archive)
    return {"db": archive_db, "recording_id": recording_id, "segments": segment_ids}


def search_json(archive_db: Path, query: str, *args: object) -> list[dict[str, Any]]:
    result = run_cli("search", query, "--archive", archive_db, "--json", *args)
    assert result.exit_code == 0, str(result)
    assert result.exception is None, str(result)
    return json.loads(result.stdout)


def texts_found(archive_db: Path, query: str) -> list[str]:
    return [hit["text"] for hit in search_json(archive_db, query)]


# -- inflection and diacritics ---------------------------------------------------------------


def test_tagging_fills_segment_lemmas(tagged: dict[str, Any]) -> None:
    rows = db_rows(tagged["db"], "SELECT text, lemmas FROM segments ORDER BY position")
    assert all(row["lemmas"] for row in rows)
    assert "kranj" in rows[0]["lemmas"].split()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Kranj", SEGMENTS[0][1]),
        ("kranj", SEGMENTS[0][1]),
        ("Kranju", SEGMENTS[0][1]),
        ("Jesenice", SEGMENTS[3][1]),
        ("Triglav", SEGMENTS[4][1]),
        ("zelezarna", SEGMENTS[3][1]),
        ("Železarna", SEGMENTS[3][1]),
        ("ZELEZARNI", SEGMENTS[3][1]),
        ("kranja", SEGMENTS[0][1]),
        ("triglavu", SEGMENTS[4][1]),
        # Sentence-initial "Vojna" is lemmatised as a capitalised word ("vojen"): the
        # inflected "vojni" must still find it.
        ("vojni", SEGMENTS[5][1]),
    ],
)
def test_any_inflected_form_without_diacritics(
    tagged: dict[str, Any], query: str, expected: str
) -> None:
    assert texts_found(tagged["db"], query) == [expected]


@pytest.mark.parametrize(
    "query",
    ["Škofja Loka", "Škofje Loke", "Škofji Loki", "ŠKOFJA LOKA", "škofje loke", "skofja loka",
     "Skofje Loke"],
)  # fmt: skip
def test_name_in_one_case_finds_the_other(tagged: dict[str, Any], query: str) -> None:
    """Nominative "Škofja Loka" and genitive "iz Škofje Loke" are found by any case form,
    typed with or without capitals and diacritics."""
    nominative, genitive = SEGMENTS[2][1], SEGMENTS[1][1]
    assert set(texts_found(tagged["db"], query)) == {nominative, genitive}


def test_phrase_with_preposition_finds_the_name_in_another_case(tagged: dict[str, Any]) -> None:
    """search.py's own promise: "iz Škofje Loke" finds "Škofja Loka"."""
    assert SEGMENTS[2][1] in texts_found(tagged["db"], "iz Škofje Loke")


def test_phrase_words_must_be_together(tagged: dict[str, Any]) -> None:
    """Words of a query are a phrase, not scattered anywhere in a segment."""
    assert texts_found(tagged["db"], "Loka lepo") == []
    assert texts_found(tagged["db"], "lepo mesto") == [SEGMENTS[2][1]]


# -- output ---------------------------------------------------------------------------------


def test_hits_print_id_title_timecode_and_snippet(tagged: dict[str, Any]) -> None:
    result = run_cli("search", "Železarna", "--archive", tagged["db"])
    assert result.exit_code == 0, str(result)
    [line] = [line for line in result.stdout.splitlines() if line.strip()]
    start = SEGMENTS[3][0]
    match = re.fullmatch(r"#(\d+) (.+) \[(\d\d:\d\d:\d\d)\] (.+)", line)
    assert match, line
    assert int(match[1]) == tagged["recording_id"]
    assert match[2] == TITLE  # printed as is, brackets and all (no markup eaten)
    assert match[3] == timecode(start) and start >= 3600
    assert "Železarni" in match[4] and "Jesenice" in match[4]


def test_json_hits(tagged: dict[str, Any]) -> None:
    hits = search_json(tagged["db"], "Kranju")
    [hit] = hits
    start, text = SEGMENTS[0]
    assert hit["recording_id"] == tagged["recording_id"]
    assert hit["segment_id"] == tagged["segments"][0]
    assert hit["title"] == TITLE
    assert hit["start"] == start
    assert hit["timecode"] == timecode(start)
    assert hit["text"] == text
    # The snippet marks the matched word.
    assert "[Kranju]" in hit["snippet"]


def test_hits_come_in_a_stable_order_and_limit_applies(tagged: dict[str, Any]) -> None:
    query = "Škofja Loka"
    every = search_json(tagged["db"], query)
    assert len(every) == 2
    assert search_json(tagged["db"], query) == every
    assert search_json(tagged["db"], query, "--limit", "1") == every[:1]
    with open_archive(tagged["db"]) as archive:
        assert [h.segment_id for h in search(archive, query)] == [h["segment_id"] for h in every]


def test_no_hits_exit_1_with_a_message(tagged: dict[str, Any]) -> None:
    result = run_cli("search", "Ljubljana", "--archive", tagged["db"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert "Ljubljana" in result.stdout + result.stderr
    assert search_json(tagged["db"], "Ljubljana") == []


@pytest.mark.parametrize("query", ["", "   ", "!!!", "*", '"', "-", "…"])
def test_empty_query_is_a_one_line_error(tagged: dict[str, Any], query: str) -> None:
    result = run_cli("search", query, "--archive", tagged["db"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert "Error" in result.error_lines[0]
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("query", "finds_kranj"),
    [
        ('"Kranj', True),
        ('Kranj"', True),
        ("Kranj*", True),
        ("-Kranj", True),
        ("^Kranj", True),
        ("(Kranj", True),
        ("text:Kranj", False),
        ("lemmas:kranj", False),
        ("NEAR(Kranj Bled)", False),
        ("Kranj NEAR Bled", False),
        ("Kranj OR", False),
        ("AND", False),
        ("NOT", False),
        ("Kranj AND NOT Bled", False),
        ("'Kranj'", True),
        ("Kranj;", True),
        ("{Kranj}", True),
    ],
)
def test_fts_syntax_in_queries_does_not_crash(
    tagged: dict[str, Any], query: str, finds_kranj: bool
) -> None:
    # "--" ends the options, as a user must type it for a query that starts with "-".
    result = run_cli("search", "--archive", tagged["db"], "--json", "--", query)
    assert result.exception is None, str(result)
    assert result.exit_code == 0, str(result)
    texts = [hit["text"] for hit in json.loads(result.stdout)]
    if finds_kranj:
        assert texts == [SEGMENTS[0][1]]
    plain = run_cli("search", "--archive", tagged["db"], "--", query)
    assert plain.exception is None, str(plain)
    assert plain.exit_code in (0, 1), str(plain)
    assert "Error" not in plain.stderr


# -- which transcripts ------------------------------------------------------------------------


def test_only_current_transcripts_are_searched(archive_db: Path) -> None:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title="Dvakrat prepisan")
        insert_transcript(archive, recording_id, ["Na kozolcu smo sušili seno."])
        # A re-transcription replaces it (the helper makes the old one not current).
        _, [current] = insert_transcript(archive, recording_id, ["Na senu smo spali."])
        tag_transcripts(archive)
    assert db_rows(archive_db, "SELECT count(*) AS n FROM transcripts WHERE is_current = 1") == [
        {"n": 1}
    ]
    assert search_json(archive_db, "kozolcu") == []
    assert search_json(archive_db, "kozolec") == []
    assert [h["segment_id"] for h in search_json(archive_db, "spali")] == [current]
    result = run_cli("search", "kozolcu", "--archive", archive_db)
    assert result.exit_code == 1, str(result)


def test_untagged_segments_are_found_by_their_words(archive_db: Path) -> None:
    """Before tagging there are no lemmas yet: the exact word still finds the segment."""
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive)
        insert_transcript(archive, recording_id, ["Živeli smo v Kranju."])
    assert texts_found(archive_db, "Kranju") == ["Živeli smo v Kranju."]
    assert texts_found(archive_db, "kranju") == ["Živeli smo v Kranju."]


# -- migration from schema 3 ------------------------------------------------------------------


def test_v3_archive_is_migrated_and_its_segments_searchable(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    path = folder / "archive.db"
    db = sqlite_utils.Database(path)
    assert schema.migrate(db, target=3) == [1, 2, 3]
    recording_id = (
        db["recordings"]
        .insert(
            {
                "title": "Star intervju",
                "file_path": "recordings/star.wav",
                "original_filename": "star.wav",
                "sha256": "ab" * 32,
                "size_bytes": 10,
                "format": "wav",
                "duration": 60.0,
                "language": "sl",
                "added_at": "2020-01-01T00:00:00+00:00",
            }
        )
        .last_pk
    )
    transcript_id = (
        db["transcripts"]
        .insert(
            {
                "recording_id": recording_id,
                "source": "machine",
                "language": "sl",
                "finished_at": "2020-01-01T00:00:00+00:00",
                "is_current": 1,
            }
        )
        .last_pk
    )
    texts = ["Oče je delal v Železarni Jesenice.", "Potem smo se preselili v Kranj."]
    for position, text in enumerate(texts):
        db["segments"].insert(
            {
                "transcript_id": transcript_id,
                "recording_id": recording_id,
                "position": position,
                "start": 10.0 * position,
                "end": 10.0 * position + 9,
                "text": text,
            }
        )
    db.conn.commit()
    db.close()
    old_copy = tmp_path / "v3-copy.db"
    shutil.copyfile(path, old_copy)

    with open_archive(path) as archive:
        assert schema.schema_version(archive.db) == schema.SCHEMA_VERSION
        assert "lemmas" in archive.db["segments"].columns_dict
        # Existing segments are in the rebuilt full-text index straight away.
        assert [h.text for h in search(archive, "zelezarni")] == [texts[0]]
        assert [h.text for h in search(archive, "Kranj")] == [texts[1]]
    backup = folder / "archive.db.v3.bak"
    assert backup.is_file()
    assert db_rows(backup, "SELECT text FROM segments ORDER BY position") == [
        {"text": t} for t in texts
    ]

    # Tagging the migrated archive adds lemmas: now an inflected form finds them too.
    result = run_cli("tag", "--archive", path, "--json")
    assert result.exit_code == 0, str(result)
    assert texts_found(path, "železarna") == [texts[0]]
    assert texts_found(path, "Kranju") == [texts[1]]
    assert texts_found(path, "Jesenicah") == [texts[0]]
