"""``livingmemory verify`` and fixity at publish: a flipped byte or a deleted recording is
reported in one line, and never published (nor a traceback)."""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path

import pytest
from support import run_cli, sha256

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive, utc_now


def _store(archive_db: Path, name: str, seed: int, access: str = "public") -> int:
    """A recording written into the archive as ``add`` leaves it (read-only file, SHA-256)."""
    folder = archive_db.parent / "recordings"
    path = folder / name
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes((i * seed) % 256 for i in range(16000)))
    path.chmod(0o444)
    with open_archive(archive_db) as archive:
        recording_id = (
            archive.db["recordings"]
            .insert(
                {"title": f"Posnetek {seed}", "file_path": f"recordings/{name}",
                 "original_filename": name, "sha256": sha256(path),
                 "size_bytes": path.stat().st_size, "format": "wav", "duration": 1.0,
                 "access": access, "added_at": utc_now()}
            )
            .last_pk
        )  # fmt: skip
        archive.db.conn.commit()
    return recording_id


def _flip_a_byte(path: Path) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.fixture
def stored(tmp_path: Path) -> dict:
    archive_db = init_archive(tmp_path / "archive" / "archive.db").archive
    ids = [_store(archive_db, f"tape-{n}.wav", n + 3) for n in range(3)]
    return {"db": archive_db, "ids": ids, "root": archive_db.parent}


def test_verify_passes_an_intact_archive(stored: dict) -> None:
    result = run_cli("verify", "--archive", stored["db"])
    assert result.exit_code == 0, str(result)
    assert "3 recording(s)" in result.stdout


def test_verify_reports_a_flipped_byte_and_a_missing_file_one_line_each(stored: dict) -> None:
    root = stored["root"]
    _flip_a_byte(root / "recordings" / "tape-0.wav")
    (root / "recordings" / "tape-2.wav").unlink()
    result = run_cli("verify", "--archive", stored["db"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None
    lines = result.lines
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"#{stored['ids'][0]} recordings/tape-0.wav: changed")
    assert lines[1].startswith(f"#{stored['ids'][2]} recordings/tape-2.wav: missing")
    as_json = json.loads(run_cli("verify", "--archive", stored["db"], "--json").stdout)
    assert as_json["checked"] == 3 and len(as_json["problems"]) == 2


def test_verify_reports_a_damaged_archive_file(stored: dict) -> None:
    # A dangling foreign key (written with enforcement off) is the mildest kind of damage.
    conn = sqlite3.connect(stored["db"])
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(
        "INSERT INTO recording_people (recording_id, person_id, role) VALUES (?, 9999, 'narrator')",
        [stored["ids"][0]],
    )
    conn.commit()
    conn.close()
    result = run_cli("verify", "--archive", stored["db"])
    assert result.exit_code == 1
    assert any("foreign key" in line for line in result.lines), str(result)


def _public_ids(stored: dict) -> set[int]:
    with sqlite3.connect(stored["root"] / PUBLIC_DIR / PUBLIC_DB) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM recordings")}


def _public_audio(stored: dict) -> list[Path]:
    return sorted((stored["root"] / PUBLIC_DIR / "recordings").glob("*.wav"))


def test_publish_withholds_a_changed_recording(stored: dict) -> None:
    _flip_a_byte(stored["root"] / "recordings" / "tape-1.wav")
    result = run_cli("publish", "--archive", stored["db"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None
    assert len(result.error_lines) == 1
    assert f"#{stored['ids'][1]}" in result.stderr and "changed" in result.stderr
    assert "withheld" in result.stderr
    assert _public_ids(stored) == {stored["ids"][0], stored["ids"][2]}  # the others are out
    assert len(_public_audio(stored)) == 2  # no copy made from the damaged file


def test_publish_with_a_deleted_recording_is_one_line(stored: dict) -> None:
    assert run_cli("publish", "--archive", stored["db"]).exit_code == 0
    os.unlink(stored["root"] / "recordings" / "tape-0.wav")
    result = run_cli("publish", "--archive", stored["db"])
    assert result.exit_code == 1, str(result)
    assert result.exception is None
    assert len(result.error_lines) == 1 and "missing" in result.stderr
    assert _public_ids(stored) == {stored["ids"][1], stored["ids"][2]}


# -- after publishing (issue 21): a file damaged once public is withheld, never re-copied ------


@pytest.mark.parametrize("damage", ["flac", "mp3", "opus", "flip then title edit", "truncated"])
def test_a_file_damaged_after_it_was_published_is_withheld(
    damage: str, archive_db: Path, audio_files: dict[str, Path]
) -> None:
    from test_publish import add_recording, archive_file

    fmt = damage if damage in ("flac", "mp3", "opus") else "wav"
    ids = [
        add_recording(archive_db, audio_files[key], "--access", "public", "--consent", "da")
        for key in (fmt, "en_wav")
    ]
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    stored = {"root": archive_db.parent}
    assert _public_ids(stored) == set(ids)
    path = archive_file(archive_db.parent, ids[0])
    original = path.read_bytes()
    if damage == "truncated":
        path.chmod(0o644)
        path.write_bytes(original[: len(original) // 2])
    else:
        _flip_a_byte(path)
    if damage == "flip then title edit":
        assert (
            run_cli("edit", str(ids[0]), "--title", "Nov", "--archive", archive_db).exit_code == 0
        )
    for full in ([], ["--full"], []):
        result = run_cli("publish", *full, "--archive", archive_db)
        assert result.exit_code == 1, (full, str(result))
        assert len(result.error_lines) == 1 and f"#{ids[0]}" in result.stderr, str(result)
        assert _public_ids(stored) == {ids[1]}
        audio = list((archive_db.parent / PUBLIC_DIR / "recordings").iterdir())
        assert len(audio) == 1  # only the intact recording's copy
    path.write_bytes(original)  # restored from a backup: published again
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    assert _public_ids(stored) == set(ids)


def test_verify_names_a_file_no_recording_owns_and_add_says_it_took_it(
    archive_db: Path, audio_files: dict[str, Path], tmp_path: Path
) -> None:
    from livingmemory.ingest.add import stable_name

    source = tmp_path / "tape.wav"
    source.write_bytes(audio_files["wav"].read_bytes())
    # what an add killed between moving its copy in and committing leaves behind
    orphan = archive_db.parent / "recordings" / stable_name(source, sha256(source))
    orphan.write_bytes(source.read_bytes())
    result = run_cli("verify", "--archive", archive_db)
    assert result.exit_code == 1, str(result)
    assert orphan.name in result.stdout + result.stderr and "no recording owns" in str(result)
    added = run_cli("add", str(source), "--archive", archive_db)
    assert added.exit_code == 0, str(added)
    assert "took the copy" in added.stderr and orphan.name in added.stderr  # never silently
    assert run_cli("verify", "--archive", archive_db).exit_code == 0
