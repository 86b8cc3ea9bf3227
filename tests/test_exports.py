"""Exchange: exports in every format parsed back, the public catalogue, imports, multi-part time.

Transcripts are written straight into the archive (finished current machine transcripts with
known times, speakers, words and Slovenian diacritics) and tagged, so nothing here runs
Whisper. Every export is read back with the package's own readers (``formats.loads``,
``parse_ohms``, ``parse_dublin_core_csv``) *and* checked as raw text, so a writer and a reader
that are wrong in the same way do not pass.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from support import (
    SHARED,
    copy_audio,
    db_rows,
    entity_rows,
    insert_recording,
    insert_transcript,
    run_cli,
    snapshot,
)

from livingmemory.archive.store import init_archive, open_archive
from livingmemory.formats import loads, parse_dublin_core_csv, parse_ohms

REPO = Path(__file__).resolve().parents[1]
ROG_TRS = SHARED / "data" / "text" / "sl_rog_gorenjska" / "ROG-Art" / "TRS"
ROG_FILE = ROG_TRS / "Rog-Art-N-G6047-P604702-std.trs"
ROG_END = 1174.632  # the last <Section endTime> of the Transcriber file

INTERVIEWER = "Janez Novak"
NARRATOR = "Marija Kovač"
TITLE = "Pri Kovačevih na Gorenjskem"

# (start, end, speaker, text) of the public interview; fractional times check milliseconds,
# the gaps make every format write explicit ends, the last cue opens a second index point.
ROWS = [
    (0.0, 4.5, INTERVIEWER, "Kje ste se rodili, gospa Kovačeva?"),
    (5.25, 9.75, NARRATOR, "Rodila sem se v Kranju, leta 1932."),
    (10.5, 14.125, NARRATOR, "Oče je delal v železarni, mama je šivala."),
    (15.0, 19.5, INTERVIEWER, "Kaj pa šola? Čez most & <potok> ste hodili?"),
    (20.0, 24.0, NARRATOR, "Šolo sem obiskovala na Jesenicah."),
    (130.0, 134.5, NARRATOR, "Potem smo se preselili v Škofjo Loko."),
]
WORDS = [
    {"word": " Rodila", "start": 5.25, "end": 5.7, "probability": 0.91},
    {"word": " sem", "start": 5.7, "end": 5.9, "probability": 0.88},
    {"word": " se", "start": 5.9, "end": 6.0, "probability": 0.87},
    {"word": " v", "start": 6.0, "end": 6.1, "probability": 0.8},
    {"word": " Kranju,", "start": 6.1, "end": 6.8, "probability": 0.75},
    {"word": " leta", "start": 7.0, "end": 7.4, "probability": 0.9},
    {"word": " 1932.", "start": 7.4, "end": 9.75, "probability": 0.6},
]
RESTRICTED_TEXT = "To je zaupna zgodba o sosedu."
EMBARGOED_TEXT = "O tem se bo smelo govoriti šele čez petdeset let."
LAPSED_TEXT = "Embargo je že potekel, to lahko sliši vsak."
FORMATS = ["vtt", "srt", "txt", "json"]


def gazetteer_coordinates(name: str) -> str:
    """``"lat, lon"`` of a place, read straight from the gazetteer data file."""
    data = yaml.safe_load((REPO / "livingmemory" / "data" / "gazetteer.yml").read_text("utf-8"))
    [place] = [p for p in data["places"] if p["name"] == name]
    return f"{place['lat']}, {place['lon']}"


def add_person(archive: Any, recording_id: int, name: str, role: str) -> None:
    person_id = archive.db["people"].insert({"name": name}).last_pk
    archive.db["recording_people"].insert(
        {"recording_id": recording_id, "person_id": person_id, "role": role, "position": 9}
    )


def write_transcript(
    archive: Any,
    recording_id: int,
    rows: list[tuple[float, float, str | None, str]],
    *,
    words: dict[int, list[dict[str, Any]]] | None = None,
) -> list[int]:
    """A finished current machine transcript of ``rows`` (exact ends and speakers)."""
    _, ids = insert_transcript(
        archive,
        recording_id,
        [text for *_, text in rows],
        starts=[start for start, *_ in rows],
        words=[(words or {}).get(i) for i in range(len(rows))],
    )
    for segment_id, (_start, end, speaker, _text) in zip(ids, rows, strict=True):
        archive.db.execute(
            "UPDATE segments SET end = ?, speaker = ? WHERE id = ?", [end, speaker, segment_id]
        )
    archive.db.conn.commit()
    return ids


def export_text(archive_db: Path, recording_id: int, fmt: str, *args: object) -> str:
    result = run_cli("export", recording_id, "--format", fmt, "--archive", archive_db, *args)
    assert result.exit_code == 0, str(result)
    assert result.stderr == ""
    return result.stdout


def assert_one_line_error(result: Any) -> str:
    assert result.exit_code == 1, str(result)
    assert result.exception is None, str(result)
    assert len(result.error_lines) == 1, str(result)
    assert result.error_lines[0].startswith("Error:"), str(result)
    return result.error_lines[0]


def assert_cues_match(cues: list[Any], rows: list[tuple[Any, ...]], shift: float = 0.0) -> None:
    assert len(cues) == len(rows), cues
    for cue, (start, end, speaker, text) in zip(cues, rows, strict=True):
        assert cue.text == text
        assert cue.speaker == speaker
        assert abs(cue.start - (start + shift)) <= 0.01, (cue, start)
        assert abs(cue.end - (end + shift)) <= 0.01, (cue, end)


def search_json(archive_db: Path, query: str) -> list[dict[str, Any]]:
    result = run_cli("search", query, "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    return json.loads(result.stdout)


# -- one tagged catalogue, shared by the read-only export tests ----------------------------------


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """#1 public (people, date, place, words, tags), #2 restricted, #3 embargoed until 2099,
    #4 public without a transcript, #5 embargoed until 2000 (lapsed, so public now)."""
    folder = tmp_path_factory.mktemp("exports") / "archive"
    archive_db = init_archive(folder / "archive.db").archive
    with open_archive(archive_db) as archive:
        public = insert_recording(archive, title=TITLE, narrators=[NARRATOR])
        add_person(archive, public, INTERVIEWER, "interviewer")
        segments = write_transcript(archive, public, ROWS, words={1: WORDS})
        restricted = insert_recording(archive, title="Zaupni pogovor", narrators=["Ivan Zupan"])
        write_transcript(archive, restricted, [(1.0, 4.0, None, RESTRICTED_TEXT)])
        embargoed = insert_recording(archive, title="Pod embargom", narrators=["Ana Hribar"])
        write_transcript(archive, embargoed, [(1.0, 4.0, None, EMBARGOED_TEXT)])
        untranscribed = insert_recording(
            archive, title="Še neprepisano", narrators=["Štefan Žagar"]
        )
        lapsed = insert_recording(archive, title="Nekoč zaprto", narrators=["Zofka Čuk"])
        write_transcript(archive, lapsed, [(1.0, 4.0, NARRATOR, LAPSED_TEXT)])
        db = archive.db
        for recording_id in (public, untranscribed):
            db.execute("UPDATE recordings SET access = 'public' WHERE id = ?", [recording_id])
        for recording_id, until in ((embargoed, "2099-01-01"), (lapsed, "2000-01-01")):
            db.execute(
                "UPDATE recordings SET access = 'embargoed', embargo_until = ? WHERE id = ?",
                [until, recording_id],
            )
        db.execute(
            "UPDATE recordings SET recorded_date = '1987-05-12', place = 'Kranj' WHERE id = ?",
            [public],
        )
        db.conn.commit()
    result = run_cli("tag", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    [recording] = db_rows(archive_db, "SELECT * FROM recordings WHERE id = ?", (public,))
    return {
        "db": archive_db,
        "public": public,
        "restricted": restricted,
        "embargoed": embargoed,
        "untranscribed": untranscribed,
        "lapsed": lapsed,
        "segments": segments,
        "recording": recording,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_parses_back_to_the_same_cues(catalogue: dict[str, Any], fmt: str) -> None:
    text = export_text(catalogue["db"], catalogue["public"], fmt)
    assert_cues_match(loads(text, fmt).cues, ROWS)


@pytest.mark.parametrize("fmt", [*FORMATS, "ohms"])
def test_export_to_a_file_is_utf8_with_diacritics(
    catalogue: dict[str, Any], fmt: str, tmp_path: Path
) -> None:
    target = tmp_path / f"out.{fmt}"
    result = run_cli(
        "export", catalogue["public"], "--format", fmt, "--output", target,
        "--archive", catalogue["db"],
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    data = target.read_bytes()
    text = data.decode("utf-8")  # strict: raises on anything else
    for word in ("Kovačeva", "železarni", "šivala", "Škofjo", "Čez"):
        assert word in text, word
    assert text == export_text(catalogue["db"], catalogue["public"], fmt)


def test_vtt_export_carries_the_recording_notes(catalogue: dict[str, Any]) -> None:
    recording = catalogue["recording"]
    text = export_text(catalogue["db"], catalogue["public"], "vtt")
    lines = text.splitlines()
    assert lines[0] == "WEBVTT"
    assert f"NOTE livingmemory recording={recording['id']}" in lines
    assert f"NOTE livingmemory sha256={recording['sha256']}" in lines
    assert "NOTE livingmemory duration=3600.000" in lines
    # "&" and "<" in the text are escaped in WebVTT and come back as typed.
    assert "Čez most &amp; &lt;potok&gt; ste hodili?" in text
    assert loads(text, "vtt").notes["recording"] == str(recording["id"])


def test_speakers_survive_every_format(catalogue: dict[str, Any]) -> None:
    db, recording_id = catalogue["db"], catalogue["public"]
    vtt = export_text(db, recording_id, "vtt")
    assert f"<v {INTERVIEWER}>Kje ste se rodili, gospa Kovačeva?" in vtt
    assert f"<v {NARRATOR}>Rodila sem se v Kranju, leta 1932." in vtt

    srt = export_text(db, recording_id, "srt")
    assert f"{NARRATOR}: Rodila sem se v Kranju, leta 1932." in srt.splitlines()
    assert f"{NARRATOR}: Oče je delal v železarni, mama je šivala." in srt.splitlines()

    txt = export_text(db, recording_id, "txt")
    # A label on every change of speaker (turns), none where the same speaker goes on.
    turns = [line for line in txt.splitlines() if ": " in line and line.startswith("[")]
    assert [line.split("] ", 1)[1].split(":")[0] for line in turns] == [
        INTERVIEWER, NARRATOR, INTERVIEWER, NARRATOR
    ]  # fmt: skip
    assert any(
        line.endswith("] Oče je delal v železarni, mama je šivala.") for line in txt.splitlines()
    )

    cues = json.loads(export_text(db, recording_id, "json"))["cues"]
    assert [c["speaker"] for c in cues] == [speaker for _, _, speaker, _ in ROWS]

    record = parse_ohms(export_text(db, recording_id, "ohms"))
    assert [c.speaker for c in record["cues"]] == [speaker for _, _, speaker, _ in ROWS]


def test_json_export_has_entities_and_words(catalogue: dict[str, Any]) -> None:
    document = json.loads(export_text(catalogue["db"], catalogue["public"], "json"))
    cues = document["cues"]
    ids = catalogue["segments"]
    assert [c["id"] for c in cues] == [f"seg-{i}" for i in ids]
    assert document["notes"]["recording"] == str(catalogue["public"])
    # Words where the segment has them, and only there.
    assert cues[1]["words"] == WORDS
    assert all("words" not in c for i, c in enumerate(cues) if i != 1)
    # Entities from tagging, on the cue that says them.
    kranj = [e for e in cues[1]["entities"] if e["canonical"] == "Kranj"]
    assert kranj and kranj[0]["label"] == "LOC" and kranj[0]["text"] == "Kranju"
    assert kranj[0]["source"] == "machine" and 0 < kranj[0]["confidence"] <= 1
    assert 5.25 <= kranj[0]["start_seconds"] <= 9.75
    assert {"LOC"} <= {e["label"] for e in cues[4]["entities"]}
    assert "Jesenice" in {e["canonical"] for e in cues[4]["entities"]}
    topics = {e["canonical"] for c in cues for e in c.get("entities", []) if e["label"] == "TOPIC"}
    assert "ironworks" in topics
    # Each entity sits on the cue whose segment it was found in.
    stored = entity_rows(catalogue["db"], "e.recording_id = ?", (catalogue["public"],))
    assert sum(len(c.get("entities", [])) for c in cues) == len(stored)


def test_ohms_record(catalogue: dict[str, Any]) -> None:
    xml = export_text(catalogue["db"], catalogue["public"], "ohms")
    assert xml.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(xml.split("?>", 1)[1])
    namespace = "{https://www.weareavp.com/nunncenter/ohms}"
    assert root.tag == namespace + "ROOT"
    record_element = root.find(namespace + "record")
    assert record_element is not None
    for tag in ("title", "interviewee", "interviewer", "transcript", "index"):
        assert record_element.find(namespace + tag) is not None, tag

    record = parse_ohms(xml)
    assert record["id"] == str(catalogue["public"])
    assert record["title"] == TITLE
    assert record["interviewees"] == [NARRATOR]
    assert record["interviewers"] == [INTERVIEWER]
    assert record["date"] == "1987-05-12"
    assert record["duration"] == "1:00:00"
    assert record["language"] == "sl"
    assert {"Kranj", "Jesenice", "Škofja Loka"} <= set(record["keywords"])
    assert "ironworks" in record["subjects"]
    assert_cues_match(record["cues"], ROWS)
    assert record["notes"]["recording"] == str(catalogue["public"])

    first, second = record["index_points"]
    assert (first["time"], second["time"]) == (0, 130)
    assert first["title"] == "Kje ste se rodili, gospa Kovačeva? Rodila sem…"
    assert first["synopsis"].startswith("Kje ste se rodili, gospa Kovačeva? Rodila sem se v Kranju")
    assert "Šolo sem obiskovala na Jesenicah." in first["synopsis"]
    places = [k for k in first["keywords"] if k in ("Kranj", "Jesenice", "Škofja Loka")]
    assert places == ["Kranj", "Jesenice"]
    assert "ironworks" in first["subjects"] and "school" in first["subjects"]
    assert first["gps"] == gazetteer_coordinates("Kranj")
    assert first["gps_text"] == "Kranj"
    assert second["title"] == "Potem smo se preselili v Škofjo Loko."
    assert second["keywords"] == ["Škofja Loka"]
    assert second["gps"] == gazetteer_coordinates("Škofja Loka")
    assert "Škofja Loka" not in first["keywords"] and "Kranj" not in second["keywords"]


def test_export_all_writes_only_public_recordings(
    catalogue: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "izvoz"
    result = run_cli(
        "export", "--all", "--format", "vtt", "--output", folder, "--archive", catalogue["db"]
    )
    assert result.exit_code == 0, str(result)
    public, lapsed = catalogue["public"], catalogue["lapsed"]
    # Public and lapsed-embargo recordings with a transcript; the untranscribed one has no file.
    assert sorted(p.name for p in folder.iterdir()) == [
        f"recording-{public}.vtt",
        f"recording-{lapsed}.vtt",
    ]
    assert_cues_match(
        loads((folder / f"recording-{public}.vtt").read_text("utf-8"), "vtt").cues, ROWS
    )
    everything = "".join(p.read_text("utf-8") for p in folder.iterdir())
    assert LAPSED_TEXT in everything
    assert RESTRICTED_TEXT not in everything and EMBARGOED_TEXT not in everything
    assert "2 file(s)" in result.stdout


@pytest.mark.parametrize(("fmt", "suffix"), [("ohms", ".xml"), ("json", ".json"), ("srt", ".srt")])
def test_export_all_in_other_formats(
    catalogue: dict[str, Any], tmp_path: Path, fmt: str, suffix: str
) -> None:
    folder = tmp_path / fmt
    result = run_cli(
        "export", "--all", "--format", fmt, "--output", folder, "--archive", catalogue["db"]
    )
    assert result.exit_code == 0, str(result)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"recording-{catalogue[key]}{suffix}" for key in ("public", "lapsed")
    )


def test_catalogue_lists_public_recordings_in_dublin_core(
    catalogue: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "dc.csv"
    result = run_cli("export", "--catalogue", target, "--archive", catalogue["db"])
    assert result.exit_code == 0, str(result)
    text = target.read_bytes().decode("utf-8")
    rows = {row["dc:identifier"]: row for row in parse_dublin_core_csv(text)}
    expected = [catalogue[key] for key in ("public", "untranscribed", "lapsed")]
    assert sorted(rows) == sorted(f"livingmemory:{i}" for i in expected)
    row = rows[f"livingmemory:{catalogue['public']}"]
    assert row["dc:title"] == TITLE
    assert row["dc:creator"] == [NARRATOR]
    assert row["dc:contributor"] == [INTERVIEWER]
    assert {"ironworks", "family", "school"} <= set(row["dc:subject"])
    assert row["dc:date"] == "1987-05-12"
    assert row["dc:coverage"] == "Kranj"
    assert row["dc:language"] == "sl"
    assert row["dc:extent"] == "1:00:00"
    assert rows[f"livingmemory:{catalogue['untranscribed']}"]["dc:creator"] == ["Štefan Žagar"]
    assert rows[f"livingmemory:{catalogue['untranscribed']}"]["dc:subject"] == []
    for secret in ("Zaupni pogovor", "Ivan Zupan", "Pod embargom", "Ana Hribar"):
        assert secret not in text
    assert "Štefan Žagar" in text and "Zofka Čuk" in text  # not escaped


def test_export_of_a_restricted_recording_by_id_still_works(catalogue: dict[str, Any]) -> None:
    """The archive team may export any recording by number; only --all and the catalogue
    are limited to the public ones."""
    text = export_text(catalogue["db"], catalogue["restricted"], "txt")
    assert RESTRICTED_TEXT in text


def test_export_errors_are_one_line(catalogue: dict[str, Any], tmp_path: Path) -> None:
    db = catalogue["db"]
    before = snapshot(db.parent)
    cases = [
        (["export", catalogue["public"], "--format", "pdf"], "pdf"),
        (["export", catalogue["untranscribed"], "--format", "vtt"], "no transcript"),
        (["export", 99, "--format", "vtt"], "#99"),
        (["export", "--all", "--format", "vtt"], "--output"),
        (["export"], "--all"),
    ]
    for args, expected in cases:
        line = assert_one_line_error(run_cli(*args, "--archive", db))
        assert expected in line, line
    assert snapshot(db.parent) == before


def test_export_all_in_an_unknown_format_is_one_line(
    catalogue: dict[str, Any], tmp_path: Path
) -> None:
    folder = tmp_path / "nowhere"
    result = run_cli(
        "export", "--all", "--format", "pdf", "--output", folder, "--archive", catalogue["db"]
    )
    assert "pdf" in assert_one_line_error(result)
    assert not folder.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["export", 1, "--format", "vtt", "--output", "{missing}/f.vtt"],
        ["export", "--catalogue", "{missing}/dc.csv"],
        ["export", "--all", "--format", "vtt", "--output", "{file}"],
    ],
    ids=["recording", "catalogue", "all-onto-a-file"],
)
def test_export_to_an_unwritable_place_is_one_line(
    catalogue: dict[str, Any], tmp_path: Path, args: list[Any]
) -> None:
    existing = tmp_path / "obstaja.txt"
    existing.write_text("ne prepiši me", encoding="utf-8")
    places = {"missing": tmp_path / "ni-mape", "file": existing}
    args = [str(a).format(**places) for a in args]
    result = run_cli(*args, "--archive", catalogue["db"])
    assert_one_line_error(result)
    assert existing.read_text(encoding="utf-8") == "ne prepiši me"


# -- round trip and imports ---------------------------------------------------------------------


@pytest.fixture
def interview(archive_db: Path) -> dict[str, Any]:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title=TITLE, narrators=[NARRATOR])
        ids = write_transcript(archive, recording_id, ROWS, words={1: WORDS})
    return {"db": archive_db, "id": recording_id, "segments": ids}


def current_rows(archive_db: Path, recording_id: int) -> list[tuple[Any, ...]]:
    return [
        (s["start"], s["end"], s["speaker"], s["text"])
        for s in db_rows(
            archive_db,
            "SELECT s.* FROM segments s JOIN current_transcripts c "
            "ON c.transcript_id = s.transcript_id WHERE c.recording_id = ? ORDER BY s.position",
            (recording_id,),
        )
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_export_then_import_keeps_the_text(
    interview: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    db, recording_id = interview["db"], interview["id"]
    target = tmp_path / f"roundtrip.{fmt}"
    target.write_text(export_text(db, recording_id, fmt), encoding="utf-8")
    result = run_cli("import-transcript", recording_id, target, "--author", "Ana", "--archive", db)
    assert result.exit_code == 0, str(result)
    [human] = db_rows(db, "SELECT * FROM transcripts WHERE source = 'human'")
    [current] = db_rows(
        db, "SELECT transcript_id FROM current_transcripts WHERE recording_id = ?", (recording_id,)
    )
    assert current["transcript_id"] == human["id"]
    got = current_rows(db, recording_id)
    assert [row[2:] for row in got] == [row[2:] for row in ROWS]
    for (start, end, *_), (want_start, want_end, *_) in zip(got, ROWS, strict=True):
        assert abs(start - want_start) <= 0.01 and abs(end - want_end) <= 0.01
    # Nothing changed, so nothing was recorded as a revision.
    assert db_rows(db, "SELECT * FROM revisions") == []


IMPORTED = [
    (1.0, 4.5, NARRATOR, "Rodila sem se v Kranju."),
    (5.0, 9.25, INTERVIEWER, "Ste hodili v šolo v Žirovnici?"),
    (9.5, 12.0, NARRATOR, "Ja, vsak dan peš čez hrib."),
]
IMPORTS = {
    "srt": (
        "1\n00:00:01,000 --> 00:00:04,500\nMarija Kovač: Rodila sem se v Kranju.\n\n"
        "2\n00:00:05,000 --> 00:00:09,250\nJanez Novak: Ste hodili v šolo v Žirovnici?\n\n"
        "3\n00:00:09,500 --> 00:00:12,000\nMarija Kovač: Ja, vsak dan peš čez hrib.\n"
    ),
    "vtt": (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.500\n<v Marija Kovač>Rodila sem se v Kranju.\n\n"
        "00:00:05.000 --> 00:00:09.250\n<v Janez Novak>Ste hodili v šolo v Žirovnici?\n\n"
        "00:00:09.500 --> 00:00:12.000\n<v Marija Kovač>Ja, vsak dan peš čez hrib.\n"
    ),
    "txt": (
        "# title: Pri Kovačevih\n\n"
        "[00:00:01.000] Marija Kovač: Rodila sem se v Kranju.\n[00:00:04.500]\n"
        "[00:00:05.000] Janez Novak: Ste hodili v šolo v Žirovnici?\n[00:00:09.250]\n"
        "[00:00:09.500] Marija Kovač: Ja, vsak dan peš čez hrib.\n[00:00:12.000]\n"
    ),
    "json": json.dumps(
        {"cues": [{"start": a, "end": b, "speaker": who, "text": t} for a, b, who, t in IMPORTED]},
        ensure_ascii=False,
    ),
}


@pytest.fixture
def bare_recording(archive_db: Path) -> int:
    """A recording (3600 s) with no transcript at all."""
    with open_archive(archive_db) as archive:
        return insert_recording(archive, title="Brez prepisa", narrators=[NARRATOR])


@pytest.mark.parametrize("fmt", list(IMPORTS))
def test_import_transcript_is_current_searchable_and_taggable(
    archive_db: Path, bare_recording: int, tmp_path: Path, fmt: str
) -> None:
    source = tmp_path / f"prepis.{fmt}"
    source.write_text(IMPORTS[fmt], encoding="utf-8")
    result = run_cli(
        "import-transcript", bare_recording, source, "--author", "Ana", "--archive", archive_db
    )
    assert result.exit_code == 0, str(result)
    assert "3 cues" in result.stdout
    [human] = db_rows(archive_db, "SELECT * FROM transcripts")
    assert human["source"] == "human" and human["is_current"] == 1 and human["finished_at"]
    assert current_rows(archive_db, bare_recording) == IMPORTED

    [hit] = search_json(archive_db, "Žirovnici")
    assert hit["text"] == "Ste hodili v šolo v Žirovnici?" and hit["speaker"] == INTERVIEWER
    assert search_json(archive_db, "zirovnici")  # without diacritics too

    result = run_cli("tag", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    segments = db_rows(
        archive_db, "SELECT id, text FROM segments WHERE transcript_id = ?", (human["id"],)
    )
    places = {(e["canonical"], e["segment_id"]) for e in entity_rows(archive_db, "e.label = 'LOC'")}
    assert ("Kranj", segments[0]["id"]) in places
    assert ("Žirovnica", segments[1]["id"]) in places
    # Tagging fills the lemmas: the base form now finds the inflected one.
    assert [h["text"] for h in search_json(archive_db, "Kranj")] == ["Rodila sem se v Kranju."]


def test_import_with_a_cue_past_the_end_is_refused(
    archive_db: Path, bare_recording: int, tmp_path: Path
) -> None:
    source = tmp_path / "predolgo.srt"
    source.write_text(
        IMPORTS["srt"] + "\n4\n01:00:05,000 --> 01:00:09,000\nMarija Kovač: Konec.\n",
        encoding="utf-8",
    )
    before = snapshot(archive_db.parent)
    line = assert_one_line_error(
        run_cli("import-transcript", bare_recording, source, "--archive", archive_db)
    )
    assert "predolgo.srt" in line and "3609" in line, line
    assert snapshot(archive_db.parent) == before


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("prepis.doc", "Rodila sem se v Kranju.", "unknown transcript file type"),
        ("prazno.srt", "samo besedilo brez časov\n", "no cues"),
        ("slabo.json", "{ni json", "not valid JSON"),
        ("manjka.vtt", None, "no such file"),
    ],
)
def test_import_of_an_unreadable_file_is_refused(
    archive_db: Path, bare_recording: int, tmp_path: Path, name: str, content: str | None,
    expected: str,
) -> None:  # fmt: skip
    source = tmp_path / name
    if content is not None:
        source.write_text(content, encoding="utf-8")
    before = snapshot(archive_db.parent)
    line = assert_one_line_error(
        run_cli("import-transcript", bare_recording, source, "--archive", archive_db)
    )
    assert expected in line and name in line, line
    assert snapshot(archive_db.parent) == before


def test_import_with_an_explicit_format(
    archive_db: Path, bare_recording: int, tmp_path: Path
) -> None:
    source = tmp_path / "prepis.doc"
    source.write_text(IMPORTS["srt"], encoding="utf-8")
    result = run_cli(
        "import-transcript", bare_recording, source, "--format", "srt", "--archive", archive_db
    )
    assert result.exit_code == 0, str(result)
    before = snapshot(archive_db.parent)  # (before any read-only look leaves a -wal file)
    result = run_cli(
        "import-transcript", bare_recording, source, "--format", "pdf", "--archive", archive_db
    )
    assert "unknown transcript format" in assert_one_line_error(result)
    assert snapshot(archive_db.parent) == before
    assert current_rows(archive_db, bare_recording) == IMPORTED


def _silence(folder: Path, seconds: float) -> Path:
    """A silent mono FLAC of ``seconds`` (FLAC: a second to encode; libopus takes ~10 s here)."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg")
    target = folder / f"long-{seconds:g}.flac"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         "anullsrc=r=8000:cl=mono", "-t", str(seconds), "-c:a", "flac", str(target)],
        check=True, capture_output=True,
    )  # fmt: skip
    return target


def _add_long(archive_db: Path, folder: Path, seconds: float) -> int:
    result = run_cli(
        "add", _silence(folder, seconds), "--language", "sl", "--title", "Rog: Artur",
        "--archive", archive_db, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    [entry] = json.loads(result.stdout)
    [row] = db_rows(
        archive_db, "SELECT duration FROM recordings WHERE id = ?", (entry["recording_id"],)
    )
    assert row["duration"] >= ROG_END
    return entry["recording_id"]


@pytest.fixture
def rog_file() -> Path:
    if not ROG_FILE.is_file():
        pytest.skip(f"shared material not found at {ROG_FILE} (absent on a fresh clone)")
    return ROG_FILE


@pytest.mark.shared
def test_transcriber_file_import_is_searchable_and_taggable(
    archive_db: Path, tmp_path: Path, rog_file: Path
) -> None:
    recording_id = _add_long(archive_db, tmp_path, 1175)
    result = run_cli("import-transcript", recording_id, rog_file, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    [human] = db_rows(archive_db, "SELECT * FROM transcripts")
    assert human["source"] == "human" and human["is_current"] == 1
    segments = db_rows(
        archive_db, "SELECT * FROM segments WHERE transcript_id = ? ORDER BY position",
        (human["id"],),
    )  # fmt: skip
    assert len(segments) == 100  # <Sync> points followed by text (of 120; the rest are pauses)
    assert segments[0]["start"] == 0.0
    assert segments[0]["text"] == "Zadnjič sem si ogledali film The Assistant."
    assert {s["speaker"] for s in segments} == {"Artur-N-G6047"}
    assert max(s["end"] for s in segments) <= ROG_END

    hits = search_json(archive_db, "Kamnik")
    assert hits and all(h["recording_id"] == recording_id for h in hits)
    assert any("Kamnik" in h["text"] for h in hits)

    result = run_cli("tag", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    kamnik = entity_rows(archive_db, "e.label = 'LOC' AND e.canonical = 'Kamnik'")
    assert kamnik
    assert {e["segment_id"] for e in kamnik} <= {s["id"] for s in segments}
    # Inflected forms ("Kamnika", "Kamniku") are found once tagging has filled the lemmas.
    assert len(search_json(archive_db, "Kamnik")) >= len(hits)


@pytest.mark.shared
def test_transcriber_file_import_onto_a_longer_recording(
    archive_db: Path, tmp_path: Path, rog_file: Path
) -> None:
    """The recording (1180 s) runs on after the transcribed part (1174.6 s): every cue fits,
    so the file belongs to it; the Transcriber section end is not the audio's duration."""
    recording_id = _add_long(archive_db, tmp_path, 1180)
    result = run_cli("import-transcript", recording_id, rog_file, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert search_json(archive_db, "Kamnik")


@pytest.mark.shared
def test_transcriber_file_onto_a_short_recording_is_refused(
    archive_db: Path, tmp_path: Path, rog_file: Path, audio_files: dict[str, Path]
) -> None:
    short = copy_audio(audio_files["wav"], tmp_path)
    result = run_cli("add", short, "--archive", archive_db, "--json")
    assert result.exit_code == 0, str(result)
    [entry] = json.loads(result.stdout)
    before = snapshot(archive_db.parent)
    line = assert_one_line_error(
        run_cli("import-transcript", entry["recording_id"], rog_file, "--archive", archive_db)
    )
    assert "Rog-Art-N-G6047-P604702-std.trs" in line, line
    assert snapshot(archive_db.parent) == before


# -- multi-part interviews ------------------------------------------------------------------------


@pytest.fixture
def two_parts(archive_db: Path, audio_files: dict[str, Path], tmp_path: Path) -> dict[str, Any]:
    part1 = copy_audio(audio_files["wav"], tmp_path / "tapes", "part1.wav")
    part2 = copy_audio(audio_files["en_wav"], tmp_path / "tapes", "part2.wav")
    ids = []
    for number, path in ((1, part1), (2, part2)):
        result = run_cli(
            "add", path, "--interview", "T1", "--part", number, "--title", f"Trak {number}",
            "--archive", archive_db, "--json",
        )  # fmt: skip
        assert result.exit_code == 0, str(result)
        [entry] = json.loads(result.stdout)
        assert entry["status"] == "added", entry
        ids.append(entry["recording_id"])
    rows = {
        ids[0]: [(0.5, 2.0, NARRATOR, "Rodila sem se v Kranju."),
                 (2.25, 3.5, NARRATOR, "Mama je bila šivilja.")],
        ids[1]: [(0.25, 1.75, NARRATOR, "Oče je delal v železarni."),
                 (2.0, 3.0, INTERVIEWER, "Hvala za pogovor.")],
    }  # fmt: skip
    with open_archive(archive_db) as archive:
        for recording_id, cues in rows.items():
            write_transcript(archive, recording_id, cues)
    recordings = {
        r["id"]: r
        for r in db_rows(archive_db, "SELECT id, duration, interview_key, part FROM recordings")
    }
    return {"db": archive_db, "ids": ids, "rows": rows, "recordings": recordings}


def test_parts_are_stored_with_their_interview(two_parts: dict[str, Any]) -> None:
    first, second = two_parts["ids"]
    recordings = two_parts["recordings"]
    assert (recordings[first]["interview_key"], recordings[first]["part"]) == ("T1", 1)
    assert (recordings[second]["interview_key"], recordings[second]["part"]) == ("T1", 2)
    assert 2.0 < recordings[first]["duration"] < 10.0


def test_search_reports_the_time_in_the_whole_interview(two_parts: dict[str, Any]) -> None:
    db = two_parts["db"]
    first, second = two_parts["ids"]
    part1 = two_parts["recordings"][first]["duration"]
    [hit] = search_json(db, "železarni")
    assert hit["recording_id"] == second
    assert (hit["interview_key"], hit["part"]) == ("T1", 2)
    assert hit["start"] == pytest.approx(0.25)
    assert hit["interview_start"] == pytest.approx(0.25 + part1)
    [hit] = search_json(db, "Kranju")
    assert hit["recording_id"] == first
    assert hit["interview_start"] == pytest.approx(hit["start"]) == pytest.approx(0.5)
    text = run_cli("search", "železarni", "--archive", db).stdout
    assert "interview T1" in text, text


@pytest.mark.parametrize("fmt", ["vtt", "json", "srt"])
def test_export_interview_time_shifts_part_two(two_parts: dict[str, Any], fmt: str) -> None:
    db = two_parts["db"]
    first, second = two_parts["ids"]
    part1 = two_parts["recordings"][first]["duration"]
    plain = loads(export_text(db, second, fmt), fmt)
    assert_cues_match(plain.cues, two_parts["rows"][second])
    shifted = loads(export_text(db, second, fmt, "--interview-time"), fmt)
    assert_cues_match(shifted.cues, two_parts["rows"][second], shift=part1)
    if fmt != "srt":
        assert shifted.notes["interview"] == "T1"
        assert float(shifted.notes["offset"]) == pytest.approx(part1, abs=0.001)
    # Part 1 starts the interview: nothing to shift.
    same = loads(export_text(db, first, fmt, "--interview-time"), fmt)
    assert_cues_match(same.cues, two_parts["rows"][first])


def test_ohms_interview_time_shifts_the_index(two_parts: dict[str, Any]) -> None:
    db = two_parts["db"]
    first, second = two_parts["ids"]
    part1 = two_parts["recordings"][first]["duration"]
    record = parse_ohms(export_text(db, second, "ohms", "--interview-time"))
    assert [p["time"] for p in record["index_points"]] == [int(0.25 + part1)]
    assert_cues_match(record["cues"], two_parts["rows"][second], shift=part1)


def test_part_without_interview_is_refused(
    archive_db: Path, audio_files: dict[str, Path], tmp_path: Path
) -> None:
    source = copy_audio(audio_files["wav"], tmp_path / "tapes")
    before = snapshot(archive_db.parent)
    result = run_cli("add", source, "--part", 2, "--archive", archive_db)
    line = assert_one_line_error(result)
    assert "--interview" in line, line
    assert result.stdout.strip() == ""
    assert snapshot(archive_db.parent) == before
