"""``livingmemory demo``: an archive built from the shipped example interviews."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import REPO, list_json, run_cli, show_json, snapshot

EXAMPLES = REPO / "livingmemory" / "data" / "examples"


# What other tests write into the repository while this one runs beside them (pytest-xdist):
# screenshots and figures, and the test tools' caches.
TEST_OUTPUTS = {"test-artifacts", ".pytest_cache", ".hypothesis"}


def repo_listing() -> list[str]:
    return sorted(p.name for p in REPO.iterdir() if p.name not in TEST_OUTPUTS)


@pytest.mark.slow
def test_demo_builds_archive_then_adds_nothing_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not EXAMPLES.is_dir():
        pytest.fail(f"{EXAMPLES} is part of the repository and must exist")
    monkeypatch.chdir(REPO)
    examples_before = {p.name: p.read_bytes() for p in EXAMPLES.iterdir()}
    repo_entries = repo_listing()
    target = tmp_path / "demo"

    first = run_cli("demo", "--dir", target, "--no-serve")
    assert first.exit_code == 0, str(first)
    archive_db = target / "archive.db"
    rows = list_json(archive_db)
    assert len(rows) == 3
    assert sorted(row["access"] for row in rows) == ["public", "public", "restricted"]
    assert {row["language"] for row in rows} == {"sl", "en"}
    assert all(row["state"] == "tagged" and row["narrators"] for row in rows)
    assert "3 recordings (2 public, 3 transcribed, 3 tagged)" in " ".join(first.stdout.split())
    english = next(row for row in rows if row["language"] == "en")
    text = " ".join(s["text"] for s in show_json(archive_db, english["id"])["transcript"])
    assert "Bohinj" in text and "father" in text.lower()
    # Sidecar metadata went in, people included.
    people = {p["name"] for row in rows for p in show_json(archive_db, row["id"])["people"]}
    assert {"Marija Košir", "John Novak", "Ana Zupan"} <= people
    formats = sorted(show_json(archive_db, row["id"])["format"] for row in rows)
    assert formats == ["mp3", "ogg", "opus"]
    # The map (issue 25): the public interviews' places from their metadata are located
    # (recorded in Kranj and Bohinjska Bistrica, a narrator from Jesenice), the private one's
    # (Škofja Loka) is not public.
    from livingmemory.archive.sqlite import sqlite3

    with sqlite3.connect(target / "public" / "public.db") as conn:
        located = {row[0] for row in conn.execute("SELECT name FROM map_places")}
    assert {"Kranj", "Bohinjska Bistrica", "Jesenice"} <= located
    assert "Škofja Loka" not in located
    before = snapshot(target)

    second = run_cli("demo", "--dir", target, "--no-serve")
    assert second.exit_code == 0, str(second)
    assert len(list_json(archive_db)) == 3
    assert " ".join(second.stdout.split()).count("duplicate") == 3
    assert snapshot(target) == before
    # The shipped examples were only read.
    assert {p.name: p.read_bytes() for p in EXAMPLES.iterdir()} == examples_before
    assert repo_listing() == repo_entries  # nothing left in the repo


def test_demo_without_transcription_only_adds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = run_cli("demo", "--dir", tmp_path / "demo", "--no-serve", "--no-transcribe")
    assert result.exit_code == 0, str(result)
    rows = list_json(tmp_path / "demo" / "archive.db")
    assert [row["state"] for row in rows] == ["added"] * 3
    assert "0 transcribed" in " ".join(result.stdout.split())


def test_demo_runs_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples ship inside the package, so no project checkout is needed."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_cli("demo", "--dir", "demo", "--no-serve", "--no-transcribe")
    assert result.exit_code == 0, str(result)
    rows = list_json(elsewhere / "demo" / "archive.db")
    assert len(rows) == 3 and {row["access"] for row in rows} == {"public", "restricted"}
    assert sorted(p.name for p in elsewhere.iterdir()) == ["demo"]


def test_project_examples_folder_is_the_shipped_one() -> None:
    """``add recordings/examples/*`` keeps working in the project folder."""
    linked = REPO / "recordings" / "examples"
    assert linked.resolve() == EXAMPLES.resolve()
    assert len(list(EXAMPLES.glob("*.yml"))) == 3
