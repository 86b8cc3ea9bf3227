"""Published audio is clean: no tags, pictures or chapters from the volunteer's file, the
extension (and so the content type) of what the file is, the same codec after a redaction,
and never the file's name as the public title."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support import MONO_FORMATS, add_json, copy_audio, db_rows, run_cli

from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.site.plugin import AUDIO_TYPES

SECRET = "QZ12 telefon 041 555 123"
EXPECTED_EXTENSION = {"wav": ".wav", "flac": ".flac", "mp3": ".mp3", "m4a": ".m4a",
                      "ogg": ".ogg", "opus": ".opus"}  # fmt: skip


def _tagged_copy(source: Path, target: Path) -> Path:
    """``source`` with private tags (comment, artist, title) written by ffmpeg."""
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-c:a", "copy",
         "-metadata", f"comment={SECRET}", "-metadata", f"artist=Marija {SECRET}",
         "-metadata", f"title=Naslov {SECRET}", str(target)],
        check=True,
    )  # fmt: skip
    assert SECRET.encode() in target.read_bytes()
    return target


def _probe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def published(audio_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("clean")
    archive_db = root / "archive" / "archive.db"
    assert run_cli("init", archive_db).exit_code == 0
    ids = {}
    for key in MONO_FORMATS:
        tagged = _tagged_copy(audio_files[key], root / "in" / f"Novak Marija QZ34 {key}.{key}")
        result, rows = add_json(archive_db, tagged, "--access", "public")
        assert result.exit_code == 0, str(result)
        ids[key] = rows[0]["recording_id"]
    # A FLAC file that was given an .mp3 name.
    wrong = copy_audio(audio_files["flac"], root / "in", "misnamed QZ34.mp3")
    result, rows = add_json(archive_db, wrong, "--access", "public", "--title", "Napačno ime")
    assert result.exit_code == 0, str(result)
    ids["misnamed"] = rows[0]["recording_id"]
    for key in ("opus", "mp3"):
        result = run_cli("redact", ids[key], "--start", "1", "--end", "2", "--archive", archive_db)
        assert result.exit_code == 0, str(result)
    result = run_cli("publish", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    public = archive_db.parent / PUBLIC_DIR
    rows = {r["id"]: r for r in db_rows(public / PUBLIC_DB, "SELECT * FROM recordings")}
    with open_archive(archive_db) as archive:
        originals = {key: dict(archive.db["recordings"].get(rid)) for key, rid in ids.items()}
    return {"ids": ids, "rows": rows, "audio": public / AUDIO_DIR, "originals": originals}


def _public_file(published: dict, key: str) -> Path:
    url = published["rows"][published["ids"][key]]["audio_url"]
    return published["audio"] / url.rsplit("/", 1)[1]


@pytest.mark.parametrize("key", MONO_FORMATS)
def test_public_audio_has_no_tags(published: dict, key: str) -> None:
    path = _public_file(published, key)
    data = path.read_bytes()
    assert b"QZ12" not in data and b"qz12" not in data.lower()
    info = _probe(path)
    tags = {**info["format"].get("tags", {})}
    for stream in info["streams"]:
        tags.update(stream.get("tags", {}))
    assert not {k.lower() for k in tags} & {"comment", "artist", "title", "description"}, tags
    assert [s["codec_type"] for s in info["streams"]] == ["audio"]


@pytest.mark.parametrize("key", MONO_FORMATS)
def test_public_audio_keeps_its_codec_and_gets_the_right_extension(
    published: dict, key: str
) -> None:
    path = _public_file(published, key)
    assert path.suffix == EXPECTED_EXTENSION[key]
    original = published["originals"][key]
    [stream] = _probe(path)["streams"]
    assert stream["codec_name"] == original["codec"]  # a redacted Opus stays Opus
    assert path.suffix in AUDIO_TYPES


def test_a_misnamed_flac_is_published_as_flac(published: dict) -> None:
    path = _public_file(published, "misnamed")
    assert path.suffix == ".flac"
    assert AUDIO_TYPES[path.suffix] == "audio/flac"
    assert _probe(path)["streams"][0]["codec_name"] == "flac"


def test_the_file_name_is_never_the_public_title(published: dict) -> None:
    for key in MONO_FORMATS:
        row = published["rows"][published["ids"][key]]
        assert "QZ34" not in row["title"]
        assert row["title"] == f"Posnetek {published['ids'][key]}"
    assert published["rows"][published["ids"]["misnamed"]]["title"] == "Napačno ime"


def test_copies_made_before_tags_were_stripped_are_made_again(
    audio_files: dict[str, Path], tmp_path: Path
) -> None:
    """An archive published by an older release has tagged copies under the same names."""
    archive_db = tmp_path / "archive" / "archive.db"
    assert run_cli("init", archive_db).exit_code == 0
    tagged = _tagged_copy(audio_files["mp3"], tmp_path / "in" / "old.mp3")
    result, _ = add_json(archive_db, tagged, "--access", "public", "--title", "Star posnetek")
    assert result.exit_code == 0, str(result)
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    public = archive_db.parent / PUBLIC_DIR
    [copy] = list((public / AUDIO_DIR).iterdir())
    copy.write_bytes(tagged.read_bytes())  # what an older release published
    conn = sqlite3.connect(public / PUBLIC_DB)
    conn.execute("PRAGMA user_version = 0")  # as an older release left it
    conn.commit()
    conn.close()
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    assert b"QZ12" not in copy.read_bytes()
    before = copy.stat().st_mtime_ns
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    assert copy.stat().st_mtime_ns == before  # made once, then left alone
