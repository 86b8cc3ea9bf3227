"""Incremental ``publish``: after a change, only what changed is rewritten, and the public
output is exactly what a full publish of the same archive gives.

Every check compares two publishes of the same archive state: the incremental one (in the
test's archive, after earlier publishes) and a full one (in a copy of the archive, from
scratch). "The same" means every table's rows (sorted), the schema (every table, index,
view and trigger), the full-text indexes term by term (``fts5vocab``: each term with the
row, column and position it comes from), and the published audio files' bytes. The archive
is the ``levels`` one from ``test_publish.py``: one recording per access level, real audio.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from support import copy_audio, db_rows, insert_transcript, run_cli
from test_publish import (  # the archive with every access level, and its helpers
    EMBARGO_FUTURE,
    EMBARGO_PAST,
    PUBLIC,
    RESTRICTED,
    TODAY,
    add_place_entity,
    add_recording,
    add_segments,
    leaks,
    levels,
    levels_template,
    public_files,
)

import livingmemory.site.publish as publish_module
from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import FTS5_SECURE_DELETE, sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.site.publish import publish

__all__ = ["levels", "levels_template"]  # fixtures used here (imported, so pytest sees them)

FTS_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")


def public_content(archive_dir: Path) -> dict[str, Any]:
    """Everything a visitor or a download could see of the public output, comparably."""
    database = archive_dir / PUBLIC_DIR / PUBLIC_DB
    conn = sqlite3.connect(database)
    try:
        master = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
        virtual = {name for _, name, _, sql in master if sql and "VIRTUAL TABLE" in sql}
        content: dict[str, Any] = {"schema": master}
        for kind, name, _, _sql in master:
            shadow = any(name == v + s for v in virtual for s in FTS_SHADOWS)
            if kind != "table" or name in virtual or shadow or name.startswith("sqlite_"):
                continue
            content[name] = sorted(conn.execute(f"SELECT * FROM [{name}]"), key=repr)
        for table in sorted(virtual):
            check = conn.execute(f"INSERT INTO [{table}] ([{table}]) VALUES ('integrity-check')")
            check.close()
            conn.execute(
                f"CREATE VIRTUAL TABLE temp.[v_{table}] USING fts5vocab(main, [{table}], instance)"
            )
            rows = conn.execute(f"SELECT term, doc, col, offset FROM temp.[v_{table}]")
            if table == "search_tags_fts":  # its rowids are insertion order: compare by name
                names = dict(conn.execute("SELECT rowid, name FROM search_tags"))
                rows = ((term, names[doc], col, offset) for term, doc, col, offset in rows)
            content[f"{table} (index)"] = sorted(rows, key=repr)
        conn.rollback()
    finally:
        conn.close()
    folder = archive_dir / PUBLIC_DIR / AUDIO_DIR
    content["audio"] = {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
    return content


def publish_incrementally(
    archive_dir: Path, today: dt.date = TODAY
) -> publish_module.PublishResult:
    with open_archive(archive_dir / "archive.db") as archive:
        return publish(archive, today=today)


def assert_same_as_full(archive_dir: Path, scratch: Path, today: dt.date = TODAY) -> None:
    """A full publish of a copy of the archive gives the same public content."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(archive_dir, scratch)
    shutil.rmtree(scratch / PUBLIC_DIR)
    (scratch / publish_module.MANIFEST).unlink(missing_ok=True)
    with open_archive(scratch / "archive.db") as archive:
        full = publish(archive, today=today, full=True)
    assert not full.incremental
    incremental, complete = public_content(archive_dir), public_content(scratch)
    assert incremental.keys() == complete.keys()
    for key in complete:
        assert incremental[key] == complete[key], f"{key} differs from a full publish"


def edit(archive_dir: Path, sql: str, params: list[Any]) -> None:
    with open_archive(archive_dir / "archive.db") as archive:
        archive.db.execute(sql, params)
        archive.db.conn.commit()


def test_one_changed_recording_is_all_that_is_rewritten(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path
) -> None:
    first = publish_incrementally(archive_dir)
    assert not first.incremental  # nothing published before: a full publish
    again = publish_incrementally(archive_dir)
    assert again.incremental and again.rewritten == []
    assert again.recordings == first.recordings and again.segments == first.segments

    # A word published once, then corrected away: it must leave the file, full-text index
    # included (FTS5 keeps deleted rows' words in its older segments until they are merged).
    edit(archive_dir, "UPDATE segments SET text = 'Sosed Zaupnikovič je rekel.' WHERE "
         "recording_id = ? AND position = 0", [levels["public"]])  # fmt: skip
    publish_incrementally(archive_dir)
    public_db = archive_dir / PUBLIC_DIR / PUBLIC_DB
    assert "zaupnikovič".encode() in public_db.read_bytes().lower()
    edit(archive_dir, "UPDATE segments SET text = 'Popravljeno besedilo.' WHERE recording_id = ? "
         "AND position = 0", [levels["public"]])  # fmt: skip
    result = publish_incrementally(archive_dir)
    assert result.incremental and result.rewritten == [levels["public"]]
    assert result.segments == first.segments
    assert b"zaupnikovi" not in public_db.read_bytes().lower()
    assert_same_as_full(archive_dir, tmp_path / "full")


def test_every_kind_of_change_gives_what_a_full_publish_gives(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path, audio_files: dict[str, Path]
) -> None:
    archive_db = archive_dir / "archive.db"
    publish_incrementally(archive_dir)
    scratch = tmp_path / "full"
    pub, past = levels["public"], levels["past"]

    def step(expected: list[int] | None = None, today: dt.date = TODAY) -> None:
        result = publish_incrementally(archive_dir, today)
        assert result.incremental
        if expected is not None:
            assert sorted(result.rewritten) == sorted(expected)
        assert_same_as_full(archive_dir, scratch, today)

    # A change of consent (private: nothing public changes, but it is looked at again).
    consent = "UPDATE recordings SET consent_notes = 'Preklicano delno' WHERE id = ?"
    edit(archive_dir, consent, [pub])
    step([pub])
    # New tags: a place mentioned nowhere else (a new place row, tag name and browse entry).
    segment = [r[0] for r in sqlite3.connect(archive_db).execute(
        "SELECT id FROM segments WHERE recording_id = ? ORDER BY position", [pub])]  # fmt: skip
    add_place_entity(archive_db, pub, segment[0], "na Bledu", "Bled", (46.37, 14.11))
    step([pub])
    # A transcript correction: a new human transcript becomes the current one.
    with open_archive(archive_db) as archive:
        insert_transcript(archive, pub, ["Dober dan vsem.", "Živeli smo v Kranju in Tržiču."],
                          source="human", starts=[0.0, 2.0])  # fmt: skip
    step([pub])
    # Overlapped speech found on a line (published as segments.overlap).
    edit(archive_dir, "UPDATE segments SET overlap = 1 WHERE recording_id = ? AND position = 1",
         [pub])  # fmt: skip
    step([pub])
    marked = db_rows(
        archive_dir / PUBLIC_DIR / PUBLIC_DB, "SELECT text FROM segments WHERE overlap"
    )
    assert [row["text"] for row in marked] == ["Živeli smo v Kranju in Tržiču."]
    # A redaction of a passage (the audio is re-encoded with it silenced).
    with open_archive(archive_db) as archive:
        publish_module.redact(archive, pub, 2.0, 3.5, "prošnja")
    step([pub])
    # Metadata: a new title and a narrator's new name.
    edit(archive_dir, "UPDATE recordings SET title = 'Nov naslov' WHERE id = ?", [past])
    edit(archive_dir, "UPDATE people SET name = 'Franc Novi' WHERE id IN (SELECT person_id "
         "FROM recording_people WHERE recording_id = ?)", [past])  # fmt: skip
    step([past])
    # The gazetteer: a place's coordinates corrected (no recording changed).
    edit(archive_dir, "UPDATE places SET latitude = 46.25 WHERE name = 'Kranj'", [])
    step([])
    # A new public recording.
    audio = copy_audio(audio_files["opus"], tmp_path / "volunteer", "nov-posnetek.opus")
    new = add_recording(archive_db, audio, "--title", "Nova zgodba", "--access", "public",
                        "--narrator", "Tone Novinec", "--place", "Bled")  # fmt: skip
    ids = add_segments(archive_db, new, [(0.0, 1.5, "Na Bledu smo živeli.")])
    add_place_entity(archive_db, new, ids[0], "na Bledu", "Bled", (46.37, 14.11))
    step([new])
    # An embargo that lifts: the recording appears with no change in the archive.
    later = dt.date(2031, 6, 1)
    step([levels["future"]], today=later)
    # A recording turned restricted: it must be gone, with every trace of its text.
    edit(archive_dir, "UPDATE recordings SET access = 'restricted' WHERE id = ?", [pub])
    step([], today=later)
    files = public_files(archive_dir)
    assert leaks(files, [PUBLIC["title"], PUBLIC["narrator"], "QP50", "QP54", "QP55"]) == []
    assert leaks(files, [RESTRICTED["title"], "QK43"]) == []
    # A deleted recording (its segments and entities go with it).
    edit(archive_dir, "DELETE FROM recordings WHERE id = ?", [new])
    step([], today=later)
    assert leaks(public_files(archive_dir), ["Nova zgodba", "Tone Novinec"]) == []


def test_a_failed_incremental_publish_leaves_the_previous_output(
    archive_dir: Path, levels: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_incrementally(archive_dir)
    before = public_files(archive_dir)
    edit(archive_dir, "UPDATE recordings SET access = 'restricted' WHERE id = ?", [levels["past"]])
    edit(
        archive_dir, "UPDATE recordings SET title = 'Drugi naslov' WHERE id = ?", [levels["public"]]
    )

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish_module, "_copy_recording", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        publish_incrementally(archive_dir)
    assert public_files(archive_dir) == before  # no temporary file, no audio removed
    monkeypatch.undo()
    result = publish_incrementally(archive_dir)
    assert result.incremental and result.recordings == [levels["public"]]


def test_a_replaced_public_database_or_full_gives_a_full_publish(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    publish_incrementally(archive_dir)
    database = archive_dir / PUBLIC_DIR / PUBLIC_DB
    older = database.read_bytes()
    with open_archive(archive_dir / "archive.db") as archive:
        archive.db.execute("UPDATE recordings SET title = 'Drugi' WHERE id = ?", [levels["public"]])
        archive.db.conn.commit()
    assert publish_incrementally(archive_dir).incremental
    database.write_bytes(older)  # an older public database put back over the published one
    assert not publish_incrementally(archive_dir).incremental
    assert publish_incrementally(archive_dir).incremental
    with open_archive(archive_dir / "archive.db") as archive:
        assert not publish(archive, today=TODAY, full=True).incremental


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_change_sequences_match_a_full_publish(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    archive_db = archive_dir / "archive.db"
    publish_incrementally(archive_dir)
    ids = sorted(levels.values())
    words = ["Kranj", "Bled", "Tržič", "Škofja Loka"]
    markers = {  # the ASCII markers in each recording's title and text
        key: tuple(re.findall(r"Q[A-Z]\d\d", values["title"] + " " + values["text"]))
        for key, values in (("public", PUBLIC), ("restricted", RESTRICTED),
                            ("past", EMBARGO_PAST), ("future", EMBARGO_FUTURE))
    }  # fmt: skip
    assert markers["restricted"] == ("QK41", "QK43")
    for _ in range(5):
        rid = rng.choice(ids)
        change = rng.choice(
            ["access", "text", "tag", "untag", "redact", "speaker", "move", "home", "overlap"]
        )
        if change == "access":
            edit(archive_dir, "UPDATE recordings SET access = ?, embargo_until = NULL WHERE "
                 "id = ?", [rng.choice(["public", "restricted"]), rid])  # fmt: skip
        elif change == "text":
            edit(archive_dir, "UPDATE segments SET text = text || ? WHERE recording_id = ?",
                 [f" {rng.choice(words)}", rid])  # fmt: skip
        elif change == "tag":
            segment = (
                sqlite3.connect(archive_db)
                .execute("SELECT min(id) FROM segments WHERE recording_id = ?", [rid])
                .fetchone()[0]
            )
            place = rng.choice(words)
            add_place_entity(archive_db, rid, segment, place, place, (46.0, 14.0))
        elif change == "untag":
            edit(archive_dir, "DELETE FROM entities WHERE recording_id = ?", [rid])
        elif change == "redact":
            with open_archive(archive_db) as archive:
                publish_module.redact(archive, rid, 0.0, 1.0)
        elif change == "move":  # the gazetteer corrected: coordinates of a place
            edit(archive_dir, "UPDATE places SET latitude = latitude + 0.01 WHERE name = ?",
                 [rng.choice(words)])  # fmt: skip
        elif change == "overlap":  # another voice found talking over a line, or not
            edit(archive_dir, "UPDATE segments SET overlap = 1 - overlap WHERE recording_id = ? "
                 "AND position = 0", [rid])  # fmt: skip
        elif change == "home":  # a narrator's home place (a browse entry of its own)
            narrator = "SELECT person_id FROM recording_people WHERE recording_id = ?"
            edit(archive_dir, f"UPDATE people SET home_place = ? WHERE id IN ({narrator})",
                 [rng.choice(words), rid])  # fmt: skip
        else:
            edit(archive_dir, "UPDATE segments SET speaker = 'Govorec 2' WHERE recording_id = ?",
                 [rid])  # fmt: skip
        result = publish_incrementally(archive_dir)
        assert result.incremental, change
        assert_same_as_full(archive_dir, tmp_path / "full")
        withheld = [markers[key] for key, rid in levels.items() if rid not in result.recordings]
        assert leaks(public_files(archive_dir), [m for pair in withheld for m in pair]) == []


def test_publish_cli_says_what_it_rewrote_and_full_rewrites_all(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    archive_db = archive_dir / "archive.db"
    first = run_cli("publish", "--archive", archive_db, "--json")
    assert first.exit_code == 0, str(first)
    edit(archive_dir, "UPDATE recordings SET title = 'Spet nov' WHERE id = ?", [levels["public"]])
    again = run_cli("publish", "--archive", archive_db)
    assert again.exit_code == 0, str(again)
    assert "1 changed, rewritten" in again.stdout
    full = run_cli("publish", "--archive", archive_db, "--full", "--json")
    assert full.exit_code == 0, str(full)
    assert '"incremental": false' in full.stdout


def test_a_corrected_transcript_is_tagged_again_before_it_is_published(
    archive_dir: Path, levels: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    import livingmemory.review.workspace as workspace

    tagged: list[int] = []
    monkeypatch.setattr(workspace, "retag_recording", lambda _, rid: tagged.append(rid) or 1)
    edit(archive_dir, "UPDATE transcripts SET tagged_version = 1", [])
    publish_incrementally(archive_dir)
    assert tagged == []  # every current transcript is tagged
    with open_archive(archive_dir / "archive.db") as archive:
        insert_transcript(archive, levels["past"], ["Popravljeno."], source="human")
    publish_incrementally(archive_dir)
    assert tagged == [levels["past"]]


def test_an_unchanged_recording_whose_file_is_missing_is_withheld(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    from test_publish import archive_file

    publish_incrementally(archive_dir)
    source = archive_file(archive_dir, levels["past"])
    source.chmod(0o644)
    source.unlink()
    result = publish_incrementally(archive_dir)  # as a full publish would: withheld, one line
    assert result.incremental and result.removed == [levels["past"]]
    assert "missing" in result.damaged[levels["past"]]
    assert levels["past"] not in result.recordings and levels["public"] in result.recordings
    with sqlite3.connect(archive_dir / PUBLIC_DIR / PUBLIC_DB) as conn:
        ids = {row[0] for row in conn.execute("SELECT id FROM recordings")}
    assert ids == {levels["public"]}


def test_changed_publishing_code_gives_a_full_publish(
    archive_dir: Path, levels: dict[str, int]
) -> None:
    import json

    publish_incrementally(archive_dir)
    assert publish_incrementally(archive_dir).incremental
    manifest = archive_dir / publish_module.MANIFEST
    data = json.loads(manifest.read_text("utf-8"))
    assert data["code"] == publish_module._code_version()
    data["code"] = "an older release"
    manifest.write_text(json.dumps(data), "utf-8")
    assert not publish_incrementally(archive_dir).incremental  # from scratch
    assert publish_incrementally(archive_dir).incremental


def _traced_publish(
    archive_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[publish_module.PublishResult, list[str]]:
    """An incremental publish, with every SQL statement it runs on the public database."""
    statements: list[str] = []
    opened = publish_module._open_public

    def traced(path: Path) -> Any:
        public = opened(path)
        public.conn.set_trace_callback(statements.append)
        return public

    monkeypatch.setattr(publish_module, "_open_public", traced)
    try:
        return publish_incrementally(archive_dir), statements
    finally:
        monkeypatch.setattr(publish_module, "_open_public", opened)


def _rewrites_index(statements: list[str]) -> bool:
    return any("'optimize'" in statement for statement in statements)


@pytest.mark.skipif(not FTS5_SECURE_DELETE, reason="this SQLite has no FTS5 secure-delete")
def test_a_withdrawal_takes_its_words_out_of_the_index_without_rewriting_it(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FTS5 secure-delete: the withdrawn text leaves the file at the delete itself, so a
    withdrawal at 10,000 hours costs what its own rows cost, not a rewrite of the index."""
    edit(archive_dir, "UPDATE segments SET text = 'Sosed Zaupnikovič je rekel.' WHERE "
         "recording_id = ? AND position = 0", [levels["public"]])  # fmt: skip
    publish_incrementally(archive_dir)
    public_db = archive_dir / PUBLIC_DIR / PUBLIC_DB
    assert b"zaupnikovi" in public_db.read_bytes().lower()
    edit(
        archive_dir, "UPDATE recordings SET access = 'restricted' WHERE id = ?", [levels["public"]]
    )
    result, statements = _traced_publish(archive_dir, monkeypatch)
    assert result.incremental and result.removed == [levels["public"]]
    assert any("'delete'" in statement for statement in statements)  # the index was written
    assert not _rewrites_index(statements)
    assert b"zaupnikovi" not in public_db.read_bytes().lower()
    assert_same_as_full(archive_dir, tmp_path / "full")


@pytest.mark.skipif(not FTS5_SECURE_DELETE, reason="this SQLite has no FTS5 secure-delete")
def test_a_withdrawal_leaves_the_site_before_its_words_leave_the_index(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path
) -> None:
    """The commit that takes a withdrawn recording off the site comes first (its rows are
    gone for every reader); its words leave the full-text index in a second transaction
    before publish returns (the slow part in a large archive)."""
    from livingmemory.search import search

    withdrawn = levels["public"]
    edit(archive_dir, "UPDATE segments SET text = 'Sosed Zaupnikovič je rekel.' WHERE "
         "recording_id = ? AND position = 0", [withdrawn])  # fmt: skip
    publish_incrementally(archive_dir)
    public_db = archive_dir / PUBLIC_DIR / PUBLIC_DB
    assert [hit.recording_id for hit in search(public_db, "Zaupnikovič")] == [withdrawn]
    edit(archive_dir, "UPDATE recordings SET access = 'restricted' WHERE id = ?", [withdrawn])
    seen: dict[str, Any] = {}

    def reader(share: float, message: str) -> None:
        if message != publish_module.COMMITTED:
            return
        conn = sqlite3.connect(f"file:{public_db}?mode=ro", uri=True)  # a site request
        try:
            seen["recordings"] = conn.execute(
                "SELECT count(*) FROM recordings WHERE id = ?", [withdrawn]
            ).fetchone()[0]
            seen["segments"] = conn.execute(
                "SELECT count(*) FROM segments WHERE recording_id = ?", [withdrawn]
            ).fetchone()[0]
            seen["index"] = conn.execute(
                "SELECT count(*) FROM segments_fts WHERE segments_fts MATCH 'zaupnikovic*'"
            ).fetchone()[0]
        finally:
            conn.close()
        seen["search"] = search(public_db, "Zaupnikovič")

    with open_archive(archive_dir / "archive.db") as archive:
        result = publish(archive, today=TODAY, only=[withdrawn], progress=reader)
    assert result.incremental and result.removed == [withdrawn]
    # At the commit: off the site, though the index still holds the words for a moment.
    assert seen == {"recordings": 0, "segments": 0, "index": 1, "search": []}
    # When publish returns: out of the file too.
    conn = sqlite3.connect(public_db)
    try:
        assert (
            conn.execute(
                "SELECT count(*) FROM segments_fts WHERE segments_fts MATCH 'zaupnikovic*'"
            ).fetchone()[0]
            == 0
        )
    finally:
        conn.close()
    assert b"zaupnikovi" not in public_db.read_bytes().lower()
    assert_same_as_full(archive_dir, tmp_path / "full")


@pytest.mark.skipif(not FTS5_SECURE_DELETE, reason="this SQLite has no FTS5 secure-delete")
def test_an_index_without_secure_delete_is_rewritten_once_then_purges(
    archive_dir: Path, levels: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A public file published before secure-delete: its first withdrawal rewrites the
    index (which leaves no old word) and turns secure-delete on; the next one needs no
    rewrite."""
    from livingmemory.search import PUBLIC_FTS_TABLES

    publish_incrementally(archive_dir)
    public_db = archive_dir / PUBLIC_DIR / PUBLIC_DB
    conn = sqlite3.connect(public_db)
    for table in PUBLIC_FTS_TABLES:
        conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('secure-delete', 0)")
    conn.commit()
    conn.close()
    edit(archive_dir, "UPDATE segments SET text = 'Popravljeno besedilo.' WHERE recording_id = ? "
         "AND position = 0", [levels["public"]])  # fmt: skip
    first, statements = _traced_publish(archive_dir, monkeypatch)
    assert first.incremental and _rewrites_index(statements)
    edit(
        archive_dir, "UPDATE recordings SET access = 'restricted' WHERE id = ?", [levels["public"]]
    )
    second, statements = _traced_publish(archive_dir, monkeypatch)
    assert second.incremental and second.removed == [levels["public"]]
    assert not _rewrites_index(statements)
    assert_same_as_full(archive_dir, tmp_path / "full")
