"""Command-line items of the workspace issue: folders, sidecars in globs, Slovenian metadata,
tags in ``show``, the model-loading message, and tags kept after a correction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import add_json, copy_audio, db_rows, run_cli, show_json

from livingmemory.archive.store import open_archive
from livingmemory.site.publish import publish


def test_add_folder_is_recursive_audio_only_and_names_sidecars(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    tapes = tmp_path / "tapes"
    copy_audio(audio_files["mp3"], tapes, "tape.mp3")
    (tapes / "tape.yml").write_text("naslov: Trak ena\ndostop: omejeno\n", encoding="utf-8")
    copy_audio(audio_files["flac"], tapes / "1987" / "maj", "druga.flac")
    copy_audio(audio_files["ogg"], tapes / ".skrito", "skrita.ogg")
    (tapes / "notes.txt").write_text("not audio", encoding="utf-8")
    (tapes / "list.csv").write_text("file\n", encoding="utf-8")
    result = run_cli("add", tapes, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    added = [line for line in result.stdout.splitlines() if line.startswith("added")]
    assert len(added) == 2
    assert any("tape.mp3" in line and "(metadata from tape.yml)" in line for line in added)
    assert "2 added, 0 already there, 0 failed" in result.stdout
    rows = db_rows(archive_db, "SELECT title, original_filename FROM recordings ORDER BY id")
    assert {r["original_filename"] for r in rows} == {"tape.mp3", "druga.flac"}
    assert "Trak ena" in {r["title"] for r in rows}


def test_glob_with_sidecars_reports_no_failures(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    folder = tmp_path / "examples"
    one = copy_audio(audio_files["wav"], folder, "ena.wav")
    two = copy_audio(audio_files["opus"], folder, "dva.opus")
    sidecar = folder / "ena.yml"
    sidecar.write_text("title: Prvi\nnarrator: Ana Novak\n", encoding="utf-8")
    result = run_cli("add", one, sidecar, two, "--archive", archive_db)  # as `add examples/*`
    assert result.exit_code == 0, str(result)
    assert result.stderr.strip() == ""
    assert "2 added, 0 already there, 0 failed" in result.stdout
    orphan = folder / "brez-posnetka.yml"
    orphan.write_text("title: x\n", encoding="utf-8")
    lonely = run_cli("add", orphan, "--archive", archive_db)
    assert lonely.exit_code == 1 and "brez-posnetka.yml" in lonely.stderr


def test_slovenian_csv_headers_and_values(tmp_path: Path, archive_db: Path, audio_files) -> None:
    copy_audio(audio_files["wav"], tmp_path, "trak1.wav")
    copy_audio(audio_files["flac"], tmp_path, "trak2.flac")
    sheet = tmp_path / "popis.csv"
    sheet.write_text(
        "file;naslov;pripovedovalec;spraševalec;datum;kraj;jezik;dostop;soglasje\n"
        "trak1.wav;Na Jesenicah;Janez Novak;Ana Zupan;13. 5. 1987;Jesenice;slovenščina;javno;"
        "podpisano\n"
        "trak2.flac;Emigracija;Marija Kralj;;1990;Kranj;sl;omejeno;\n",
        encoding="utf-8",
    )
    result = run_cli("add", "--from-csv", sheet, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    rows = db_rows(archive_db, "SELECT * FROM recordings ORDER BY id")
    facts = [(r["title"], r["access"], r["recorded_date"], r["place"], r["language"]) for r in rows]
    assert facts == [
        ("Na Jesenicah", "public", "1987-05-13", "Jesenice", "sl"),
        ("Emigracija", "restricted", "1990", "Kranj", "sl"),
    ]  # fmt: skip
    assert rows[0]["consent_notes"] == "podpisano"
    people = {p["name"]: p["role"] for p in show_json(archive_db, rows[0]["id"])["people"]}
    assert people == {"Janez Novak": "narrator", "Ana Zupan": "interviewer"}
    result, added = add_json(archive_db, audio_files["ogg"], "--access", "embargo",
                             "--embargo-until", "2060-01-01")  # fmt: skip
    assert result.exit_code == 0, str(result)
    assert show_json(archive_db, added[0]["recording_id"])["access"] == "embargoed"


def test_transcribe_says_which_model_it_loads(archive_db: Path, audio_files) -> None:
    add_json(archive_db, audio_files["en_wav"], "--language", "en")
    unknown = run_cli("transcribe", "--model", "no-such-model", "--archive", archive_db)
    assert unknown.exit_code == 1 and "loading" not in unknown.stderr
    result = run_cli("transcribe", "--model", "tiny.en", "--beam-size", "1",
                     "--archive", archive_db)  # fmt: skip
    assert result.exit_code == 0, str(result)
    assert result.stderr.splitlines()[0] == "loading model tiny.en..."
    again = run_cli("transcribe", "--model", "tiny.en", "--archive", archive_db)
    assert "loading" not in again.stderr and "Nothing to transcribe" in again.stdout


@pytest.mark.slow
def test_show_lists_tags_and_publish_keeps_tags_after_a_correction(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    pytest.importorskip("spacy")
    _, added = add_json(archive_db, audio_files["ogg"], "--access", "public", "--consent",
                             "podpisano", "--language", "sl")  # fmt: skip
    recording_id = added[0]["recording_id"]
    with open_archive(archive_db) as archive:
        transcript = archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "test",
             "language": "sl", "started_at": "2026-01-01T00:00:00+00:00",
             "finished_at": "2026-01-01T00:00:01+00:00", "is_current": 1},
        ).last_pk  # fmt: skip
        archive.db["segments"].insert(
            {"transcript_id": transcript, "recording_id": recording_id, "position": 0,
             "start": 0.0, "end": 3.0, "text": "Živela sem v Kranju."},
        )  # fmt: skip
        archive.db.conn.commit()
    assert run_cli("tag", "--archive", archive_db).exit_code == 0
    shown = run_cli("show", recording_id, "--archive", archive_db)
    assert "tags" in shown.stdout and "Kranj (LOC)" in shown.stdout
    assert {t["name"] for t in show_json(archive_db, recording_id)["tags"]} >= {"Kranj"}

    vtt = tmp_path / "popravek.vtt"
    assert run_cli("review", recording_id, "--output", vtt, "--archive", archive_db).exit_code == 0
    vtt.write_text(vtt.read_text(encoding="utf-8").replace("v Kranju", "na Jesenicah"), "utf-8")
    applied = run_cli("review", recording_id, "--apply", vtt, "--author", "Ana",
                      "--archive", archive_db)  # fmt: skip
    assert applied.exit_code == 0, str(applied)
    with open_archive(archive_db) as archive:
        publish(archive)
    public = db_rows(archive_db.parent / "public" / "public.db", "SELECT * FROM entities")
    assert {e["canonical"] for e in public if e["label"] == "LOC"} == {"Jesenice"}
    assert json.loads(run_cli("show", recording_id, "--json", "--archive", archive_db).stdout)[
        "tags"
    ]
