"""``livingmemory publish`` and ``redact``: what reaches the public database, and what never does.

Archives are built from real audio added with ``livingmemory add`` (espeak speech from the
``audio_files`` fixture, or an ffmpeg sine tone where silence must be measured) with
transcripts, segments and entities written straight into the archive: no Whisper here.

Private values are planted as distinctive strings (each carries an ASCII marker such as
``QK43`` next to Slovenian letters) and searched for in the raw bytes of every file under
``public/``: a value that is only hidden (a dropped column, a deleted row in a free page, a
leftover file) still fails the test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import add_json, copy_audio, db_rows, insert_transcript, run_cli

import livingmemory.site.publish as publish_module
from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR, publishable
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.site.publish import publish

TODAY = dt.date(2025, 6, 1)
PAST_EMBARGO = "2025-01-01"
FUTURE_EMBARGO = "2031-01-01"


# -- helpers ----------------------------------------------------------------------------


def add_recording(archive_db: Path, audio: Path, *options: object) -> int:
    result, rows = add_json(archive_db, audio, *options)
    assert result.exit_code == 0, str(result)
    assert rows[0]["status"] == "added", rows
    return rows[0]["recording_id"]


def add_segments(
    archive_db: Path, recording_id: int, segments: list[tuple[float, float, str]]
) -> list[int]:
    """A current machine transcript with these (start, end, text) segments; their ids."""
    with open_archive(archive_db) as archive:
        _, ids = insert_transcript(
            archive,
            recording_id,
            [text for _, _, text in segments],
            starts=[start for start, _, _ in segments],
        )
        for segment_id, (_, end, _) in zip(ids, segments, strict=True):
            archive.db.execute("UPDATE segments SET end = ? WHERE id = ?", [end, segment_id])
        archive.db.conn.commit()
    return ids


def add_place_entity(
    archive_db: Path,
    recording_id: int,
    segment_id: int,
    said: str,
    place: str,
    coordinates: tuple[float, float],
) -> int:
    """A LOC entity for ``said`` in the segment, linked to a place with coordinates."""
    with open_archive(archive_db) as archive:
        existing = list(archive.db.query("SELECT id FROM places WHERE name = ?", [place]))
        if existing:
            place_id = existing[0]["id"]
        else:
            place_id = (
                archive.db["places"]
                .insert(
                    {
                        "name": place,
                        "kind": "place",
                        "type": "village",
                        "latitude": coordinates[0],
                        "longitude": coordinates[1],
                        "source": "test",
                    }
                )
                .last_pk
            )
        start = archive.db["segments"].get(segment_id)["start"]
        entity_id = (
            archive.db["entities"]
            .insert(
                {
                    "recording_id": recording_id,
                    "segment_id": segment_id,
                    "label": "LOC",
                    "text": said,
                    "canonical": place,
                    "start_seconds": start,
                    "confidence": 0.9,
                    "method": "gazetteer",
                    "place_id": place_id,
                }
            )
            .last_pk
        )
        archive.db.conn.commit()
    return entity_id


def run_publish(archive_db: Path, today: dt.date | None = TODAY) -> publish_module.PublishResult:
    with open_archive(archive_db) as archive:
        return publish(archive, today=today)


def public_files(archive_dir: Path) -> dict[str, bytes]:
    """Every file under public/ (relative path -> bytes), but the publish lock and SQLite's
    shared-memory index of the WAL (no content) and an empty WAL: they come and go with
    connections. A WAL with content is kept, for the leak checks."""
    root = archive_dir / PUBLIC_DIR
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.name not in (".publish.lock", f"{PUBLIC_DB}-shm")
        and not (path.name == f"{PUBLIC_DB}-wal" and path.stat().st_size == 0)
    }


def leaks(files: dict[str, bytes], needles: list[str]) -> list[str]:
    """``needle in file`` for each needle found in any file: exact UTF-8 bytes, or its
    ASCII letters in any case (FTS indexes and slugs lower-case what they store)."""
    found = []
    for name, data in files.items():
        lowered = data.lower()
        for needle in needles:
            encoded = needle.encode("utf-8")
            if encoded in data or encoded.lower() in lowered:
                found.append(f"{needle!r} in {name}")
    return found


def public_rows(archive_dir: Path, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return db_rows(archive_dir / PUBLIC_DIR / PUBLIC_DB, sql, params)


def audio_files_published(archive_dir: Path) -> dict[str, bytes]:
    folder = archive_dir / PUBLIC_DIR / AUDIO_DIR
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def decoded(path: Path) -> bytes:
    """The audio samples (public copies are remuxed without tags, so bytes differ)."""
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def audio_published_decoded(archive_dir: Path) -> dict[str, bytes]:
    folder = archive_dir / PUBLIC_DIR / AUDIO_DIR
    return {path.name: decoded(path) for path in sorted(folder.iterdir())}


def archive_file(archive_dir: Path, recording_id: int) -> Path:
    row = db_rows(
        archive_dir / "archive.db", "SELECT file_path FROM recordings WHERE id = ?", (recording_id,)
    )[0]
    return archive_dir / row["file_path"]


def make_tone(folder: Path, name: str, frequency: int, seconds: float = 4.0) -> Path:
    """A sine tone: sound at every instant, so silence can only come from redaction."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"sine=frequency={frequency}:sample_rate=16000:duration={seconds}",
         "-ac", "1", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def decode_pcm(path: Path, rate: int = 16000) -> list[float]:
    """Mono float samples, decoded by ffmpeg independently of the package."""
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(rate),
         "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def rms(samples: list[float], start: float, end: float, rate: int = 16000) -> float:
    window = samples[int(start * rate) : int(end * rate)]
    assert window, f"no samples between {start} and {end} s"
    return math.sqrt(sum(s * s for s in window) / len(window))


def fts_hits(archive_dir: Path, expression: str) -> list[int]:
    conn = sqlite3.connect(f"file:{archive_dir / PUBLIC_DIR / PUBLIC_DB}?mode=ro", uri=True)
    try:
        return [
            row[0]
            for row in conn.execute(
                "SELECT rowid FROM segments_fts WHERE segments_fts MATCH ?", [expression]
            )
        ]
    finally:
        conn.close()


# -- an archive with every access level ------------------------------------------------

# Planted values: private ones must never reach public/, published ones must.
PUBLIC = {
    "title": "Javna pripoved o Kranju QP50",
    "narrator": "Marija Javnikova QP54",
    "text": "Živeli smo v Kranju, pravi Marija QP55.",
    "consent": "Soglasje podpisano pri Šušteršičevih QP51",
    "notes": "Opomba: glas se trese QP52",
    "filename": "javno-QP53-posnetek.wav",
}
RESTRICTED = {
    "title": "Zaupna zgodba o Čadežu QK41",
    "narrator": "Ivana Zakritnik QK42",
    "interviewer": "Tine Spraševalec QK40",
    "text": "Skrivni spomin o žagi QK43 ostane v arhivu.",
    "consent": "Soglasje le za arhiv QK44",
    "notes": "Interna opomba o družini QK45",
    "filename": "zaupno-QK46-posnetek.flac",
}
EMBARGO_PAST = {
    "title": "Pripoved po embargu QE61",
    "narrator": "Franc Potekli QE62",
    "text": "Embargo je potekel, zgodba QE63 je javna.",
    "consent": "Soglasje z embargom QE64",
    "notes": "Opomba embargo QE65",
    "filename": "embargo-QE66.mp3",
}
EMBARGO_FUTURE = {
    "title": "Pripoved pod embargom QF71",
    "narrator": "Ljudmila Prihodnja QF72",
    "text": "To bo javno šele čez leta QF73.",
    "consent": "Soglasje do leta 2031 QF74",
    "notes": "Opomba prihodnost QF75",
    "filename": "prihodnost-QF76.ogg",
}
VOLUNTEER = "Prostovoljka Štefka QV81"  # added_by: the archive team, never published
PERSON_NOTE = "Osebna opomba o zdravju QV82"  # people.notes


@pytest.fixture(scope="module")
def levels_template(
    tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]
) -> tuple[Path, dict[str, int]]:
    """One recording per access level, each with a transcript, built once per module."""
    folder = tmp_path_factory.mktemp("levels")
    archive_dir = folder / "archive"
    archive_db = archive_dir / "archive.db"
    init_archive(archive_db)
    sources = folder / "volunteer"
    ids = {}
    specs = [
        ("public", PUBLIC, "wav", ["--access", "public", "--date", "1954-05-12"]),
        ("restricted", RESTRICTED, "flac", ["--access", "restricted", "--date", "1961"]),
        ("past", EMBARGO_PAST, "mp3", ["--embargo-until", PAST_EMBARGO, "--date", "1972"]),
        ("future", EMBARGO_FUTURE, "ogg", ["--embargo-until", FUTURE_EMBARGO, "--date", "1988"]),
    ]
    for key, values, audio_format, options in specs:
        audio = copy_audio(audio_files[audio_format], sources, values["filename"])
        extra = ["--interviewer", values["interviewer"]] if "interviewer" in values else []
        ids[key] = add_recording(
            archive_db,
            audio,
            "--title", values["title"], "--narrator", values["narrator"], *extra,
            "--consent", values["consent"], "--notes", values["notes"],
            "--added-by", VOLUNTEER, "--language", "sl", "--place", "Kranj", *options,
        )  # fmt: skip
        segment_ids = add_segments(
            archive_db, ids[key], [(0.0, 1.5, "Dober dan."), (2.0, 3.5, values["text"])]
        )
        add_place_entity(archive_db, ids[key], segment_ids[1], "Kranju", "Kranj", (46.24, 14.36))
    with open_archive(archive_db) as archive:
        archive.db.execute("UPDATE people SET notes = ?", [PERSON_NOTE])
        archive.db.conn.commit()
    return archive_dir, ids


@pytest.fixture
def levels(archive_dir: Path, levels_template: tuple[Path, dict[str, int]]) -> dict[str, int]:
    """A private copy of the template archive in ``archive_dir``; the recordings' ids."""
    template, ids = levels_template
    shutil.rmtree(archive_dir)
    shutil.copytree(template, archive_dir)
    return dict(ids)


def private_values(archive_dir: Path, ids: dict[str, int], keys: list[str]) -> list[str]:
    """Everything about recordings ``keys`` (plus their archive paths and hashes)."""
    groups = {
        "public": PUBLIC,
        "restricted": RESTRICTED,
        "past": EMBARGO_PAST,
        "future": EMBARGO_FUTURE,
    }
    needles = []
    for key in keys:
        needles += [v for k, v in groups[key].items()]
        row = db_rows(
            archive_dir / "archive.db",
            "SELECT file_path, source_path, sha256 FROM recordings WHERE id = ?",
            (ids[key],),
        )[0]
        needles += [row["file_path"], Path(row["file_path"]).name, row["source_path"]]
        needles.append(row["sha256"][:10])  # the hash part of the archive's file name
    return needles


# -- what is published -------------------------------------------------------------------


def test_public_files_hold_no_byte_of_restricted_or_embargoed_recordings(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    result = run_publish(archive_dir / "archive.db")
    assert sorted(result.recordings) == sorted([levels["public"], levels["past"]])
    assert result.withheld == 2

    files = public_files(archive_dir)
    assert "public.db" in files
    assert leaks(files, private_values(archive_dir, levels, ["restricted", "future"])) == []
    # Private fields of published recordings are not published either.
    private_of_published = [
        PUBLIC["consent"], PUBLIC["notes"], PUBLIC["filename"], "QP53",
        EMBARGO_PAST["consent"], EMBARGO_PAST["notes"], EMBARGO_PAST["filename"], "QE66",
        VOLUNTEER, "QV81", PERSON_NOTE, "QV82", "test-volunteer",
    ]  # fmt: skip
    assert leaks(files, private_of_published) == []
    for key in ("public", "past"):
        source = db_rows(
            archive_dir / "archive.db",
            "SELECT file_path, source_path FROM recordings WHERE id = ?",
            (levels[key],),
        )[0]
        assert leaks(files, [source["file_path"], source["source_path"]]) == []
    # Not even the private columns' names: the file has no place for them.
    for column in ("consent_notes", "source_path", "original_filename", "added_by", "notes"):
        assert column.encode() not in files["public.db"], column

    # The search above is able to find what is there.
    database = files["public.db"]
    for value in (PUBLIC["title"], PUBLIC["narrator"], PUBLIC["text"], EMBARGO_PAST["title"]):
        assert value.encode("utf-8") in database, value


def test_public_audio_is_only_the_published_recordings(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    run_publish(archive_dir / "archive.db")
    published = audio_published_decoded(archive_dir)
    originals = {key: decoded(archive_file(archive_dir, rid)) for key, rid in levels.items()}
    assert sorted(published.values()) == sorted([originals["public"], originals["past"]])
    for name in published:
        assert "QP53" not in name and "javno" not in name, "original file name published"
    urls = {row["audio_url"] for row in public_rows(archive_dir, "SELECT * FROM recordings")}
    assert urls == {f"/-/audio/{name}" for name in published}


def test_published_rows_are_the_public_recordings(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    run_publish(archive_dir / "archive.db")
    rows = public_rows(archive_dir, "SELECT * FROM recordings ORDER BY id")
    assert [row["id"] for row in rows] == [levels["public"], levels["past"]]
    assert rows[0]["title"] == PUBLIC["title"]
    assert rows[0]["narrators"] == PUBLIC["narrator"]
    assert rows[0]["decade"] == "1950s"
    assert rows[1]["decade"] == "1970s"
    segments = public_rows(archive_dir, "SELECT text, play FROM segments ORDER BY id")
    assert [s["text"] for s in segments] == [
        "Dober dan.", PUBLIC["text"], "Dober dan.", EMBARGO_PAST["text"],
    ]  # fmt: skip
    assert segments[1]["play"] == f"{rows[0]['audio_url']}#t=2"
    people = public_rows(archive_dir, "SELECT name FROM people ORDER BY name")
    assert [p["name"] for p in people] == sorted([EMBARGO_PAST["narrator"], PUBLIC["narrator"]])


def test_embargo_lifts_on_its_date(archive_dir: Path, levels: dict[str, int]) -> None:
    with open_archive(archive_dir / "archive.db") as archive:
        before = [r["id"] for r in publishable(archive, dt.date(2024, 12, 31))]
        on_the_day = [r["id"] for r in publishable(archive, dt.date(2025, 1, 1))]
        after_future = [r["id"] for r in publishable(archive, dt.date(2031, 1, 2))]
        today = [r["id"] for r in publishable(archive)]  # the real date: 2031 is still ahead
    assert before == [levels["public"]]
    assert on_the_day == sorted([levels["public"], levels["past"]])
    assert after_future == sorted([levels["public"], levels["past"], levels["future"]])
    assert levels["future"] not in today and levels["restricted"] not in today

    result = run_publish(archive_dir / "archive.db", today=dt.date(2031, 1, 2))
    assert levels["future"] in result.recordings
    database = public_files(archive_dir)["public.db"]
    assert EMBARGO_FUTURE["text"].encode("utf-8") in database
    assert EMBARGO_FUTURE["consent"].encode("utf-8") not in database

    # And back: published under a future date, withheld again under an earlier one.
    run_publish(archive_dir / "archive.db", today=TODAY)
    assert leaks(public_files(archive_dir), [EMBARGO_FUTURE["title"], "QF73"]) == []


def test_a_recording_made_restricted_disappears_on_the_next_publish(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    archive_db = archive_dir / "archive.db"
    run_publish(archive_db)
    original = decoded(archive_file(archive_dir, levels["public"]))
    assert original in audio_published_decoded(archive_dir).values()
    assert PUBLIC["title"].encode("utf-8") in public_files(archive_dir)["public.db"]

    with open_archive(archive_db) as archive:
        archive.db.execute(
            "UPDATE recordings SET access = 'restricted' WHERE id = ?", [levels["public"]]
        )
        archive.db.conn.commit()
    result = run_publish(archive_db)

    assert result.recordings == [levels["past"]]
    assert result.removed_audio == 1
    files = public_files(archive_dir)
    gone = [PUBLIC["title"], PUBLIC["narrator"], PUBLIC["text"], "QP50", "QP54", "QP55"]
    assert leaks(files, gone) == []
    assert original not in audio_published_decoded(archive_dir).values()
    assert len(audio_files_published(archive_dir)) == 1


# -- redaction ---------------------------------------------------------------------------

REDACTED_TEXT = "Tu je skrivnost Zlatoroginje QR91 iz Bohinja."
REDACTION_REASON = "Pripovedovalka je prosila QR92"


@pytest.fixture
def tone_recording(
    archive_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """A public 4-second tone with three segments; the middle one (1.0-2.0 s) mentions a
    place no other segment mentions."""
    if "levels" in request.fixturenames:
        request.getfixturevalue("levels")  # it replaces the archive: first, not after
    archive_db = archive_dir / "archive.db"
    tone = make_tone(tmp_path / "volunteer", "ton.wav", 440)
    recording_id = add_recording(archive_db, tone, "--access", "public", "--title", "Ton")
    segments = add_segments(
        archive_db,
        recording_id,
        [
            (0.0, 0.9, "Uvod v pripoved."),
            (1.0, 2.0, REDACTED_TEXT),
            (2.2, 3.5, "Konec pripovedi v Kranju."),
        ],
    )
    redacted_entity = add_place_entity(
        archive_db, recording_id, segments[1], "Bohinja", "Bohinj", (46.27, 13.95)
    )
    kept_entity = add_place_entity(
        archive_db, recording_id, segments[2], "Kranju", "Kranj", (46.24, 14.36)
    )
    return {
        "id": recording_id,
        "segments": segments,
        "redacted_entity": redacted_entity,
        "kept_entity": kept_entity,
        "file": archive_file(archive_dir, recording_id),
    }


@pytest.fixture
def redacted(archive_dir: Path, tone_recording: dict[str, Any]) -> dict[str, Any]:
    """``livingmemory redact ID --start 00:00:01 --end 2``, then ``livingmemory publish``."""
    archive_db = archive_dir / "archive.db"
    result = run_cli(
        "redact", tone_recording["id"], "--start", "00:00:01", "--end", "2",
        "--reason", REDACTION_REASON, "--archive", archive_db,
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    assert len(result.lines) == 1, str(result)
    published = run_cli("publish", "--archive", archive_db, "--json")
    assert published.exit_code == 0, str(published)
    return {**tone_recording, "summary": json.loads(published.stdout)}


def test_redacted_segment_is_cut_from_text_and_search_index(
    archive_dir: Path, redacted: dict[str, Any]
) -> None:
    segments = redacted["segments"]
    assert redacted["summary"]["redacted_segments"] == 1
    assert redacted["summary"]["segments"] == 2
    rows = public_rows(archive_dir, "SELECT id, text FROM segments ORDER BY start")
    assert [row["id"] for row in rows] == [segments[0], segments[2]]
    assert fts_hits(archive_dir, "zlatoroginje") == []
    assert fts_hits(archive_dir, "bohinja") == []
    assert fts_hits(archive_dir, "skrivnost") == []
    assert sorted(fts_hits(archive_dir, "pripovedi OR pripoved")) == [segments[0], segments[2]]
    files = public_files(archive_dir)
    assert leaks(files, [REDACTED_TEXT, "Zlatoroginj", "QR91", "skrivnost"]) == []
    assert leaks(files, [REDACTION_REASON, "QR92"]) == []
    recording = public_rows(archive_dir, "SELECT redacted_passages FROM recordings")
    assert recording == [{"redacted_passages": 1}]


def test_redacted_segment_loses_its_entities_and_places(
    archive_dir: Path, redacted: dict[str, Any]
) -> None:
    entities = public_rows(archive_dir, "SELECT id, segment_id, canonical FROM entities")
    assert [e["id"] for e in entities] == [redacted["kept_entity"]]
    assert redacted["segments"][1] not in {e["segment_id"] for e in entities}
    places = public_rows(archive_dir, "SELECT name FROM places")
    assert [p["name"] for p in places] == ["Kranj"]
    assert public_rows(archive_dir, "SELECT name FROM place_map") == [{"name": "Kranj"}]


def test_redacted_audio_is_a_new_file_with_the_passage_silenced(
    archive_dir: Path, redacted: dict[str, Any]
) -> None:
    audio = audio_files_published(archive_dir)
    assert len(audio) == 1
    (name, data), original = next(iter(audio.items())), redacted["file"]
    assert data != original.read_bytes()
    recording = public_rows(archive_dir, "SELECT audio_url FROM recordings")[0]
    assert recording["audio_url"] == f"/-/audio/{name}"
    plays = public_rows(archive_dir, "SELECT play FROM segments ORDER BY start")
    assert [p["play"] for p in plays] == [f"/-/audio/{name}#t=0", f"/-/audio/{name}#t=2.2"]

    samples = decode_pcm(archive_dir / PUBLIC_DIR / AUDIO_DIR / name)
    before = decode_pcm(original)
    assert abs(len(samples) - len(before)) < 16000 * 0.05, "redaction changed the length"
    assert rms(before, 1.005, 1.995) > 0.02
    # Sound on both sides, unchanged.
    for start, end in ((0.05, 0.95), (2.1, 3.9)):
        assert rms(samples, start, end) == pytest.approx(rms(before, start, end), rel=0.05)
    # The middle of the passage...
    assert rms(samples, 1.1, 1.9) < 1e-4
    # ...and all of it, to within 5 ms of its ends: not only the audio frames wholly inside.
    assert rms(samples, 1.0, 1.05) < 1e-4, "the first 50 ms of the redacted passage are audible"
    assert rms(samples, 1.005, 1.995) < 1e-4, "part of the redacted passage is audible"


def test_the_archive_keeps_the_redacted_passage(
    archive_dir: Path, redacted: dict[str, Any]
) -> None:
    archive_db = archive_dir / "archive.db"
    kept = db_rows(archive_db, "SELECT text FROM segments WHERE id = ?", (redacted["segments"][1],))
    assert kept == [{"text": REDACTED_TEXT}]
    assert db_rows(archive_db, "SELECT count(*) AS n FROM entities")[0]["n"] == 2
    assert (
        hashlib.sha256(redacted["file"].read_bytes()).hexdigest()
        == db_rows(archive_db, "SELECT sha256 FROM recordings WHERE id = ?", (redacted["id"],))[0][
            "sha256"
        ]
    )
    spans = db_rows(archive_db, "SELECT start, end, reason, added_by FROM redactions")
    assert spans == [
        {"start": 1.0, "end": 2.0, "reason": REDACTION_REASON, "added_by": "test-volunteer"}
    ]


def test_a_corrected_redaction_silences_the_new_span(
    archive_dir: Path, tone_recording: dict[str, Any]
) -> None:
    """The team fixes a mistyped span (same number of redactions): the published audio must
    follow the new span, not reuse the file silenced for the old one."""
    archive_db = archive_dir / "archive.db"
    assert run_cli("redact", tone_recording["id"], "--start", "1", "--end", "2",
                   "--archive", archive_db).exit_code == 0  # fmt: skip
    run_publish(archive_db)
    with open_archive(archive_db) as archive:
        archive.db.execute("UPDATE redactions SET start = 2.5, end = 3.5")
        archive.db.conn.commit()
    run_publish(archive_db)

    audio = audio_files_published(archive_dir)
    assert len(audio) == 1
    samples = decode_pcm(archive_dir / PUBLIC_DIR / AUDIO_DIR / next(iter(audio)))
    assert rms(samples, 2.6, 3.4) < 1e-4, "the corrected span still sounds"
    assert rms(samples, 1.05, 1.95) > 0.02, "the old span is still silent"


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("10", "12", "not inside"),
        ("00:00:03", "00:01:00", "not inside"),
        ("2", "1", "not inside"),
        ("-1", "1", "not inside"),
        ("eins", "2", "not a time"),
    ],
)
def test_redact_rejects_a_span_outside_the_recording(
    archive_dir: Path, tone_recording: dict[str, Any], start: str, end: str, problem: str
) -> None:
    archive_db = archive_dir / "archive.db"
    result = run_cli(
        "redact", tone_recording["id"], "--start", start, "--end", end, "--archive", archive_db
    )
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert problem in result.error_lines[0]
    assert "Traceback" not in result.stderr
    assert db_rows(archive_db, "SELECT count(*) AS n FROM redactions")[0]["n"] == 0


def test_redact_unknown_recording_is_one_line(archive_dir: Path) -> None:
    result = run_cli(
        "redact", 99, "--start", "1", "--end", "2", "--archive", archive_dir / "archive.db"
    )
    assert result.exit_code == 1, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert "#99" in result.error_lines[0]


# -- reproducible and atomic ---------------------------------------------------------------


def test_publishing_twice_gives_a_byte_identical_database(
    archive_dir: Path, levels: dict[str, int], tone_recording: dict[str, Any]
) -> None:
    archive_db = archive_dir / "archive.db"
    assert run_cli("redact", tone_recording["id"], "--start", "1", "--end", "2",
                   "--archive", archive_db).exit_code == 0  # fmt: skip
    first = run_cli("publish", "--archive", archive_db)
    assert first.exit_code == 0, str(first)
    before = public_files(archive_dir)
    second = run_cli("publish", "--archive", archive_db)
    assert second.exit_code == 0, str(second)
    after = public_files(archive_dir)
    assert (
        hashlib.sha256(after["public.db"]).hexdigest()
        == hashlib.sha256(before["public.db"]).hexdigest()
    )
    assert after == before  # the audio folder too: nothing added, nothing removed


def test_a_failed_publish_leaves_the_previous_database_intact(
    archive_dir: Path, levels: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive_db = archive_dir / "archive.db"
    run_publish(archive_db)
    before = public_files(archive_dir)
    with open_archive(archive_db) as archive:
        archive.db.execute(
            "UPDATE recordings SET title = 'Nov naslov' WHERE id = ?", [levels["public"]]
        )
        archive.db.conn.commit()

    real_copy = publish_module._copy_recording
    calls = []

    def failing_copy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2]["id"])
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(publish_module, "_copy_recording", failing_copy)
    with pytest.raises(RuntimeError, match="disk full"), open_archive(archive_db) as archive:
        publish(archive, today=TODAY, full=True)  # a full rewrite: fails at the second
    assert len(calls) == 2

    folder = archive_dir / PUBLIC_DIR
    # beside them only the publish lock and SQLite's WAL files (the database is in WAL mode)
    names = {p.name for p in folder.iterdir()} - {".publish.lock", "public.db-wal", "public.db-shm"}
    assert sorted(names) == ["public.db", "recordings"]
    assert public_files(archive_dir) == before

    monkeypatch.setattr(publish_module, "_copy_recording", real_copy)
    run_publish(archive_db)
    assert public_rows(
        archive_dir, "SELECT title FROM recordings WHERE id = ?", (levels["public"],)
    ) == [{"title": "Nov naslov"}]


def test_a_failed_first_publish_leaves_no_database(
    archive_dir: Path, levels: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_copy(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("interrupted")

    monkeypatch.setattr(publish_module, "_copy_recording", failing_copy)
    with pytest.raises(RuntimeError):
        run_publish(archive_dir / "archive.db")
    folder = archive_dir / PUBLIC_DIR
    assert not (folder / PUBLIC_DB).exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == [".publish.lock"]


def test_publish_cli_reports_what_it_did(archive_dir: Path, levels: dict[str, int]) -> None:
    result = run_cli("publish", "--archive", archive_dir / "archive.db")
    assert result.exit_code == 0, str(result)
    # The real date: only the public and the past embargo are out.
    assert "published 2 recording(s), 4 segments" in result.stdout
    assert "2 withheld" in result.stdout
    assert (archive_dir / PUBLIC_DIR / PUBLIC_DB).is_file()
