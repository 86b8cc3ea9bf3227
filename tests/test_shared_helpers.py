"""The helpers every stage shares, each written once: time codes, file hashes and atomic
writes, who the current user is, and who is in a recording."""

from __future__ import annotations

import getpass
import os
import stat
from pathlib import Path

import pytest
from support import insert_recording, sha256

from livingmemory.archive.files import (
    atomic_output,
    atomic_write_text,
    partial_path,
    remove_stale_partials,
    sha256_file,
)
from livingmemory.archive.store import current_user, init_archive, open_archive, people_names_sql
from livingmemory.ingest.add import link_people
from livingmemory.ingest.metadata import Person
from livingmemory.timecodes import clock, hms, minutes_seconds, timecode

# -- time codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "00:00:00"),
        (59.999, "00:00:59"),  # a start time is rounded down: the words begin in that second
        (3599.9, "00:59:59"),
        (3600, "01:00:00"),
        (100 * 3600 + 61, "100:01:01"),  # hours grow, never wrap
    ],
)
def test_hms_rounds_start_times_down(seconds: float, expected: str) -> None:
    assert hms(seconds) == expected


def test_durations_round_to_the_nearest_second() -> None:
    assert hms(3599.6, pad_hours=False, nearest=True) == "1:00:00"
    assert hms(3599.6, pad_hours=False) == "0:59:59"
    assert clock(59.6, pad_minutes=False, nearest=True) == "1:00"


@pytest.mark.parametrize(
    ("seconds", "expected"), [(None, "00:00"), (65, "01:05"), (3725.9, "1:02:05")]
)
def test_clock_shows_hours_only_from_an_hour_on(seconds: float | None, expected: str) -> None:
    assert clock(seconds) == expected


def test_minutes_seconds_runs_past_an_hour() -> None:
    assert minutes_seconds(4500.7) == "75:00"


def test_exact_timecodes_for_the_formats() -> None:
    assert timecode(65.25) == "00:01:05.250"
    assert timecode(65.2506, ",") == "00:01:05,251"
    with pytest.raises(ValueError, match="negative"):
        timecode(-0.5)
    with pytest.raises(ValueError, match="finite"):
        timecode(float("nan"))


# -- hashes and atomic writes ----------------------------------------------------------------


def test_sha256_file_reads_large_files_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(3 * (1 << 20) + 17))  # more than one 1 MiB block
    assert sha256_file(path) == sha256(path)


def test_a_failed_atomic_write_leaves_the_old_file_and_no_partial(tmp_path: Path) -> None:
    target = tmp_path / "users.yml"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_output(target) as file:
        file.write(b"half of the new")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["users.yml"]


def test_atomic_write_sets_the_finished_files_mode(tmp_path: Path) -> None:
    secret = atomic_write_text(tmp_path / "users.yml", "ana: hash\n", mode=0o600)
    public = atomic_write_text(tmp_path / "model.json", "{}\n")
    assert secret.read_text(encoding="utf-8") == "ana: hash\n"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644


def test_stale_partials_go_and_a_live_writers_stays(tmp_path: Path) -> None:
    target = tmp_path / "tape.wav"
    mine = partial_path(target)
    assert mine != partial_path(target)  # two writers never share a partial name
    dead = tmp_path / f".{target.name}.999999999-dead.partial"
    older = tmp_path / f".{target.name}.partial"
    for path in (mine, dead, older):
        path.write_bytes(b"half")
    remove_stale_partials(target)
    assert mine.exists() and not dead.exists() and not older.exists()


# -- who ------------------------------------------------------------------------------------


def test_current_user_prefers_the_archive_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVINGMEMORY_USER", "Ana Zupan")
    assert current_user() == "Ana Zupan"


def test_current_user_falls_back_to_the_login_then_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVINGMEMORY_USER")
    monkeypatch.setattr(getpass, "getuser", lambda: "mojca")
    assert current_user() == "mojca"

    def no_login() -> str:
        raise OSError("no user database")

    monkeypatch.setattr(getpass, "getuser", no_login)
    assert current_user() is None


def test_people_of_a_recording_in_one_order(tmp_path: Path) -> None:
    db = init_archive(tmp_path / "archive.db").archive
    with open_archive(db) as archive:
        recording_id = insert_recording(archive, narrators=["Marija Košir", "Janez Novak"])
        with archive.db.atomic():
            link_people(archive, recording_id, "interviewer", [Person("Ana Zupan")])
        names = archive.people_names(recording_id)
        narrators_sql = archive.db.execute(
            f"SELECT {people_names_sql('narrator', '?')}", [recording_id]
        ).fetchone()[0]
        record = archive.recording(recording_id)
    assert names == ["Ana Zupan", "Marija Košir", "Janez Novak"]  # interviewers first
    assert narrators_sql == "Marija Košir; Janez Novak"  # the volunteer's order
    assert [p["name"] for p in record["people"]] == ["Marija Košir", "Janez Novak", "Ana Zupan"]
    with pytest.raises(ValueError):
        people_names_sql("narrator'; DROP TABLE people; --")
