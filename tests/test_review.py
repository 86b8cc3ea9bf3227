"""Human review: corrections stored as revisions, refused mismatches, the queue and statuses.

Transcripts are written straight into the archive (a finished, current *machine* transcript
with known segments and speakers), exported with ``livingmemory review ID --output f.vtt``,
edited the way a volunteer would edit the WebVTT file, and applied back with ``--apply``.
Only one test runs Whisper (marked slow): re-transcribing after a correction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import (
    db_rows,
    entity_rows,
    insert_recording,
    insert_transcript,
    run_cli,
    show_json,
    snapshot,
)

from livingmemory.archive.store import open_archive
from livingmemory.formats import loads

INTERVIEWER = "Janez Novak"
NARRATOR = "Marija Kovač"

# (start, end, speaker, text) of the machine transcript every correction test starts from.
MACHINE = [
    (0.0, 5.0, INTERVIEWER, "Kje ste se rodili, gospa Kovačeva?"),
    (5.0, 10.0, None, "Rodila sem se v Kranu, oče je delal v fabriki."),
    (10.0, 15.0, NARRATOR, "Mama je šivala obleke za vso vas."),
    (15.0, 20.0, NARRATOR, "Pozimi smo se sankali, poleti smo pasli krave."),
    (20.0, 25.0, NARRATOR, "Brat je šel"),
    (25.0, 30.0, NARRATOR, "v Ameriko leta dvajset."),
    (30.0, 35.0, NARRATOR, "Hm, ja, ja, no."),
    (35.0, 40.0, INTERVIEWER, "Hvala lepa za pogovor."),
]
NOTE = "Popravki po poslušanju: Kranj, železarna."


def timecode(seconds: float) -> str:
    """``HH:MM:SS.mmm``, written here independently of the package."""
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}"
        f".{millis % 1000:03d}"
    )


def cue_block(cue_id: str | None, start: float, end: float, speaker: str | None, text: str) -> str:
    """One WebVTT cue as a person would type it (id line optional)."""
    voice = f"<v {speaker}>" if speaker else ""
    lines = ([cue_id] if cue_id else []) + [f"{timecode(start)} --> {timecode(end)}", voice + text]
    return "\n".join(lines)


def insert_machine(
    archive_db: Path,
    rows: list[tuple[float, float, str | None, str]] = MACHINE,
    *,
    title: str = "Pri Kovačevih",
    language: str = "sl",
) -> tuple[int, list[int]]:
    """A recording (3600 s) with a finished current machine transcript of ``rows``."""
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title=title, language=language)
        _, segment_ids = insert_transcript(
            archive,
            recording_id,
            [text for *_, text in rows],
            language=language,
            starts=[start for start, *_ in rows],
        )
        for segment_id, (_start, end, speaker, _text) in zip(segment_ids, rows, strict=True):
            archive.db.execute(
                "UPDATE segments SET end = ?, speaker = ? WHERE id = ?", [end, speaker, segment_id]
            )
        archive.db.conn.commit()
    return recording_id, segment_ids


def export_review(archive_db: Path, recording_id: int, target: Path) -> str:
    result = run_cli("review", recording_id, "--archive", archive_db, "--output", target)
    assert result.exit_code == 0, str(result)
    return target.read_text(encoding="utf-8")


def assert_one_line_error(result: Any) -> str:
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert "Traceback" not in result.stderr
    return result.error_lines[0]


def recording_row(archive_db: Path, recording_id: int) -> dict[str, Any]:
    [row] = db_rows(archive_db, "SELECT * FROM recordings WHERE id = ?", (recording_id,))
    return row


def current_transcript_id(archive_db: Path, recording_id: int) -> int | None:
    [row] = db_rows(
        archive_db,
        "SELECT transcript_id FROM current_transcripts WHERE recording_id = ?",
        (recording_id,),
    )
    return row["transcript_id"]


def segments_of(archive_db: Path, transcript_id: int) -> list[dict[str, Any]]:
    return db_rows(
        archive_db,
        "SELECT * FROM segments WHERE transcript_id = ? ORDER BY position",
        (transcript_id,),
    )


def search_json(archive_db: Path, query: str) -> list[dict[str, Any]]:
    result = run_cli("search", query, "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    return json.loads(result.stdout)


@pytest.fixture
def interview(archive_db: Path) -> dict[str, Any]:
    recording_id, segment_ids = insert_machine(archive_db)
    return {"db": archive_db, "id": recording_id, "segments": segment_ids}


# -- the review file ---------------------------------------------------------------------------


def test_review_file_is_webvtt_with_notes_ids_and_voices(
    interview: dict[str, Any], tmp_path: Path
) -> None:
    db, recording_id, ids = interview["db"], interview["id"], interview["segments"]
    recording = recording_row(db, recording_id)
    assert recording["review_status"] == "pending"
    text = export_review(db, recording_id, tmp_path / "f.vtt")

    lines = text.splitlines()
    assert lines[0] == "WEBVTT"
    assert f"NOTE livingmemory recording={recording_id}" in lines
    assert f"NOTE livingmemory sha256={recording['sha256']}" in lines
    assert "NOTE livingmemory duration=3600.000" in lines
    # Every segment is a cue with its seg-N id, in order; speakers are <v Name> voices.
    assert [line for line in lines if line.startswith("seg-")] == [f"seg-{i}" for i in ids]
    for segment_id, (start, end, speaker, cue_text) in zip(ids, MACHINE, strict=True):
        assert cue_block(f"seg-{segment_id}", start, end, speaker, cue_text) in text
    assert f"<v {NARRATOR}>" in text and f"<v {INTERVIEWER}>" in text
    assert "<v" not in text.split(f"seg-{ids[1]}\n")[1].split("\n\n")[0]  # no speaker: no voice
    # The file is UTF-8 with the diacritics as they are (not escaped).
    assert "Kovačeva" in (tmp_path / "f.vtt").read_bytes().decode("utf-8")

    document = loads(text, "vtt")
    assert [(c.start, c.end, c.speaker, c.text) for c in document.cues] == MACHINE
    assert recording_row(db, recording_id)["review_status"] == "in_progress"


def test_export_for_review_keeps_a_later_status(interview: dict[str, Any], tmp_path: Path) -> None:
    db, recording_id = interview["db"], interview["id"]
    assert (
        run_cli("review", recording_id, "--status", "ready_for_qc", "--archive", db).exit_code == 0
    )
    export_review(db, recording_id, tmp_path / "again.vtt")
    assert recording_row(db, recording_id)["review_status"] == "ready_for_qc"


def test_review_of_a_recording_without_transcript_is_refused(
    archive_db: Path, tmp_path: Path
) -> None:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive)
    before = snapshot(archive_db.parent)
    result = run_cli(
        "review", recording_id, "--archive", archive_db, "--output", tmp_path / "x.vtt"
    )
    assert "no transcript" in assert_one_line_error(result)
    assert not (tmp_path / "x.vtt").exists()
    assert snapshot(archive_db.parent) == before


def test_review_file_into_a_missing_folder_is_one_line(
    interview: dict[str, Any], tmp_path: Path
) -> None:
    db, recording_id = interview["db"], interview["id"]
    before = snapshot(db.parent)
    target = tmp_path / "ni-mape" / "f.vtt"
    result = run_cli("review", recording_id, "--output", target, "--archive", db)
    assert "f.vtt" in assert_one_line_error(result)
    # Nothing was written, so the recording is not marked as being reviewed either.
    assert snapshot(db.parent) == before
    assert recording_row(db, recording_id)["review_status"] == "pending"


# -- applying corrections ----------------------------------------------------------------------


def edited_review_file(exported: str, ids: list[int]) -> str:
    """The exported file after a volunteer's edits (replacing whole cue blocks):

    seg 1 text and speaker changed, seg 2 start moved, seg 3 split in two (the second half
    typed without an id), segs 4 and 5 merged into seg 4, seg 6 deleted; segs 0 and 7 kept.
    """
    blocks = {i: cue_block(f"seg-{segment_id}", *MACHINE[i]) for i, segment_id in enumerate(ids)}
    for block in blocks.values():
        assert block in exported
    edits = {
        1: cue_block(f"seg-{ids[1]}", 5.0, 10.0, NARRATOR,
                     "Rodila sem se v Kranju, oče je delal v železarni."),
        2: cue_block(f"seg-{ids[2]}", 10.5, 15.0, NARRATOR, "Mama je šivala obleke za vso vas."),
        3: cue_block(f"seg-{ids[3]}", 15.0, 17.4, NARRATOR, "Pozimi smo se sankali,")
        + "\n\n"
        + cue_block(None, 17.4, 20.0, NARRATOR, "poleti smo pasli krave."),
        4: cue_block(f"seg-{ids[4]}", 20.0, 30.0, NARRATOR, "Brat je šel v Ameriko leta 1920."),
    }  # fmt: skip
    text = exported
    for index, block in blocks.items():
        if index in edits:
            text = text.replace(block, edits[index])
        elif index in (5, 6):
            text = text.replace(block + "\n\n", "")
    return text


EXPECTED_HUMAN = [
    (0.0, 5.0, INTERVIEWER, "Kje ste se rodili, gospa Kovačeva?", 0),
    (5.0, 10.0, NARRATOR, "Rodila sem se v Kranju, oče je delal v železarni.", 1),
    (10.5, 15.0, NARRATOR, "Mama je šivala obleke za vso vas.", 2),
    (15.0, 17.4, NARRATOR, "Pozimi smo se sankali,", 3),
    (17.4, 20.0, NARRATOR, "poleti smo pasli krave.", 3),
    (20.0, 30.0, NARRATOR, "Brat je šel v Ameriko leta 1920.", 4),
    (35.0, 40.0, INTERVIEWER, "Hvala lepa za pogovor.", 7),
]  # (start, end, speaker, text, index of the machine segment it is based on)


@pytest.fixture
def applied(interview: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    db, recording_id, ids = interview["db"], interview["id"], interview["segments"]
    review_file = tmp_path / "f.vtt"
    exported = export_review(db, recording_id, review_file)
    machine_before = db_rows(db, "SELECT * FROM segments ORDER BY id")
    review_file.write_text(edited_review_file(exported, ids), encoding="utf-8")
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    result = run_cli(
        "review", recording_id, "--apply", review_file, "--author", "Ana", "--note", NOTE,
        "--archive", db,
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    [human] = db_rows(db, "SELECT * FROM transcripts WHERE source = 'human'")
    return {
        **interview,
        "result": result,
        "human": human,
        "machine_before": machine_before,
        "started": started,
        "file": review_file,
    }


def test_apply_reports_what_it_stored(applied: dict[str, Any]) -> None:
    out = applied["result"].stdout
    assert "7 cues" in out and "5 changed" in out and "2 removed" in out, out


def test_apply_makes_a_new_current_human_transcript(applied: dict[str, Any]) -> None:
    db, recording_id, human = applied["db"], applied["id"], applied["human"]
    assert human["recording_id"] == recording_id
    assert human["is_current"] == 1 and human["finished_at"]
    assert current_transcript_id(db, recording_id) == human["id"]
    # The machine run is still there, still the current *machine* run.
    [machine] = db_rows(db, "SELECT * FROM transcripts WHERE source = 'machine'")
    assert machine["is_current"] == 1
    assert recording_row(db, recording_id)["review_status"] == "in_progress"


def test_human_segments_reflect_the_edits(applied: dict[str, Any]) -> None:
    ids = applied["segments"]
    segments = segments_of(applied["db"], applied["human"]["id"])
    got = [
        (s["start"], s["end"], s["speaker"], s["text"], ids.index(s["based_on"])) for s in segments
    ]
    assert got == EXPECTED_HUMAN
    assert all(s["recording_id"] == applied["id"] for s in segments)
    assert [s["position"] for s in segments] == list(range(len(segments)))


def test_revisions_record_every_change(applied: dict[str, Any]) -> None:
    db, ids, human = applied["db"], applied["segments"], applied["human"]
    revisions = db_rows(db, "SELECT * FROM revisions ORDER BY id")
    by_base: dict[int, list[dict[str, Any]]] = {}
    for revision in revisions:
        by_base.setdefault(ids.index(revision["based_on"]), []).append(revision)
    # Unchanged cues (0 and 7) leave no revision; every other machine segment has one.
    assert sorted(by_base) == [1, 2, 3, 4, 5, 6]
    for revision in revisions:
        assert revision["recording_id"] == applied["id"]
        assert revision["transcript_id"] == human["id"]
        assert revision["author"] == "Ana"
        assert revision["note"] == NOTE
        assert revision["source_file"] == "f.vtt"
        created = dt.datetime.fromisoformat(revision["created_at"])
        assert created.tzinfo is not None
        assert applied["started"] - dt.timedelta(seconds=2) <= created
        assert created <= dt.datetime.now(dt.timezone.utc)

    def pairs(index: int) -> list[tuple[Any, ...]]:
        return [
            (r["old_text"], r["new_text"], r["old_speaker"], r["new_speaker"])
            for r in by_base[index]
        ]

    # Text and speaker changed.
    assert pairs(1) == [
        (MACHINE[1][3], "Rodila sem se v Kranju, oče je delal v železarni.", None, NARRATOR)
    ]
    # Timing only: same text, the new start kept.
    [moved] = by_base[2]
    assert (moved["old_text"], moved["new_text"]) == (MACHINE[2][3], MACHINE[2][3])
    assert moved["start"] == pytest.approx(10.5)
    # Split: two revisions of the same machine segment.
    assert pairs(3) == [
        (MACHINE[3][3], "Pozimi smo se sankali,", NARRATOR, NARRATOR),
        (MACHINE[3][3], "poleti smo pasli krave.", NARRATOR, NARRATOR),
    ]
    # Merge: the merged text replaces seg 4, and seg 5's own text is recorded as gone.
    assert pairs(4) == [(MACHINE[4][3], "Brat je šel v Ameriko leta 1920.", NARRATOR, NARRATOR)]
    assert pairs(5) == [(MACHINE[5][3], None, NARRATOR, None)]
    # Deleted.
    assert pairs(6) == [(MACHINE[6][3], None, NARRATOR, None)]
    assert by_base[6][0]["segment_id"] is None
    # Revisions of stored cues point at the human segment that holds the new text.
    human_segments = {s["id"]: s for s in segments_of(db, human["id"])}
    for revision in revisions:
        if revision["new_text"] is not None:
            assert human_segments[revision["segment_id"]]["text"] == revision["new_text"]


def test_machine_segments_are_never_overwritten(applied: dict[str, Any]) -> None:
    db = applied["db"]
    [machine] = db_rows(db, "SELECT id FROM transcripts WHERE source = 'machine'")
    after = db_rows(
        db, "SELECT * FROM segments WHERE transcript_id = ? ORDER BY id", (machine["id"],)
    )
    # Only the search flag "part of the current transcript" moves to the human transcript.
    assert {s.pop("in_current") for s in after} == {0}
    before = [{k: v for k, v in s.items() if k != "in_current"} for s in applied["machine_before"]]
    assert after == before
    assert [(s["start"], s["end"], s["speaker"], s["text"]) for s in after] == MACHINE


def test_show_json_shows_the_corrected_text(applied: dict[str, Any]) -> None:
    record = show_json(applied["db"], applied["id"])
    assert [(s["start"], s["speaker"], s["text"]) for s in record["transcript"]] == [
        (start, speaker, text) for start, _end, speaker, text, _ in EXPECTED_HUMAN
    ]
    assert all(s["transcript_id"] == applied["human"]["id"] for s in record["transcript"])


def test_search_finds_the_correction_not_the_replaced_text(applied: dict[str, Any]) -> None:
    db = applied["db"]
    hits = search_json(db, "železarni")
    assert [(h["text"], h["segment_id"]) for h in hits] == [
        ("Rodila sem se v Kranju, oče je delal v železarni.",
         segments_of(db, applied["human"]["id"])[1]["id"])
    ]  # fmt: skip
    assert search_json(db, "fabriki") == []
    assert search_json(db, "1920")[0]["text"] == "Brat je šel v Ameriko leta 1920."
    assert search_json(db, "Hm ja ja no") == []  # the deleted cue is not searchable any more
    text_result = run_cli("search", "fabriki", "--archive", db)
    assert text_result.exit_code == 1 and "No segment mentions" in text_result.stdout


def test_a_second_review_builds_on_the_first(applied: dict[str, Any], tmp_path: Path) -> None:
    """Exporting again gives the human transcript; its edits revise the human segments."""
    db, recording_id = applied["db"], applied["id"]
    first = applied["human"]
    text = export_review(db, recording_id, tmp_path / "second.vtt")
    human_ids = [s["id"] for s in segments_of(db, first["id"])]
    assert [line for line in text.splitlines() if line.startswith("seg-")] == [
        f"seg-{i}" for i in human_ids
    ]
    text = text.replace("Hvala lepa za pogovor.", "Hvala lepa za pogovor, gospa Kovačeva.")
    (tmp_path / "second.vtt").write_text(text, encoding="utf-8")
    result = run_cli(
        "review", recording_id, "--apply", tmp_path / "second.vtt", "--author", "Bojan",
        "--archive", db,
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    humans = db_rows(db, "SELECT * FROM transcripts WHERE source = 'human' ORDER BY id")
    assert [t["is_current"] for t in humans] == [0, 1]
    assert current_transcript_id(db, recording_id) == humans[1]["id"]
    [revision] = db_rows(db, "SELECT * FROM revisions WHERE author = 'Bojan'")
    assert revision["based_on"] == human_ids[-1]
    assert revision["old_text"] == "Hvala lepa za pogovor."
    assert revision["new_text"] == "Hvala lepa za pogovor, gospa Kovačeva."
    # The first review's revisions are all still there.
    assert len(db_rows(db, "SELECT id FROM revisions WHERE author = 'Ana'")) == 7


# -- mismatched files are refused, the archive untouched ---------------------------------------


def _other_recording(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    # Recording 1's file (sha256 note removed, so only the recording note tells) onto 2.
    text = re.sub(r"NOTE livingmemory sha256=\S+\n", "", text)
    return text, ctx["other"]


def _other_sha(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return re.sub(r"sha256=[0-9a-f]+", "sha256=" + "0" * 64, text), ctx["id"]


def _past_the_end(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return text + "\n" + cue_block(None, 3590.0, 3700.0, NARRATOR, "Konec.") + "\n", ctx["id"]


def _other_duration(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return text.replace("duration=3600.000", "duration=1800.000"), ctx["id"]


def _empty(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return "", ctx["id"]


def _header_only(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return text.split("\n\nseg-")[0] + "\n", ctx["id"]


def _garbage(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return "To ni datoteka s podnapisi.\nsamo nekaj besed\n", ctx["id"]


def _broken_timing(text: str, ctx: dict[str, Any]) -> tuple[str, int]:
    return text.replace("00:00:10.000 --> 00:00:15.000", "00:00:10.000 --> soon"), ctx["id"]


MISMATCHES = {
    "other recording": (_other_recording, r"#1\b.*#2\b|#2\b.*#1\b"),
    "other sha256": (_other_sha, r"audio|sha256"),
    "cue past the end": (_past_the_end, r"3700|1:01:40|past|ends"),
    "other duration": (_other_duration, r"1800"),
    "empty file": (_empty, r"f\.vtt"),
    "header only": (_header_only, r"cue"),
    "garbage": (_garbage, r"f\.vtt"),
    "broken timing": (_broken_timing, r"line \d+"),
}


@pytest.mark.parametrize("case", list(MISMATCHES))
def test_mismatched_review_file_is_refused(archive_db: Path, tmp_path: Path, case: str) -> None:
    first, _ = insert_machine(archive_db)
    other, _ = insert_machine(archive_db, title="Drugi intervju")
    assert (first, other) == (1, 2)
    exported = export_review(archive_db, first, tmp_path / "f.vtt")
    export_review(archive_db, other, tmp_path / "other.vtt")
    mutate, pattern = MISMATCHES[case]
    text, target = mutate(exported, {"id": first, "other": other})
    (tmp_path / "f.vtt").write_text(text, encoding="utf-8")

    before = snapshot(archive_db.parent)
    result = run_cli(
        "review", target, "--apply", tmp_path / "f.vtt", "--author", "Ana", "--archive", archive_db
    )
    line = assert_one_line_error(result)
    assert line.startswith("Error:"), line
    assert re.search(pattern, line), line
    assert snapshot(archive_db.parent) == before
    assert db_rows(archive_db, "SELECT id FROM transcripts WHERE source = 'human'") == []


def test_binary_file_is_refused(interview: dict[str, Any], tmp_path: Path) -> None:
    db = interview["db"]
    export_review(db, interview["id"], tmp_path / "f.vtt")
    (tmp_path / "f.vtt").write_bytes(bytes(range(256)) * 4)
    before = snapshot(db.parent)
    result = run_cli("review", interview["id"], "--apply", tmp_path / "f.vtt", "--archive", db)
    assert_one_line_error(result)
    assert snapshot(db.parent) == before


# -- re-tagging after a correction --------------------------------------------------------------


def test_retagging_after_a_correction_tags_the_human_transcript(
    archive_db: Path, tmp_path: Path
) -> None:
    rows = [
        (0.0, 5.0, NARRATOR, "Rodila sem se tam, pri stari mami."),
        (5.0, 10.0, NARRATOR, "Oče je delal na Jesenicah."),
    ]
    recording_id, machine_ids = insert_machine(archive_db, rows)
    assert run_cli("tag", "--archive", archive_db).exit_code == 0
    machine_tags = entity_rows(archive_db)
    assert ("LOC", "Jesenice") in {(e["label"], e["canonical"]) for e in machine_tags}
    assert {e["segment_id"] for e in machine_tags} <= set(machine_ids)

    text = export_review(archive_db, recording_id, tmp_path / "f.vtt")
    text = text.replace("Rodila sem se tam, pri stari mami.", "Rodila sem se v Kranju.")
    (tmp_path / "f.vtt").write_text(text, encoding="utf-8")
    result = run_cli("review", recording_id, "--apply", tmp_path / "f.vtt", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    human_id = current_transcript_id(archive_db, recording_id)
    human_ids = [s["id"] for s in segments_of(archive_db, human_id)]

    result = run_cli("tag", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    tags = entity_rows(archive_db)
    kranj = [e for e in tags if (e["label"], e["canonical"]) == ("LOC", "Kranj")]
    assert kranj and kranj[0]["segment_id"] == human_ids[0]
    assert kranj[0]["segment_text"] == "Rodila sem se v Kranju."
    assert ("LOC", "Jesenice", human_ids[1]) in {
        (e["label"], e["canonical"], e["segment_id"]) for e in tags
    }
    # The machine transcript's machine tags are gone (they would linger in the facets).
    assert [e for e in tags if e["segment_id"] in machine_ids and e["source"] == "machine"] == []
    assert all(e["segment_id"] in human_ids for e in tags)
    [transcript] = db_rows(archive_db, "SELECT * FROM transcripts WHERE id = ?", (human_id,))
    assert transcript["tagged_version"]


def test_human_tags_survive_retagging_after_a_correction(archive_db: Path, tmp_path: Path) -> None:
    recording_id, machine_ids = insert_machine(
        archive_db, [(0.0, 5.0, NARRATOR, "Oče je delal na Jesenicah.")]
    )
    with open_archive(archive_db) as archive:
        archive.db["entities"].insert(
            {"recording_id": recording_id, "segment_id": machine_ids[0], "label": "PER",
             "text": "Oče", "canonical": "Anton Kovač", "source": "human"}
        )  # fmt: skip
        archive.db.conn.commit()
    text = export_review(archive_db, recording_id, tmp_path / "f.vtt")
    (tmp_path / "f.vtt").write_text(text.replace("Jesenicah", "Jesenicah v železarni"), "utf-8")
    result = run_cli("review", recording_id, "--apply", tmp_path / "f.vtt", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert run_cli("tag", "--archive", archive_db).exit_code == 0
    human = entity_rows(archive_db, "e.source = 'human'")
    assert [(e["canonical"], e["segment_id"]) for e in human] == [("Anton Kovač", machine_ids[0])]


# -- the queue and statuses ---------------------------------------------------------------------


def _queue(archive_db: Path, *args: object) -> list[dict[str, Any]]:
    result = run_cli("review", "--queue", "--json", "--archive", archive_db, *args)
    assert result.exit_code == 0, str(result)
    return json.loads(result.stdout)


@pytest.fixture
def queued(archive_db: Path) -> dict[str, Any]:
    rows = [
        (0.0, 5.0, NARRATOR, "Čisto lepo razumljiv stavek."),
        (5.0, 10.0, NARRATOR, "ponavlja ponavlja ponavlja ponavlja"),
        (10.0, 15.0, NARRATOR, "Nekaj nerazločnega o šoli."),
        (15.0, 20.0, NARRATOR, "Živeli smo v Radovlici."),
        (20.0, 25.0, NARRATOR, "Oče je delal na Jesenicah."),
        (25.0, 30.0, NARRATOR, "Skoraj gotovo prav."),
    ]
    recording_id, ids = insert_machine(archive_db, rows)
    done_id, done_ids = insert_machine(archive_db, rows, title="Že pregledano")
    with open_archive(archive_db) as archive:
        db = archive.db
        for segment_ids in (ids, done_ids):
            db.execute(
                "UPDATE segments SET avg_logprob = -0.2, flags = NULL, suspect = 0 "
                "WHERE transcript_id = (SELECT transcript_id FROM segments WHERE id = ?)",
                [segment_ids[0]],
            )
            db.execute(
                "UPDATE segments SET flags = ?, suspect = 1, avg_logprob = -0.3 WHERE id = ?",
                [json.dumps(["repetition_loop"]), segment_ids[1]],
            )
            db.execute("UPDATE segments SET avg_logprob = -1.2 WHERE id = ?", [segment_ids[2]])
            db.execute("UPDATE segments SET avg_logprob = -0.55 WHERE id = ?", [segment_ids[5]])
            for index, method, confidence, canonical in (
                (3, "fuzzy", 0.4, "Radovljica"),
                (4, "gazetteer", 0.95, "Jesenice"),
            ):
                db["entities"].insert(
                    {"recording_id": db.execute(
                        "SELECT recording_id FROM segments WHERE id = ?", [segment_ids[index]]
                     ).fetchone()[0], "segment_id": segment_ids[index], "label": "LOC",
                     "text": rows[index][3].split()[-1].rstrip("."), "canonical": canonical,
                     "confidence": confidence, "method": method, "source": "machine"}
                )  # fmt: skip
        db.execute("UPDATE recordings SET review_status = 'complete' WHERE id = ?", [done_id])
        db.conn.commit()
    return {"db": archive_db, "id": recording_id, "segments": ids, "done": done_id}


def test_queue_puts_the_neediest_segments_first_with_reasons(queued: dict[str, Any]) -> None:
    ids = queued["segments"]
    rows = _queue(queued["db"])
    assert [r["segment_id"] for r in rows] == [ids[1], ids[2], ids[3], ids[5]]
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    by_id = {r["segment_id"]: r for r in rows}
    assert "repetition_loop" in by_id[ids[1]]["reasons"]
    assert by_id[ids[1]]["flags"] == ["repetition_loop"]
    assert any("-1.2" in reason for reason in by_id[ids[2]]["reasons"])
    assert any("unsure" in reason or "fuzzy" in reason for reason in by_id[ids[3]]["reasons"])
    for row in rows:
        assert row["recording_id"] == queued["id"]
        assert row["reasons"], row
        assert row["text"] and row["title"] == "Pri Kovačevih"
    # A clean segment and a confidently tagged one are not in the queue at all.
    assert ids[0] not in by_id and ids[4] not in by_id


def test_queue_excludes_complete_recordings(queued: dict[str, Any]) -> None:
    db = queued["db"]
    assert queued["done"] not in {r["recording_id"] for r in _queue(db)}
    # Back to ready_for_qc: its segments come back into the queue.
    result = run_cli("review", queued["done"], "--status", "ready_for_qc", "--archive", db)
    assert result.exit_code == 0, str(result)
    assert queued["done"] in {r["recording_id"] for r in _queue(db)}


def test_queue_limit_and_text_output(queued: dict[str, Any]) -> None:
    db = queued["db"]
    assert len(_queue(db, "--limit", "2")) == 2
    result = run_cli("review", "--queue", "--archive", db)
    assert result.exit_code == 0, str(result)
    assert "repetition_loop" in result.stdout and "ponavlja" in result.stdout


def test_queue_follows_the_current_transcript(queued: dict[str, Any], tmp_path: Path) -> None:
    """Once a human corrected the recording, its machine segments leave the queue."""
    db, recording_id = queued["db"], queued["id"]
    text = export_review(db, recording_id, tmp_path / "f.vtt")
    text = text.replace("ponavlja ponavlja ponavlja ponavlja", "Ponavljali smo pesmi.")
    (tmp_path / "f.vtt").write_text(text, encoding="utf-8")
    result = run_cli("review", recording_id, "--apply", tmp_path / "f.vtt", "--archive", db)
    assert result.exit_code == 0, str(result)
    assert recording_id not in {r["recording_id"] for r in _queue(db)}


def test_set_status_ready_for_qc(interview: dict[str, Any]) -> None:
    db, recording_id = interview["db"], interview["id"]
    result = run_cli("review", recording_id, "--status", "ready_for_qc", "--archive", db)
    assert result.exit_code == 0, str(result)
    assert recording_row(db, recording_id)["review_status"] == "ready_for_qc"
    assert show_json(db, recording_id)["review_status"] == "ready_for_qc"
    # Setting a status writes no review file and no transcript.
    assert db_rows(db, "SELECT id FROM transcripts WHERE source = 'human'") == []


@pytest.mark.parametrize("status", ["done", "Complete", "in progress"])
def test_unknown_status_is_refused(interview: dict[str, Any], status: str) -> None:
    db, recording_id = interview["db"], interview["id"]
    before = snapshot(db.parent)
    result = run_cli("review", recording_id, "--status", status, "--archive", db)
    line = assert_one_line_error(result)
    assert "status" in line and "ready_for_qc" in line, line
    assert snapshot(db.parent) == before


def test_status_of_a_missing_recording_is_refused(interview: dict[str, Any]) -> None:
    db = interview["db"]
    before = snapshot(db.parent)
    result = run_cli("review", 99, "--status", "complete", "--archive", db)
    assert "#99" in assert_one_line_error(result)
    assert snapshot(db.parent) == before


def test_review_without_a_recording_is_refused(interview: dict[str, Any]) -> None:
    result = run_cli("review", "--archive", interview["db"])
    assert "--queue" in assert_one_line_error(result)


# -- re-transcribing never destroys a correction (Whisper) --------------------------------------


@pytest.mark.slow
def test_retranscribing_keeps_the_correction_current(
    archive_db: Path, audio_files: dict[str, Path], tmp_path: Path
) -> None:
    pytest.importorskip("faster_whisper")
    source = shutil.copyfile(audio_files["en_wav"], tmp_path / "english.wav")
    result = run_cli(
        "add", source, "--language", "en", "--title", "Bohinj", "--archive", archive_db
    )
    assert result.exit_code == 0, str(result)
    [recording] = db_rows(archive_db, "SELECT id FROM recordings")
    recording_id = recording["id"]
    tiny = ["--model", "tiny.en", "--beam-size", "1", "--archive", archive_db]
    result = run_cli("transcribe", recording_id, *tiny)
    assert result.exit_code == 0, str(result)
    [first_run] = db_rows(archive_db, "SELECT * FROM transcripts")

    text = export_review(archive_db, recording_id, tmp_path / "f.vtt")
    cues = loads(text, "vtt").cues
    assert cues, text
    correction = "My father Anton Kovač left Bohinj for America in 1923."
    first = cues[0]
    old_block = cue_block(first.id, first.start, first.end, first.speaker, first.text)
    assert old_block in text, text
    text = text.replace(
        old_block, cue_block(first.id, first.start, first.end, NARRATOR, correction)
    )
    (tmp_path / "f.vtt").write_text(text, encoding="utf-8")
    result = run_cli(
        "review", recording_id, "--apply", tmp_path / "f.vtt", "--author", "Ana",
        "--note", "names", "--archive", archive_db,
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    [human] = db_rows(archive_db, "SELECT * FROM transcripts WHERE source = 'human'")
    revisions = db_rows(archive_db, "SELECT * FROM revisions ORDER BY id")
    human_segments = segments_of(archive_db, human["id"])
    assert any(r["new_text"] == correction for r in revisions)

    result = run_cli("transcribe", recording_id, "--force", *tiny)
    assert result.exit_code == 0, str(result)

    machines = db_rows(archive_db, "SELECT * FROM transcripts WHERE source = 'machine' ORDER BY id")
    assert machines[0]["id"] == first_run["id"]
    assert len(machines) == 2 and [t["is_current"] for t in machines] == [0, 1]
    assert machines[1]["finished_at"] and segments_of(archive_db, machines[1]["id"])
    assert current_transcript_id(archive_db, recording_id) == human["id"]
    [human_after] = db_rows(archive_db, "SELECT * FROM transcripts WHERE source = 'human'")
    assert human_after == human
    assert segments_of(archive_db, human["id"]) == human_segments
    assert db_rows(archive_db, "SELECT * FROM revisions ORDER BY id") == revisions
    shown = show_json(archive_db, recording_id)["transcript"]
    assert shown[0]["text"] == correction and shown[0]["speaker"] == NARRATOR
    assert search_json(archive_db, "Kovač")[0]["text"] == correction
