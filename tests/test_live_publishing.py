"""Publishing that follows the archive (issue 21), in-process: the workspace's "Objavi" page
(preview, a background publish with progress, history with who and when), interviews
marked "čaka na objavo", withdrawals from the workspace and the CLI that take effect without
a publish, and warnings that follow corrections."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from support import run_cli
from test_workspace import Client, add_one, put_transcript

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.review.revisions import recordings_needing_attention
from livingmemory.review.workspace import Line, edit_recording, editor_lines, interviews
from livingmemory.site.live import due, preview
from livingmemory.site.publish import publish


def public_ids(archive_db: Path) -> set[int]:
    with sqlite3.connect(archive_db.parent / PUBLIC_DIR / PUBLIC_DB) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM recordings")}


def public_archive(archive_db: Path, audio_files: dict[str, Path]) -> list[int]:
    """Two public interviews with transcripts, published; a third added after."""
    options = ("--access", "public", "--consent", "da", "--narrator", "Marija Kovač")
    ids = [
        add_one(archive_db, audio_files[key], *options, "--title", title)
        for key, title in (("wav", "Prvi"), ("flac", "Drugi"))
    ]
    for rid in ids:
        put_transcript(archive_db, rid, ["ena", "dva", "tri"])
    with open_archive(archive_db) as archive:
        publish(archive)
    ids.append(add_one(archive_db, audio_files["mp3"], "--access", "public", "--consent", "da"))
    return ids


def test_the_cli_edit_withdraws_at_once(archive_db: Path, audio_files) -> None:
    ids = public_archive(archive_db, audio_files)
    result = run_cli("edit", str(ids[0]), "--access", "omejeno", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert "removed from the public site" in result.stdout
    assert public_ids(archive_db) == {ids[1]}  # nobody ran publish
    with open_archive(archive_db) as archive:
        assert due(archive) == []
        run = archive.db.execute("SELECT kind, status FROM publish_runs").fetchall()
    assert run == [("withdrawals", "done")]


def test_preview_says_what_publish_will_change(archive_db: Path, audio_files) -> None:
    ids = public_archive(archive_db, audio_files)
    with open_archive(archive_db) as archive:
        archive.db.execute("UPDATE recordings SET title = 'Popravljen' WHERE id = ?", [ids[1]])
        archive.db.conn.commit()
        plan = preview(archive)
        assert [r["id"] for r in plan.new] == [ids[2]]
        assert [r["id"] for r in plan.changed] == [ids[1]]
        assert plan.withdrawn == [] and plan.pending == {ids[1], ids[2]}
        assert {r["id"]: r["pending"] for r in _listing(archive)} == {
            ids[0]: False, ids[1]: True, ids[2]: True}  # fmt: skip
        publish(archive)
        assert preview(archive).pending == set()
    cli = run_cli("publish", "--preview", "--archive", archive_db)
    assert cli.exit_code == 0 and "nothing to publish" in cli.stdout


def _listing(archive):  # the workspace list with its "čaka na objavo" marks
    from livingmemory.site.workspace_pages import _interviews

    return _interviews(archive)


def test_warnings_follow_corrections_and_metadata(archive_db: Path, audio_files) -> None:
    rid = add_one(archive_db, audio_files["wav"], "--narrator", "Frančiška Zdravstvenik")
    put_transcript(archive_db, rid, ["ena", "dvomljivo", "tri"])
    with open_archive(archive_db) as archive:
        archive.db.execute(
            "UPDATE transcripts SET warnings = '[\"names_not_heard\"]' WHERE recording_id = ?",
            [rid],
        )
        archive.db.conn.commit()
        assert [r["recording_id"] for r in recordings_needing_attention(archive)] == [rid]
        lines = [
            Line(x["start"], x["end"], x["text"], None, x["id"], False)
            for x in editor_lines(archive, rid)
        ]
        lines[0] = Line(lines[0].start, lines[0].end, "Frančiška pripoveduje", None, lines[0].id)
        from livingmemory.review.workspace import save_transcript

        save_transcript(archive, rid, lines, author="Ana", retag=False)
        row = interviews(archive, recording_id=rid)[0]
        assert not row["names_not_heard"] and row["suspect"] == 1  # the untouched doubtful line
        assert recordings_needing_attention(archive) == []
        # someone else is named now: nobody named is heard again
        edit_recording(archive, rid, {"narrators": "Janez Grešnik"}, author="Ana")
        assert interviews(archive, recording_id=rid)[0]["names_not_heard"]
        marked = [
            Line(x["start"], x["end"], x["text"], None, x["id"], True)
            for x in editor_lines(archive, rid)
        ]
        save_transcript(archive, rid, marked, author="Ana", retag=False)
        assert interviews(archive, recording_id=rid)[0]["suspect"] == 0


@pytest.fixture
def client(archive_db: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("datasette")
    made = Client(archive_db, monkeypatch)
    yield made
    made.close()


def test_objavi_page_previews_publishes_and_records_who(
    client: Client, archive_db: Path, audio_files
) -> None:
    ids = public_archive(archive_db, audio_files)
    client.login()
    listing = client("GET", "/-/workspace")
    assert listing.text.count("čaka na objavo") == 1  # the interview added after the publish
    page = client("GET", "/-/workspace/objavi")
    assert page.status_code == 200
    assert "Novi intervjuji" in page.text and f"#{ids[2]}" in page.text
    # the workspace withdraws at once, too
    edit = client(
        "POST",
        f"/-/workspace/{ids[0]}",
        data={"csrftoken": client.token(f"/-/workspace/{ids[0]}"), "access": "restricted",
              "title": "Prvi", "narrators": "Marija Kovač", "consent_notes": "da"},
    )  # fmt: skip
    assert edit.status_code == 200 and "Umaknjeno z javne strani" in edit.text
    assert public_ids(archive_db) == {ids[1]}
    started = client(
        "POST", "/-/workspace/objavi", data={"csrftoken": client.token("/-/workspace/objavi")}
    )
    assert started.status_code == 303
    deadline = time.monotonic() + 60
    while (state := json.loads(client("GET", "/-/workspace/objavi.json").text))["running"]:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    newest = state["runs"][0]
    assert (newest["status"], newest["started_by"], newest["kind"]) == (
        "done",
        "Ana Zupan",
        "publish",
    )
    assert public_ids(archive_db) == {ids[1], ids[2]}
    assert state["preview"]["pending"] == []
    history = client("GET", "/-/workspace/objavi").text
    assert "Zgodovina objav" in history and "Ana Zupan" in history and "končano" in history
    assert "čaka na objavo" not in client("GET", "/-/workspace").text
    # a POST without the CSRF token starts nothing
    assert client("POST", "/-/workspace/objavi", data={}).status_code == 403


def test_public_table_writers_write_in_the_same_transaction(
    archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other public tables (index points, trails) are written by functions appended to
    PUBLIC_TABLE_WRITERS, for the recordings each publish writes, full or incremental."""
    import livingmemory.site.publish as publishing

    calls: list[list[int]] = []

    def points(archive, public, recording_ids: list[int], *, today=None) -> None:
        assert public.conn.in_transaction  # inside publish's transaction
        calls.append(list(recording_ids))
        public.execute("CREATE TABLE IF NOT EXISTS test_points (recording_id INTEGER, label TEXT)")
        marks = ",".join("?" * len(recording_ids))
        public.execute(f"DELETE FROM test_points WHERE recording_id IN ({marks})", recording_ids)
        for (rid,) in public.execute(
            f"SELECT id FROM recordings WHERE id IN ({marks})", recording_ids
        ).fetchall():
            title = archive.recording(rid)["title"]
            public.execute("INSERT INTO test_points VALUES (?, ?)", [rid, title])

    monkeypatch.setattr(
        publishing, "PUBLIC_TABLE_WRITERS", [*publishing.PUBLIC_TABLE_WRITERS, points]
    )
    ids = public_archive(archive_db, audio_files)  # a full publish of the first two
    assert calls == [ids[:2]]

    def rows() -> list[tuple[int, str]]:
        with sqlite3.connect(archive_db.parent / PUBLIC_DIR / PUBLIC_DB) as conn:
            return sorted(conn.execute("SELECT recording_id, label FROM test_points"))

    assert [r[0] for r in rows()] == ids[:2]
    with open_archive(archive_db) as archive:
        edit_recording(archive, ids[0], {"access": "restricted"}, author="Ana")
        assert publish(archive).incremental
    assert calls[-1] == sorted([ids[0], ids[2]])  # the withdrawn one and the new one
    assert [r[0] for r in rows()] == [ids[1], ids[2]]


def test_a_publish_whose_process_died_shows_as_interrupted(archive_db: Path) -> None:
    import subprocess
    import sys

    from livingmemory.site.live import runs

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with open_archive(archive_db) as archive:
        row = {"kind": "publish", "status": "running", "pid": int(gone.stdout), "progress": 0.4}
        archive.db["publish_runs"].insert({**row, "message": "#3", "started_by": "Ana"})
        archive.db.conn.commit()
        assert [r["status"] for r in runs(archive)] == ["interrupted"]


def test_an_embargo_that_ends_is_due_but_a_late_addition_waits(
    archive_db: Path, audio_files
) -> None:
    import datetime as dt

    waiting = add_one(archive_db, audio_files["wav"], "--embargo-until", "2030-06-01",
                      "--consent", "do leta 2030")  # fmt: skip
    with open_archive(archive_db) as archive:
        publish(archive, today=dt.date(2029, 1, 1))
    # added after that publish, with a date already past: a new interview, the team's to publish
    late = add_one(archive_db, audio_files["flac"], "--embargo-until", "2020-01-01",
                   "--consent", "da")  # fmt: skip
    with open_archive(archive_db) as archive:
        assert due(archive, today=dt.date(2030, 5, 31)) == []
        assert due(archive, today=dt.date(2030, 6, 1)) == [waiting]
        assert late not in due(archive, today=dt.date(2031, 1, 1))
        assert {r["id"] for r in preview(archive, today=dt.date(2030, 6, 1)).new} == {
            waiting, late}  # fmt: skip
