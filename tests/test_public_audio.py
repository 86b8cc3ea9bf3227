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


def _ffmpeg_wrapper(folder: Path, fail_on: str = "") -> Path:
    """An ffmpeg that logs when each copy starts and ends (and fails on ``fail_on``)."""
    real = subprocess.run(["which", "ffmpeg"], capture_output=True, text=True).stdout.strip()
    script = folder / "ffmpeg-logged"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "start $(date +%s.%N)" >> "{folder}/ffmpeg.log"\n'
        "sleep 0.3\n"
        + (f'case "$*" in *{fail_on}*) echo "Invalid data found" >&2; exit 1;; esac\n'
           if fail_on else "")
        + f'"{real}" "$@"; status=$?\n'
        f'echo "end $(date +%s.%N)" >> "{folder}/ffmpeg.log"\n'
        "exit $status\n"
    )  # fmt: skip
    script.chmod(0o755)
    return script


def _archive_of_every_format(audio_files: dict[str, Path], root: Path) -> tuple[Path, list[int]]:
    archive_db = root / "archive" / "archive.db"
    assert run_cli("init", archive_db).exit_code == 0
    ids = []
    for key in MONO_FORMATS:
        result, rows = add_json(archive_db, audio_files[key], "--access", "public")
        assert result.exit_code == 0, str(result)
        ids.append(rows[0]["recording_id"])
    return archive_db, ids


def test_public_copies_are_made_on_every_core(
    audio_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first publish is mostly one ffmpeg run per recording: they run side by side."""
    import os

    from livingmemory.site import publish as publishing

    archive_db, ids = _archive_of_every_format(audio_files, tmp_path)
    wrapper = _ffmpeg_wrapper(tmp_path)
    monkeypatch.setattr(publishing, "require_ffmpeg", lambda: (str(wrapper), "ffprobe"))
    with open_archive(archive_db) as archive:
        result = publishing.publish(archive)
    assert sorted(result.recordings) == sorted(ids)
    audio = archive_db.parent / PUBLIC_DIR / AUDIO_DIR
    assert len([p for p in audio.iterdir() if not p.name.startswith(".")]) == len(ids)
    lines = (tmp_path / "ffmpeg.log").read_text().split()
    events = sorted(
        (float(stamp), kind) for kind, stamp in zip(lines[::2], lines[1::2], strict=True)
    )
    running = most = 0
    for _, kind in events:
        running += 1 if kind == "start" else -1
        most = max(most, running)
    assert len(events) == 2 * len(ids)
    assert most == min(len(ids), os.cpu_count() or 1)


def test_a_failed_public_copy_leaves_the_published_state_as_it_was(
    audio_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One copy that ffmpeg cannot make stops the publish with one line; the copies made
    beside it are removed and the public site keeps what it had."""
    from livingmemory.errors import LivingMemoryError
    from livingmemory.site import publish as publishing

    archive_db, ids = _archive_of_every_format(audio_files, tmp_path)
    with open_archive(archive_db) as archive:
        first = publishing.publish(archive)
        failing = archive.db["recordings"].get(ids[2])["file_path"]
    public = archive_db.parent / PUBLIC_DIR
    before = sorted(p.name for p in (public / AUDIO_DIR).iterdir())
    assert len(before) == len(ids) == len(first.recordings)
    rows_before = db_rows(public / PUBLIC_DB, "SELECT id, audio_url FROM recordings")
    for rid in ids[1:4]:  # three redactions: three new copies to make, one of them fails
        result = run_cli("redact", rid, "--start", "1", "--end", "2", "--archive", archive_db)
        assert result.exit_code == 0, str(result)
    wrapper = _ffmpeg_wrapper(tmp_path, fail_on=Path(failing).name)
    monkeypatch.setattr(publishing, "require_ffmpeg", lambda: (str(wrapper), "ffprobe"))
    for full in (False, True):
        with (
            open_archive(archive_db) as archive,
            pytest.raises(LivingMemoryError, match="could not make the public copy"),
        ):
            publishing.publish(archive, full=full)
        assert sorted(p.name for p in (public / AUDIO_DIR).iterdir()) == before  # no partials
        assert db_rows(public / PUBLIC_DB, "SELECT id, audio_url FROM recordings") == rows_before
    result = run_cli("publish", "--archive", archive_db)
    assert result.exit_code == 1 and result.exception is None, str(result)
    assert len(result.error_lines) == 1, result.lines  # one line, no traceback
    assert "could not make the public copy" in result.error_lines[0]
