"""``livingmemory add``: formats, byte-for-byte copies, duplicates, metadata, sidecars, CSV."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from support import (
    ALL_FORMATS,
    FORMATS,
    add_json,
    copy_audio,
    db_rows,
    ffprobe,
    list_json,
    run_cli,
    sha256,
    show_json,
    snapshot,
)

from livingmemory.ingest.languages import normalize_language
from livingmemory.ingest.metadata import parse_date

# -- every format ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_add_every_format(archive_dir: Path, archive_db: Path, audio_files, fmt: str) -> None:
    original = audio_files[fmt]
    original_sha = sha256(original)
    original_mtime = original.stat().st_mtime_ns
    expected = ffprobe(original)
    reference = ffprobe(audio_files["wav"])

    result, [entry] = add_json(archive_db, original)
    assert result.exit_code == 0, str(result)
    assert entry["status"] == "added"
    record = show_json(archive_db, entry["recording_id"])

    extension = FORMATS[fmt][0].rsplit(".", 1)[1]
    assert record["format"] == extension
    assert record["codec"] == expected["codec"]
    assert record["sample_rate"] == expected["sample_rate"]
    assert record["channels"] == (2 if fmt.startswith("stereo") else 1)
    assert record["channels"] == expected["channels"]
    # Encoders pad a little (MP3, AAC, Opus), but the length is the speech's length.
    assert record["duration"] == pytest.approx(reference["duration"], abs=0.25)
    assert record["sha256"] == original_sha
    assert record["size_bytes"] == original.stat().st_size
    assert record["original_filename"] == original.name
    assert record["state"] == "added"

    # The archive's copy is byte-identical, under recordings/, named by content, read-only.
    copy = archive_dir / record["file_path"]
    assert copy.parent == archive_dir / "recordings"
    assert copy.read_bytes() == original.read_bytes()
    assert original_sha[:10] in copy.name and copy.suffix == original.suffix
    assert not copy.stat().st_mode & 0o222, "the archive's copy should be read-only"
    # The volunteer's original is untouched.
    assert sha256(original) == original_sha
    assert original.stat().st_mtime_ns == original_mtime
    assert not list((archive_dir / "recordings").glob(".*partial"))


def test_wav_facts_match_espeak_output(archive_db: Path, audio_files) -> None:
    """espeak-ng writes 22.05 kHz mono; Opus always decodes at 48 kHz."""
    _, [wav] = add_json(archive_db, audio_files["wav"])
    _, [opus] = add_json(archive_db, audio_files["opus"])
    wav_record = show_json(archive_db, wav["recording_id"])
    opus_record = show_json(archive_db, opus["recording_id"])
    assert (wav_record["sample_rate"], wav_record["channels"]) == (22050, 1)
    assert (opus_record["sample_rate"], opus_record["channels"]) == (48000, 1)
    assert 2.0 < wav_record["duration"] < 30.0


def test_human_output_describes_the_recording(archive_db: Path, audio_files) -> None:
    result = run_cli("add", "--archive", archive_db, audio_files["stereo_flac"])
    assert result.exit_code == 0, str(result)
    text = " ".join(result.stdout.split())
    assert "added" in text and "#1" in text
    assert "flac" in text and "22050 Hz" in text and "stereo" in text
    assert result.stderr == ""


def test_each_added_file_is_reported_on_one_line(tmp_path: Path, archive_db: Path, audio_files):
    """Output piped to a log keeps one line per file, however long the path."""
    deep = tmp_path / "zvočni-posnetki-z-usb-ključa" / "2024" / "intervjuji-gorenjska"
    audio = copy_audio(audio_files["wav"], deep, "marija-košir-jesenice-prvi-del.wav")
    result = run_cli("add", "--archive", archive_db, audio)
    assert result.exit_code == 0, str(result)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"the report was wrapped over {len(lines)} lines:\n{result.stdout}"
    assert lines[0].startswith("added") and str(audio) in lines[0]


# -- duplicates ------------------------------------------------------------------------------


def test_adding_same_audio_twice_is_a_noop(
    archive_dir: Path, archive_db: Path, audio_files
) -> None:
    first = run_cli("add", "--archive", archive_db, audio_files["wav"], "--title", "Prvič")
    assert first.exit_code == 0, str(first)
    before = snapshot(archive_dir)

    second = run_cli("add", "--archive", archive_db, audio_files["wav"], "--title", "Drugič")
    assert second.exit_code == 0, str(second)
    assert "already" in second.stdout
    assert second.stderr == ""
    assert snapshot(archive_dir) == before
    rows = list_json(archive_db)
    assert [row["title"] for row in rows] == ["Prvič"]


def test_same_content_under_another_name_is_a_duplicate(
    tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    _, [first] = add_json(archive_db, audio_files["mp3"])
    renamed = copy_audio(audio_files["mp3"], tmp_path / "usb", "Posnetek babice.MP3")
    before = snapshot(archive_dir)

    result, [entry] = add_json(archive_db, renamed)
    assert result.exit_code == 0, str(result)
    assert entry["status"] == "duplicate"
    assert entry["recording_id"] == first["recording_id"]
    assert "already" in entry["message"]
    assert snapshot(archive_dir) == before
    assert len(db_rows(archive_db, "SELECT id FROM recordings")) == 1


def test_batch_reports_duplicates_inside_the_batch(archive_db: Path, tmp_path: Path, audio_files):
    twin = copy_audio(audio_files["ogg"], tmp_path / "twin", "twin.ogg")
    result, entries = add_json(archive_db, audio_files["ogg"], twin, audio_files["flac"])
    assert result.exit_code == 0, str(result)
    assert [e["status"] for e in entries] == ["added", "duplicate", "added"]
    assert len(list_json(archive_db)) == 2


# -- metadata from options -------------------------------------------------------------------


def test_metadata_options(archive_db: Path, audio_files) -> None:
    result, [entry] = add_json(
        archive_db,
        audio_files["flac"],
        "--title",
        "Življenje pod Triglavom",
        "--narrator",
        "Frančiška Demšar",
        "--narrator",
        "Janez Demšar",
        "--interviewer",
        "Ana Zupan",
        "--date",
        "1987-05",
        "--place",
        "Škofja Loka",
        "--language",
        "Slovenian",
        "--access",
        "embargoed",
        "--embargo-until",
        "2040-01-01",
        "--consent",
        "Ustno soglasje",
        "--notes",
        "Šum v ozadju",
    )
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert record["title"] == "Življenje pod Triglavom"
    assert record["recorded_date"] == "1987-05"
    assert record["place"] == "Škofja Loka"
    assert record["language"] == "sl"
    assert record["access"] == "embargoed"
    assert record["embargo_until"] == "2040-01-01"
    assert record["consent_notes"] == "Ustno soglasje"
    assert record["notes"] == "Šum v ozadju"
    assert record["added_by"] == "test-volunteer"
    people = [(p["role"], p["name"]) for p in record["people"]]
    assert people == [
        ("narrator", "Frančiška Demšar"),
        ("narrator", "Janez Demšar"),
        ("interviewer", "Ana Zupan"),
    ]
    [row] = list_json(archive_db)
    assert row["narrators"] == "Frančiška Demšar; Janez Demšar"
    assert row["state"] == "added"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("12. 5. 1987", "1987-05-12"),
        ("12.5.1987", "1987-05-12"),
        ("5. 1987", "1987-05"),
        ("1987", "1987"),
        ("1987-5-2", "1987-05-02"),
        ("1987-05-12", "1987-05-12"),
        (dt.date(1987, 5, 12), "1987-05-12"),
    ],
)
def test_date_forms(given: object, stored: str) -> None:
    assert parse_date(given, "date", "x.wav") == stored


def test_slovenian_date_option(archive_db: Path, audio_files) -> None:
    result, [entry] = add_json(archive_db, audio_files["wav"], "--date", "12. 5. 1987")
    assert result.exit_code == 0, str(result)
    assert show_json(archive_db, entry["recording_id"])["recorded_date"] == "1987-05-12"


@pytest.mark.parametrize(
    ("given", "code"),
    [("sl", "sl"), ("SL", "sl"), ("sl-SI", "sl"), ("sl_SI", "sl"), ("Slovenian", "sl"),
     ("slovenščina", "sl"), ("German", "de"), ("Deutsch", "de"), ("hr", "hr")],
)  # fmt: skip
def test_language_forms(given: str, code: str) -> None:
    assert normalize_language(given) == code


def test_default_access_is_restricted_and_title_is_file_stem(archive_db: Path, audio_files) -> None:
    result, [entry] = add_json(archive_db, audio_files["m4a"])
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert record["access"] == "restricted"
    assert record["embargo_until"] is None
    assert record["title"] == audio_files["m4a"].stem
    assert record["people"] == []


def test_embargo_date_alone_implies_embargoed(archive_db: Path, audio_files) -> None:
    result, [entry] = add_json(archive_db, audio_files["ogg"], "--embargo-until", "2045-06-30")
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert (record["access"], record["embargo_until"]) == ("embargoed", "2045-06-30")


def test_public_access_option(archive_db: Path, audio_files) -> None:
    result, [entry] = add_json(archive_db, audio_files["ogg"], "--access", "Public")
    assert result.exit_code == 0, str(result)
    assert show_json(archive_db, entry["recording_id"])["access"] == "public"


def test_archive_from_environment_variable(
    archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVINGMEMORY_ARCHIVE", str(archive_db))
    result = run_cli("add", audio_files["wav"])
    assert result.exit_code == 0, str(result)
    assert len(list_json(archive_db)) == 1


def test_added_by_option_wins_over_login(archive_db: Path, audio_files) -> None:
    _, [entry] = add_json(archive_db, audio_files["wav"], "--added-by", "Mojca")
    assert show_json(archive_db, entry["recording_id"])["added_by"] == "Mojca"


# -- sidecars --------------------------------------------------------------------------------

SIDECAR = """\
title: Od železarne do Iskre
narrator:
  name: Marija Košir
  birth_year: 1932
  home_place: Jesenice
interviewer: Ana Zupan
date: 2019-03-14
place: Kranj
language: slovenščina
access: public
consent: Podpisano soglasje
"""


def test_sidecar_metadata_is_used(tmp_path: Path, archive_db: Path, audio_files) -> None:
    audio = copy_audio(audio_files["wav"], tmp_path / "in", "kosir.wav")
    audio.with_suffix(".yml").write_text(SIDECAR, encoding="utf-8")
    result, [entry] = add_json(archive_db, audio)
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert record["title"] == "Od železarne do Iskre"
    assert record["recorded_date"] == "2019-03-14"
    assert record["place"] == "Kranj"
    assert record["language"] == "sl"
    assert record["access"] == "public"
    assert record["consent_notes"] == "Podpisano soglasje"
    narrator, interviewer = record["people"]
    assert (narrator["role"], narrator["name"]) == ("narrator", "Marija Košir")
    assert (narrator["birth_year"], narrator["home_place"]) == (1932, "Jesenice")
    assert (interviewer["role"], interviewer["name"]) == ("interviewer", "Ana Zupan")


def test_yaml_extension_sidecar(tmp_path: Path, archive_db: Path, audio_files) -> None:
    audio = copy_audio(audio_files["mp3"], tmp_path / "in", "pogovor.mp3")
    audio.with_suffix(".yaml").write_text("title: Pogovor\nlanguage: en\n", encoding="utf-8")
    _, [entry] = add_json(archive_db, audio)
    record = show_json(archive_db, entry["recording_id"])
    assert (record["title"], record["language"]) == ("Pogovor", "en")


def test_options_override_sidecar(tmp_path: Path, archive_db: Path, audio_files) -> None:
    audio = copy_audio(audio_files["wav"], tmp_path / "in", "kosir.wav")
    audio.with_suffix(".yml").write_text(SIDECAR, encoding="utf-8")
    result, [entry] = add_json(
        archive_db,
        audio,
        "--title",
        "Popravljen naslov",
        "--place",
        "Jesenice",
        "--access",
        "restricted",
        "--narrator",
        "Janez Košir",
    )
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entry["recording_id"])
    assert record["title"] == "Popravljen naslov"
    assert record["place"] == "Jesenice"
    assert record["access"] == "restricted"
    # Not overridden: kept from the sidecar.
    assert record["recorded_date"] == "2019-03-14"
    assert record["language"] == "sl"
    people = [(p["role"], p["name"]) for p in record["people"]]
    assert people == [("narrator", "Janez Košir"), ("interviewer", "Ana Zupan")]


def test_embargo_option_overrides_sidecar_access(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    """--embargo-until "implies --access embargoed" (its help), even over a sidecar's access."""
    audio = copy_audio(audio_files["wav"], tmp_path / "in", "kosir.wav")
    audio.with_suffix(".yml").write_text(SIDECAR, encoding="utf-8")  # access: public
    result, entries = add_json(archive_db, audio, "--embargo-until", "2040-01-01")
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entries[0]["recording_id"])
    assert (record["access"], record["embargo_until"]) == ("embargoed", "2040-01-01")


def test_sidecar_date_before_phonograph_is_rejected_like_option(
    tmp_path: Path, archive_dir: Path, archive_db: Path, audio_files
) -> None:
    """An unquoted YAML date becomes a date object; it must get the same checks as text."""
    option = run_cli("add", "--archive", archive_db, audio_files["wav"], "--date", "1850-01-01")
    assert option.exit_code == 1 and "before 1877" in option.stderr, str(option)

    audio = copy_audio(audio_files["wav"], tmp_path / "in", "old.wav")
    audio.with_suffix(".yml").write_text("date: 1850-01-01\n", encoding="utf-8")
    before = snapshot(archive_dir)
    result = run_cli("add", "--archive", archive_db, audio)
    assert result.exit_code == 1, str(result)
    assert "1877" in result.stderr
    assert snapshot(archive_dir) == before


# -- people ----------------------------------------------------------------------------------


def _people(archive_db: Path) -> list[dict]:
    return db_rows(archive_db, "SELECT * FROM people ORDER BY id")


def test_people_are_reused_across_recordings(tmp_path: Path, archive_db: Path, audio_files):
    first = copy_audio(audio_files["wav"], tmp_path / "a", "prvi.wav")
    first.with_suffix(".yml").write_text(SIDECAR, encoding="utf-8")
    assert add_json(archive_db, first)[0].exit_code == 0
    # Same name, no birth year given: the same person.
    result, [second] = add_json(
        archive_db, audio_files["flac"], "--narrator", "Marija Košir", "--interviewer", "Ana Zupan"
    )
    assert result.exit_code == 0, str(result)
    people = _people(archive_db)
    assert [p["name"] for p in people] == ["Marija Košir", "Ana Zupan"]
    record = show_json(archive_db, second["recording_id"])
    assert [p["id"] for p in record["people"]] == [people[0]["id"], people[1]["id"]]
    assert record["people"][0]["birth_year"] == 1932

    # Same name, a different known birth year: a different person.
    third = copy_audio(audio_files["mp3"], tmp_path / "c", "tretji.mp3")
    third.with_suffix(".yml").write_text(
        "narrator:\n  name: Marija Košir\n  birth_year: 1950\n", encoding="utf-8"
    )
    assert add_json(archive_db, third)[0].exit_code == 0
    marijas = [p for p in _people(archive_db) if p["name"] == "Marija Košir"]
    assert sorted(p["birth_year"] for p in marijas) == [1932, 1950]
    assert len(_people(archive_db)) == 3


def test_missing_person_details_are_filled_in_not_overwritten(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    assert add_json(archive_db, audio_files["wav"], "--narrator", "Ivan Cankar")[0].exit_code == 0
    second = copy_audio(audio_files["flac"], tmp_path / "b", "drugi.flac")
    second.with_suffix(".yml").write_text(
        "narrator: {name: Ivan Cankar, birth_year: 1936, home_place: Vrhnika}\n", encoding="utf-8"
    )
    assert add_json(archive_db, second)[0].exit_code == 0
    third = copy_audio(audio_files["ogg"], tmp_path / "c", "tretji.ogg")
    third.with_suffix(".yml").write_text(
        "narrator: {name: ivan cankar, home_place: Ljubljana}\n", encoding="utf-8"
    )
    assert add_json(archive_db, third)[0].exit_code == 0
    [person] = _people(archive_db)
    assert (person["name"], person["birth_year"], person["home_place"]) == (
        "Ivan Cankar",
        1936,
        "Vrhnika",
    )


def test_person_names_from_options_are_cleaned(archive_db: Path, audio_files) -> None:
    """Sidecar/CSV names are stripped; option names must be too (no 'Ana Zupan ' twin)."""
    assert add_json(archive_db, audio_files["wav"], "--narrator", "Ana Zupan")[0].exit_code == 0
    result, _ = add_json(archive_db, audio_files["flac"], "--narrator", "  Ana Zupan ")
    assert result.exit_code == 0, str(result)
    assert [p["name"] for p in _people(archive_db)] == ["Ana Zupan"]


def test_empty_person_name_from_option_is_not_stored(archive_db: Path, audio_files) -> None:
    run_cli("add", "--archive", archive_db, audio_files["wav"], "--narrator", "")
    assert all(p["name"].strip() for p in _people(archive_db)), _people(archive_db)


def test_person_match_ignores_case_of_slovenian_letters(archive_db: Path, audio_files) -> None:
    """Matching is meant to ignore case (COLLATE NOCASE); it must not stop at č, š, ž."""
    assert add_json(archive_db, audio_files["wav"], "--narrator", "Janez Novak")[0].exit_code == 0
    assert add_json(archive_db, audio_files["flac"], "--narrator", "JANEZ NOVAK")[0].exit_code == 0
    assert len(_people(archive_db)) == 1  # ASCII: one person
    assert add_json(archive_db, audio_files["mp3"], "--narrator", "Žiga Čebašek")[0].exit_code == 0
    assert add_json(archive_db, audio_files["ogg"], "--narrator", "ŽIGA ČEBAŠEK")[0].exit_code == 0
    assert len(_people(archive_db)) == 2, [p["name"] for p in _people(archive_db)]


def test_list_shows_narrators_in_the_order_given(archive_db: Path, audio_files) -> None:
    """``list`` must agree with ``show``: narrators in the order they were named."""
    assert add_json(archive_db, audio_files["wav"], "--narrator", "Ana")[0].exit_code == 0
    _, [entry] = add_json(
        archive_db, audio_files["flac"], "--narrator", "Bojan", "--narrator", "Ana"
    )
    shown = [p["name"] for p in show_json(archive_db, entry["recording_id"])["people"]]
    assert shown == ["Bojan", "Ana"]
    listed = {row["id"]: row["narrators"] for row in list_json(archive_db)}
    assert listed[entry["recording_id"]] == "Bojan; Ana"


# -- list and show ---------------------------------------------------------------------------


def test_list_and_show_report_state_and_people(archive_db: Path, audio_files) -> None:
    add_json(archive_db, audio_files["wav"], "--title", "Ena", "--narrator", "Marta")
    add_json(archive_db, audio_files["opus"], "--title", "Dve", "--interviewer", "Ana Zupan")
    rows = list_json(archive_db)
    assert [(r["id"], r["title"], r["state"]) for r in rows] == [
        (1, "Ena", "added"),
        (2, "Dve", "added"),
    ]
    assert rows[0]["narrators"] == "Marta"
    assert rows[1]["narrators"] is None
    assert rows[1]["duration"] == pytest.approx(ffprobe(audio_files["opus"])["duration"], abs=0.1)

    record = show_json(archive_db, 2)
    assert record["state"] == "added"
    assert [(p["role"], p["name"]) for p in record["people"]] == [("interviewer", "Ana Zupan")]
    assert (record["transcripts"], record["segments"], record["entities"]) == (0, 0, 0)


def test_list_and_show_human_output(archive_db: Path, audio_files) -> None:
    empty = run_cli("list", "--archive", archive_db)
    assert empty.exit_code == 0 and "no recordings" in empty.stdout
    add_json(archive_db, audio_files["wav"], "--title", "Ena", "--narrator", "Marta")
    listing = run_cli("list", "--archive", archive_db)
    assert listing.exit_code == 0, str(listing)
    assert "Ena" in listing.stdout and "Marta" in listing.stdout and "added" in listing.stdout
    shown = run_cli("show", "1", "--archive", archive_db)
    assert shown.exit_code == 0, str(shown)
    assert "Marta" in shown.stdout and "narrator" in shown.stdout


def test_show_unknown_recording(archive_db: Path) -> None:
    result = run_cli("show", "999", "--archive", archive_db)
    assert result.exit_code == 1
    assert len(result.lines) == 1, str(result)
    assert "999" in result.error_lines[0]


def test_add_without_archive_says_run_init(
    tmp_path: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("add", audio_files["wav"])
    assert result.exit_code == 1
    assert len(result.lines) == 1, str(result)
    assert "livingmemory init" in result.error_lines[0]
    assert not (tmp_path / "archive.db").exists()
    elsewhere = run_cli("add", "--archive", tmp_path / "nowhere" / "a.db", audio_files["wav"])
    assert elsewhere.exit_code == 1 and "livingmemory init" in elsewhere.stderr
    assert not (tmp_path / "nowhere").exists()


def test_add_without_files(archive_db: Path) -> None:
    result = run_cli("add", "--archive", archive_db)
    assert result.exit_code == 1
    assert len(result.lines) == 1 and "audio file" in result.error_lines[0]


# -- CSV import ------------------------------------------------------------------------------


def _sheet_folder(tmp_path: Path, audio_files) -> Path:
    folder = tmp_path / "sheet"
    copy_audio(audio_files["wav"], folder, "pogovor-čebelar.wav")
    copy_audio(audio_files["flac"], folder / "sub", "drugi.flac")
    copy_audio(audio_files["mp3"], folder, "tretji.mp3")
    return folder


@pytest.mark.parametrize("delimiter", [",", ";"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_csv_import(tmp_path: Path, archive_db, audio_files, delimiter: str, encoding: str) -> None:
    folder = _sheet_folder(tmp_path, audio_files)
    rows = [
        ["file", "title", "narrator", "date", "language", "access"],
        [
            "pogovor-čebelar.wav",
            "Čebelar, panj in med",
            "Frančiška Demšar",
            "12. 5. 1987",
            "sl",
            "public",
        ],
        ["sub/drugi.flac", "Druga zgodba", "Ana Zupan; Žiga Šušteršič", "1990-06", "en", ""],
    ]
    sheet = folder / "sheet.csv"
    # As a spreadsheet saves it: cells holding the delimiter are quoted.
    with sheet.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(rows)

    result, entries = add_json(archive_db, "--from-csv", sheet)
    assert result.exit_code == 0, str(result)
    assert [e["status"] for e in entries] == ["added", "added"]
    first, second = (show_json(archive_db, e["recording_id"]) for e in entries)
    assert first["title"] == "Čebelar, panj in med"
    assert first["original_filename"] == "pogovor-čebelar.wav"
    assert first["recorded_date"] == "1987-05-12"
    assert (first["language"], first["access"]) == ("sl", "public")
    assert [p["name"] for p in first["people"]] == ["Frančiška Demšar"]
    assert (archive_db.parent / first["file_path"]).name.startswith("pogovor-cebelar-")
    assert second["title"] == "Druga zgodba"
    assert (second["recorded_date"], second["language"], second["access"]) == (
        "1990-06",
        "en",
        "restricted",
    )
    assert [p["name"] for p in second["people"]] == ["Ana Zupan", "Žiga Šušteršič"]


def test_csv_options_override_rows(tmp_path: Path, archive_db: Path, audio_files) -> None:
    folder = _sheet_folder(tmp_path, audio_files)
    sheet = folder / "sheet.csv"
    sheet.write_text(
        "file,title,place\npogovor-čebelar.wav,Ena,Kranj\ntretji.mp3,Tri,Bled\n", encoding="utf-8"
    )
    result, entries = add_json(archive_db, "--from-csv", sheet, "--place", "Radovljica")
    assert result.exit_code == 0, str(result)
    records = [show_json(archive_db, e["recording_id"]) for e in entries]
    assert [(r["title"], r["place"]) for r in records] == [
        ("Ena", "Radovljica"),
        ("Tri", "Radovljica"),
    ]


def test_csv_with_one_bad_row_keeps_the_good_rows(
    tmp_path: Path, archive_db: Path, audio_files
) -> None:
    folder = _sheet_folder(tmp_path, audio_files)
    sheet = folder / "sheet.csv"
    sheet.write_text(
        "file,title,date,language\n"
        "pogovor-čebelar.wav,Ena,1987,sl\n"
        "sub/drugi.flac,Dve,1987,xx\n"
        "tretji.mp3,Tri,1988,sl\n",
        encoding="utf-8",
    )
    result = run_cli("add", "--archive", archive_db, "--from-csv", sheet)
    assert result.exit_code == 1, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert "sheet.csv:3" in result.error_lines[0]
    assert "unknown language" in result.error_lines[0]
    assert sorted(r["title"] for r in list_json(archive_db)) == ["Ena", "Tri"]
    assert "2 added" in result.stdout and "1 failed" in result.stdout


def test_csv_bad_row_number_counts_blank_lines(tmp_path: Path, archive_db: Path, audio_files):
    """The error names the line to fix in the file, even after a blank line."""
    folder = _sheet_folder(tmp_path, audio_files)
    sheet = folder / "sheet.csv"
    sheet.write_text(
        "file,title,date\npogovor-čebelar.wav,Ena,1987\n\ntretji.mp3,Tri,yesterday\n",
        encoding="utf-8",
    )
    result = run_cli("add", "--archive", archive_db, "--from-csv", sheet)
    assert result.exit_code == 1
    bad_line = sheet.read_text(encoding="utf-8").splitlines().index("tretji.mp3,Tri,yesterday") + 1
    assert f"sheet.csv:{bad_line}" in result.stderr, str(result)


def test_csv_multiline_cell_keeps_its_line_break(tmp_path: Path, archive_db: Path, audio_files):
    """Spreadsheets allow line breaks inside a quoted cell (Alt+Enter)."""
    folder = _sheet_folder(tmp_path, audio_files)
    sheet = folder / "sheet.csv"
    sheet.write_text(
        'file,title,notes\npogovor-čebelar.wav,Ena,"prva vrstica\ndruga vrstica"\n'
        "tretji.mp3,Tri,yesterday-ish\n",
        encoding="utf-8",
    )
    result, entries = add_json(archive_db, "--from-csv", sheet)
    assert result.exit_code == 0, str(result)
    record = show_json(archive_db, entries[0]["recording_id"])
    assert record["notes"] == "prva vrstica\ndruga vrstica"


# -- timing sanity ---------------------------------------------------------------------------


def test_added_at_is_now_in_utc(archive_db: Path, audio_files) -> None:
    _, [entry] = add_json(archive_db, audio_files["wav"])
    added = dt.datetime.fromisoformat(show_json(archive_db, entry["recording_id"])["added_at"])
    assert added.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - added).total_seconds()) < 120


def test_source_path_is_the_absolute_original(
    tmp_path: Path, archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio = copy_audio(audio_files["wav"], tmp_path / "usb")
    monkeypatch.chdir(tmp_path)
    _, [entry] = add_json(archive_db, Path("usb") / audio.name)
    assert show_json(archive_db, entry["recording_id"])["source_path"] == str(audio.resolve())
