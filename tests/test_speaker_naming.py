"""Naming voices that volunteers can trust (issue 23): a stored voice below the naming
threshold is a suggestion ("morda Ana Zupan, 0.72") confirmed with ``speakers --confirm`` or
in the workspace, never a silent name; overlapped segments are marked in exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import db_rows, insert_recording, insert_transcript, run_cli

from livingmemory.archive.store import open_archive

ANA = 2  # the person id Ana Zupan gets in _interview (Marija Košir, the narrator, is 1)


def _interview(
    archive_db: Path,
    lines: list[tuple[str, str, bool]],
    voices: list[tuple[str, str, int | None, float | None, list[float]]],
) -> int:
    """A recording of narrator Marija Košir (person 1) and interviewer Ana Zupan (person 2)
    whose transcript says ``lines`` (text, speaker, overlapped), with diarized ``voices``
    (cluster, label, person, similarity of a suggestion of Ana or None, vector), every one
    named by role. Returns the recording id."""
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, narrators=["Marija Košir"])
        ana = archive.db["people"].insert({"name": "Ana Zupan"}).last_pk
        assert ana == ANA
        archive.db["recording_people"].insert(
            {"recording_id": recording_id, "person_id": ana, "role": "interviewer"}
        )
        transcript_id, ids = insert_transcript(archive, recording_id, [t for t, _, _ in lines])
        for segment_id, (_, speaker, overlap) in zip(ids, lines, strict=True):
            archive.db["segments"].update(segment_id, {"speaker": speaker, "overlap": int(overlap)})
        for cluster, label, person, suggested, vector in voices:
            archive.db["speaker_voices"].insert(
                {"recording_id": recording_id, "transcript_id": transcript_id,
                 "cluster": cluster, "label": label, "person_id": person, "method": "role",
                 "seconds": 10.0, "model": "m",
                 "suggested_person_id": ANA if suggested is not None else None,
                 "suggested_similarity": suggested,
                 "embedding": np.array(vector, np.float32).tobytes()}
            )  # fmt: skip
        archive.db.conn.commit()
    return recording_id


def _suggested_archive(archive_db: Path) -> int:
    """Two voices: Marija named by role; "Govorec 1" with a suggestion: Ana Zupan, 0.72.
    Ana's second segment is talked over by another voice."""
    return _interview(
        archive_db,
        [("Kje ste se rodili?", "Govorec 1", False), ("V Kranju.", "Marija Košir", False),
         ("In potem?", "Govorec 1", True)],
        [("S1", "Marija Košir", 1, None, [1.0, 0.0]), ("S2", "Govorec 1", None, 0.72, [1.0, 0.0])],
    )  # fmt: skip


def test_a_suggestion_is_listed_and_confirmed_from_the_cli(archive_db: Path) -> None:
    recording_id = _suggested_archive(archive_db)
    listed = run_cli("speakers", recording_id, "--archive", archive_db)
    assert listed.exit_code == 0 and "morda" in listed.stdout  # the table (it wraps cells)
    rows = json.loads(run_cli("speakers", recording_id, "--json", "--archive", archive_db).stdout)
    suggested = {r["label"]: r for r in rows}["Govorec 1"]
    assert (suggested["suggestion"], suggested["suggestion_similarity"]) == ("Ana Zupan", 0.72)
    refused = run_cli("speakers", recording_id, "--confirm", "Marija Košir", "--archive",
                      archive_db)  # fmt: skip
    assert refused.exit_code != 0 and "no suggestion" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    done = run_cli("speakers", recording_id, "--confirm", "Govorec 1", "--archive", archive_db)
    assert done.exit_code == 0, str(done)
    speakers = [r["speaker"] for r in db_rows(archive_db, "SELECT speaker FROM segments "
                                              "ORDER BY position")]  # fmt: skip
    assert speakers == ["Ana Zupan", "Marija Košir", "Ana Zupan"]
    rows = json.loads(run_cli("speakers", recording_id, "--json", "--archive", archive_db).stdout)
    ana = {r["label"]: r for r in rows}["Ana Zupan"]
    assert ana["method"] == "manual" and ana["suggestion"] is None
    # Her voice print now exists: learned from the confirmed voice only.
    prints = db_rows(archive_db, "SELECT person_id FROM voice_prints")
    assert {p["person_id"] for p in prints} >= {ana["person_id"]}


def test_overlapped_segments_are_marked_in_exports(archive_db: Path) -> None:
    recording_id = _suggested_archive(archive_db)
    vtt = run_cli("export", recording_id, "--format", "vtt", "--archive", archive_db)
    assert vtt.exit_code == 0, str(vtt)
    assert vtt.stdout.count("<v.overlap ") == 1 and "<v.overlap Govorec 1>In potem?" in vtt.stdout
    cues = json.loads(
        run_cli("export", recording_id, "--format", "json", "--archive", archive_db).stdout
    )["cues"]
    assert [c.get("overlap", False) for c in cues] == [False, False, True]
    from livingmemory.formats import vtt as vttfmt

    assert [c.overlap for c in vttfmt.loads_vtt(vtt.stdout).cues] == [False, False, True]
    shown = run_cli("show", recording_id, "--archive", archive_db)
    assert shown.stdout.count("hkrati govori še nekdo") == 1


@pytest.mark.parametrize("fmt", ["srt", "txt"])
def test_overlapped_segments_survive_srt_and_text(archive_db: Path, fmt: str) -> None:
    """The mark after the speaker's name ("Ana Zupan: [hkrati] …"), read back by the format's
    importer. (A "Govorec 1" label is not read back as a speaker by these formats: confirmed
    first, as before any export meant for people.)"""
    from livingmemory.formats import loads

    recording_id = _suggested_archive(archive_db)
    run_cli("speakers", recording_id, "--confirm", "Govorec 1", "--archive", archive_db)
    exported = run_cli("export", recording_id, "--format", fmt, "--archive", archive_db)
    assert exported.exit_code == 0, str(exported)
    assert exported.stdout.count("[hkrati]") == 1
    assert "Ana Zupan: [hkrati] In potem?" in exported.stdout
    back = loads(exported.stdout, fmt).cues
    assert [(c.speaker, c.text, c.overlap) for c in back][-1] == ("Ana Zupan", "In potem?", True)
    assert [c.overlap for c in back] == [False, False, True]


def test_the_ohms_record_carries_the_overlap(archive_db: Path) -> None:
    from livingmemory.formats import parse_ohms

    recording_id = _suggested_archive(archive_db)
    exported = run_cli("export", recording_id, "--format", "ohms", "--archive", archive_db)
    assert exported.exit_code == 0, str(exported)
    assert "&lt;v.overlap Govorec 1&gt;In potem?" in exported.stdout  # its WebVTT transcript
    assert [c.overlap for c in parse_ohms(exported.stdout)["cues"]] == [False, False, True]


def test_a_correction_keeps_the_overlap_mark(archive_db: Path, tmp_path: Path) -> None:
    """A corrected line is still talked over: the new human transcript keeps the mark,
    whether or not the corrected file carried it."""
    recording_id = _suggested_archive(archive_db)
    review = tmp_path / "review.vtt"
    assert (
        run_cli("review", recording_id, "--output", review, "--archive", archive_db).exit_code == 0
    )
    edited = review.read_text("utf-8").replace("<v.overlap ", "<v ").replace("In potem?", "In?")
    review.write_text(edited, "utf-8")
    applied = run_cli("review", recording_id, "--apply", review, "--archive", archive_db)
    assert applied.exit_code == 0, str(applied)
    with open_archive(archive_db) as archive:
        segments = archive.current_segments(recording_id)
    assert [(s["text"], s["overlap"]) for s in segments][-1] == ("In?", 1)
    assert [s["overlap"] for s in segments] == [0, 0, 1]


def test_the_editor_shows_and_keeps_the_overlap_mark(archive_db: Path) -> None:
    """The workspace editor gets the mark with each line (it shows "⇄ hkrati govori še
    nekdo"); a save, which sends no mark, keeps it on the corrected and the split line."""
    from livingmemory.review.workspace import Line, editor_lines, save_transcript

    recording_id = _suggested_archive(archive_db)
    with open_archive(archive_db) as archive:
        lines = editor_lines(archive, recording_id)
        assert [line["overlap"] for line in lines] == [False, False, True]
        edited = [Line(x["start"], x["end"], x["text"], x["speaker"], x["id"]) for x in lines]
        last = edited[-1]
        middle = (last.start + last.end) / 2
        edited[-1:] = [Line(last.start, middle, "In", last.speaker, last.id),
                       Line(middle, last.end, "potem?", last.speaker)]  # fmt: skip
        save_transcript(archive, recording_id, edited, author="ana", retag=False)
        after = editor_lines(archive, recording_id)
    marks = [(line["text"], line["overlap"]) for line in after]
    assert marks[-2:] == [("In", True), ("potem?", True)]
    assert [overlap for _, overlap in marks[:2]] == [False, False]


def test_the_workspace_confirms_a_suggestion(
    archive_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("datasette")
    from test_workspace import Client

    recording_id = _suggested_archive(archive_db)
    client = Client(archive_db, monkeypatch)
    try:
        page = f"/-/workspace/{recording_id}"
        refused = client("POST", f"{page}/speakers", data={"label": "Govorec 1"})
        assert refused.status_code == 403  # no login
        client.login()
        forged = client("POST", f"{page}/speakers", data={"label": "Govorec 1"})
        assert forged.status_code == 403  # no CSRF token
        shown = client("GET", page)
        assert "morda Ana Zupan, 0,72" in shown.text and "Potrdi: Ana Zupan" in shown.text
        assert "Added by</span></dt><dd>," not in shown.text  # nobody recorded: no stray comma
        token = client.token(page)
        done = client("POST", f"{page}/speakers", data={"csrftoken": token, "label": "Govorec 1"})
        assert done.status_code == 302, done.text
        assert "Predlogi govorcev" not in client("GET", page).text  # nothing left to confirm
        # A voice named by role whose stored voice agrees (a print nobody confirmed yet):
        # the volunteer is asked to confirm the name it has, not offered it as a new one.
        with open_archive(archive_db) as archive:
            archive.db.execute(
                "UPDATE speaker_voices SET suggested_person_id = 1, suggested_similarity = 0.95 "
                "WHERE cluster = 'S1'"
            )
            archive.db.conn.commit()
        shown = client("GET", page).text
        assert "Marija Košir — shranjeni glas se ujema, 0,95" in " ".join(shown.split())
        assert "morda Marija Košir" not in shown and "Potrdi: Marija Košir" in shown
    finally:
        client.close()
    labels = {r["speaker"] for r in db_rows(archive_db, "SELECT speaker FROM segments")}
    assert labels == {"Ana Zupan", "Marija Košir"}


def test_confirming_a_swapped_guess_swaps_the_names_and_makes_evidence(archive_db: Path) -> None:
    """The roles called the narrator's voice "Ana Zupan" and the interviewer's "Marija
    Košir"; Ana's stored voice (role guesses only: it may not name) suggests her for the
    second. Confirming swaps the two names (a merge would leave Marija unheard), and the
    confirmed voice is evidence: Ana's print may name from now on, Marija's still not."""
    from livingmemory.speakers import turns

    recording_id = _interview(
        archive_db,
        [("Rodila sem se v Kranju.", "Ana Zupan", False), ("Kje pa?", "Marija Košir", False),
         ("Na Primskovem.", "Ana Zupan", False)],
        [("S1", "Ana Zupan", ANA, None, [1.0, 0.0]), ("S2", "Marija Košir", 1, 0.97, [0.0, 1.0])],
    )  # fmt: skip
    with open_archive(archive_db) as archive:
        for person in (1, ANA):
            turns.update_voice_print(archive, person)
        archive.db.conn.commit()
        assert not any(p.trusted for p in turns.people_for(archive, recording_id))

    done = run_cli("speakers", recording_id, "--confirm", "Marija Košir", "--archive", archive_db)
    assert done.exit_code == 0, str(done)
    speakers = [r["speaker"] for r in db_rows(archive_db, "SELECT speaker FROM segments "
                                              "ORDER BY position")]  # fmt: skip
    assert speakers == ["Marija Košir", "Ana Zupan", "Marija Košir"]
    voices = db_rows(archive_db, "SELECT cluster, label, person_id, method FROM speaker_voices "
                     "ORDER BY cluster")  # fmt: skip
    assert voices == [
        {"cluster": "S1", "label": "Marija Košir", "person_id": 1, "method": "role"},
        {"cluster": "S2", "label": "Ana Zupan", "person_id": ANA, "method": "manual"},
    ]
    assert len(db_rows(archive_db, "SELECT id FROM revisions")) == 2
    with open_archive(archive_db) as archive:
        people = {p.name: p for p in turns.people_for(archive, recording_id)}
        assert people["Ana Zupan"].trusted and not people["Marija Košir"].trusted
        # Ana's print is now her own voice (S2), not the narrator's.
        assert people["Ana Zupan"].voice is not None
        assert people["Ana Zupan"].voice.tolist() == pytest.approx([0.0, 1.0])
        # A suggestion that agrees with the role's name, confirmed: evidence too.
        archive.db.execute(
            "UPDATE speaker_voices SET suggested_person_id = 1, suggested_similarity = 0.9 "
            "WHERE cluster = 'S1'"
        )
        archive.db.conn.commit()
    agreed = run_cli("speakers", recording_id, "--confirm", "Marija Košir", "--archive",
                     archive_db)  # fmt: skip
    assert agreed.exit_code == 0, str(agreed)
    with open_archive(archive_db) as archive:
        assert {p.name: p for p in turns.people_for(archive, recording_id)}["Marija Košir"].trusted
