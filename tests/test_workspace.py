"""The volunteers' workspace without a browser: edits, consent, the queue, login and CSRF.

The HTTP tests run the real Datasette application (with this package's plugin, over the full
archive, configured exactly as ``serve --private`` configures it) in-process through httpx,
so the CSRF middleware, the login cookie and the routes are the ones a browser meets.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import add_json, db_rows, run_cli, snapshot

from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import open_archive
from livingmemory.errors import LivingMemoryError
from livingmemory.review.workspace import (
    Line,
    claim_job,
    edit_recording,
    editor_lines,
    interviews,
    parse_lines,
    queue_transcription,
    save_transcript,
    set_password,
)
from livingmemory.site.publish import publish

PASSWORD = "skrivno-geslo-1"


def add_one(archive_db: Path, audio: Path, *args: str) -> int:
    result, added = add_json(archive_db, audio, *args)
    assert result.exit_code == 0, str(result)
    return added[0]["recording_id"]


def put_transcript(archive_db: Path, recording_id: int, texts: list[str], step: float = 0.8):
    """A machine transcript whose lines fit inside the ~4 s test recording."""
    with open_archive(archive_db) as archive:
        transcript = (
            archive.db["transcripts"]
            .insert(
                {
                    "recording_id": recording_id,
                    "source": "machine",
                    "engine": "test",
                    "language": "sl",
                    "started_at": "2026-01-01T00:00:00+00:00",
                    "finished_at": "2026-01-01T00:00:01+00:00",
                    "is_current": 1,
                    "suspect_segments": 1,
                },
            )
            .last_pk
        )
        for position, text in enumerate(texts):
            archive.db["segments"].insert(
                {
                    "transcript_id": transcript,
                    "recording_id": recording_id,
                    "position": position,
                    "start": position * step,
                    "end": (position + 1) * step,
                    "text": text,
                    "flags": '["low_confidence"]' if position == 1 else None,
                    "suspect": int(position == 1),
                },
            )
        archive.db.conn.commit()


# -- edit -------------------------------------------------------------------------------


def test_cli_edit_records_who_when_old_and_new(archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--title", "Spomini")
    result = run_cli(
        "edit",
        recording_id,
        "--title",
        "Spomini na Kranj",
        "--place",
        "Kranj",
        "--narrator",
        "Ana Novak; Janez Kos",
        "--author",
        "Ana Zupan",
        "--archive",
        archive_db,
    )
    assert result.exit_code == 0, str(result)
    assert "'Spomini' -> 'Spomini na Kranj'" in result.stdout
    edits = db_rows(archive_db, "SELECT * FROM edits ORDER BY id")
    assert [(e["field"], e["old_value"], e["new_value"]) for e in edits] == [
        ("title", "Spomini", "Spomini na Kranj"),
        ("narrators", None, "Ana Novak; Janez Kos"),
        ("place", None, "Kranj"),
    ]
    assert {e["author"] for e in edits} == {"Ana Zupan"}
    assert all(e["created_at"].startswith("20") and e["source"] == "cli" for e in edits)
    names = db_rows(
        archive_db,
        "SELECT p.name FROM recording_people rp JOIN people p ON p.id = rp.person_id "
        "WHERE rp.recording_id = ? AND rp.role = 'narrator' ORDER BY rp.position",
        (recording_id,),
    )
    assert [n["name"] for n in names] == ["Ana Novak", "Janez Kos"]
    shown = run_cli("revisions", recording_id, "--archive", archive_db)
    assert shown.exit_code == 0 and "Ana Zupan title: 'Spomini' -> 'Spomini na Kranj'" in (
        shown.stdout
    )
    assert run_cli("revisions", 99, "--archive", archive_db).exit_code == 1
    again = run_cli("edit", recording_id, "--title", "Spomini na Kranj", "--archive", archive_db)
    assert "nothing changed" in again.stdout
    assert len(db_rows(archive_db, "SELECT id FROM edits")) == 3


def test_public_access_needs_a_consent_note(archive_dir: Path, archive_db: Path, audio_files):
    recording_id = add_one(archive_db, audio_files["wav"])
    before = snapshot(archive_dir)
    result = run_cli("edit", recording_id, "--access", "javno", "--archive", archive_db)
    assert result.exit_code == 1
    assert len(result.error_lines) == 1 and "consent" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(archive_dir) == before
    result = run_cli(
        "edit",
        recording_id,
        "--access",
        "javno",
        "--consent",
        "Podpisano soglasje, 3. 4. 2026",
        "--archive",
        archive_db,
    )
    assert result.exit_code == 0, str(result)
    assert db_rows(archive_db, "SELECT access FROM recordings")[0]["access"] == "public"


def test_bad_edit_values_change_nothing(archive_dir: Path, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    before = snapshot(archive_dir)
    for args in (
        ["--date", "2999"],
        ["--language", "klingonščina"],
        ["--access", "secret"],
        ["--access", "embargo"],
    ):
        result = run_cli("edit", recording_id, *args, "--archive", archive_dir / "archive.db")
        assert result.exit_code == 1, args
        assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    assert run_cli("edit", 99, "--title", "x", "--archive", archive_db).exit_code == 1
    assert snapshot(archive_dir) == before


def test_embargo_then_public_drops_the_embargo_date(archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--embargo-until", "2040-01-01")
    with open_archive(archive_db) as archive:
        changes = edit_recording(
            archive,
            recording_id,
            {"access": "public", "consent_notes": "ustno, posneto"},
            author="Ana",
        )
        assert {c.field for c in changes} == {"access", "embargo_until", "consent_notes"}
        assert archive.recording(recording_id)["embargo_until"] is None


def test_withdrawn_consent_removes_everything_from_the_public_files(
    archive_dir: Path, archive_db: Path, audio_files
) -> None:
    recording_id = add_one(
        archive_db,
        audio_files["ogg"],
        "--title",
        "Umaknjeno pričevanje",
        "--narrator",
        "Frančiška Zdravstvenik",
        "--access",
        "public",
        "--consent",
        "podpisano",
    )
    put_transcript(archive_db, recording_id, ["Pripovedujem o Bohinjskem jezeru zlatorog."])
    audio_bytes = audio_files["ogg"].read_bytes()[1000:1400]
    with open_archive(archive_db) as archive:
        publish(archive)
    public = archive_dir / "public"

    def public_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in sorted(public.rglob("*")) if p.is_file())

    with open_archive(archive_db) as archive:
        assert interviews(archive)[0]["state"] == "published"
    assert "Frančiška Zdravstvenik".encode() in public_bytes()
    assert b"zlatorog" in public_bytes() and audio_bytes in public_bytes()
    result = run_cli("edit", recording_id, "--access", "omejeno", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    everything = public_bytes()
    for secret in ("Frančiška Zdravstvenik", "zlatorog", "Umaknjeno pričevanje"):
        assert secret.encode() not in everything, secret
    assert audio_bytes not in everything
    with open_archive(archive_db) as archive:
        assert interviews(archive)[0]["state"] != "published"


# -- transcript corrections -----------------------------------------------------------------


def test_save_transcript_is_review_apply_with_the_volunteers_name(
    archive_db: Path, audio_files
) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, ["ena", "dva napaka", "tri", "štiri"])
    with open_archive(archive_db) as archive:
        keys = ("id", "start", "end", "text", "speaker", "reviewed")
        lines = [
            Line(**{k: v for k, v in line.items() if k in keys})
            for line in editor_lines(archive, recording_id)
        ]
        lines[1] = Line(
            lines[1].start, lines[1].end, "dva popravljeno", "Ana Novak", lines[1].id, True
        )
        merged = Line(lines[2].start, lines[3].end, "tri štiri", None, lines[2].id)
        result = save_transcript(
            archive, recording_id, [lines[0], lines[1], merged], author="Ana Zupan", retag=False
        )
    assert result["changed"] == 2 and result["deleted"] == 1
    machine = db_rows(
        archive_db,
        "SELECT text FROM segments s JOIN transcripts t ON "
        "t.id = s.transcript_id WHERE t.source = 'machine' ORDER BY position",
    )
    assert [m["text"] for m in machine] == ["ena", "dva napaka", "tri", "štiri"]
    revisions = db_rows(archive_db, "SELECT * FROM revisions ORDER BY id")
    assert {r["author"] for r in revisions} == {"Ana Zupan"}
    assert ("dva napaka", "dva popravljeno", "Ana Novak") in {
        (r["old_text"], r["new_text"], r["new_speaker"]) for r in revisions
    }
    exported = run_cli("export", recording_id, "--format", "txt", "--archive", archive_db)
    assert "dva popravljeno" in exported.stdout and "tri štiri" in exported.stdout
    reviewed = db_rows(
        archive_db,
        "SELECT text, reviewed FROM segments WHERE transcript_id = ?",
        (result["transcript_id"],),
    )
    assert [r["reviewed"] for r in reviewed] == [0, 1, 0]


def test_parse_lines_refuses_bad_input() -> None:
    with pytest.raises(LivingMemoryError):
        parse_lines([])
    with pytest.raises(LivingMemoryError):
        parse_lines([{"start": 2, "end": 1, "text": "x"}])
    with pytest.raises(LivingMemoryError):
        parse_lines([{"start": "a", "end": 1, "text": "x"}])
    lines = parse_lines([{"start": 0, "end": 1, "text": "  a  <b>b</b> ", "id": "evil"}])
    assert lines == [Line(0.0, 1.0, "a <b>b</b>", None, None, False)]


# -- the queue ------------------------------------------------------------------------------


def test_queue_never_holds_a_recording_twice_and_claims_are_exclusive(
    archive_db: Path, audio_files
) -> None:
    first = add_one(archive_db, audio_files["wav"])
    second = add_one(archive_db, audio_files["flac"])
    with open_archive(archive_db) as archive, open_archive(archive_db) as other:
        assert len(queue_transcription(archive, [first, second], "Ana")) == 2
        assert queue_transcription(archive, [first, second], "Ana") == []
        states = {row["id"]: row["state"] for row in interviews(archive)}
        assert states == {first: "transcribing", second: "transcribing"}
        one = claim_job(archive, "w1")
        two = claim_job(other, "w2")
        assert {one["recording_id"], two["recording_id"]} == {first, second}
        assert claim_job(archive, "w1") is None


# -- HTTP: login, CSRF, escaping --------------------------------------------------------------


class Client:
    """The private site's ASGI app with a cookie jar, driven synchronously."""

    def __init__(self, archive_db: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
        import httpx
        from datasette.app import Datasette
        from datasette_auth_passwords.utils import hash_password

        from livingmemory.site.serve import site_metadata

        monkeypatch.setenv("LIVINGMEMORY_PASSWORD_HASH", hash_password(PASSWORD))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with open_archive(archive_db) as archive:
            metadata = site_metadata(archive, private=True)
        self.datasette = Datasette([str(archive_db)], metadata=metadata)
        self.loop = asyncio.new_event_loop()
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.datasette.app()), base_url="http://localhost"
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.loop.run_until_complete(self.http.request(method, path, **kwargs))

    def token(self, path: str = "/-/workspace/login") -> str:
        page = self("GET", path)
        return re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)

    def login(self, name: str = "Ana Zupan", password: str = PASSWORD) -> Any:
        token = self.token()
        return self(
            "POST",
            "/-/workspace/login",
            data={"csrftoken": token, "name": name, "password": password},
        )

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.close()


@pytest.fixture
def client(archive_db: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("datasette")
    made = Client(archive_db, monkeypatch)
    yield made
    made.close()


def test_workspace_needs_a_login(client: Client, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--title", "Staro")
    page = client("GET", "/-/workspace")
    assert page.status_code == 302 and "/-/workspace/login" in page.headers["location"]
    assert client("GET", f"/-/workspace/{recording_id}/editor").status_code == 302
    assert client("GET", "/-/workspace/status.json").status_code == 302
    assert client.login(password="wrong").status_code == 403
    assert client("GET", "/-/workspace").status_code == 302
    stored = db_rows(archive_db, "SELECT file_path FROM recordings")[0]["file_path"]
    assert client("GET", f"/-/audio/{Path(stored).name}").status_code == 403
    assert client.login().status_code == 302
    listing = client("GET", "/-/workspace")
    assert listing.status_code == 200 and "Staro" in listing.text and "Ana Zupan" in listing.text


def test_interview_page_history_lists_index_point_changes(
    client: Client, archive_db: Path, audio_files
) -> None:
    """The workspace's history of a recording shows its index points' changes (who, what,
    before and after), not only the metadata edits."""
    recording_id = add_one(archive_db, audio_files["wav"], "--title", "Staro")
    for args in (("add", "--at", "1", "--title", "Prva zgodba"), ("edit", "1", "--title", "Druga")):
        result = run_cli("index", recording_id, *args, "--archive", archive_db)
        assert result.exit_code == 0, str(result)
    client.login()
    page = client("GET", f"/-/workspace/{recording_id}")
    assert page.status_code == 200
    history = page.text.split('id="history"')[1]
    assert "Kazalo" in history and "Še ni sprememb" not in history
    assert "dodana" in history and "popravljena" in history
    assert "Prva zgodba" in history and "Druga" in history and "00:01" in history


def test_posts_without_login_or_token_change_nothing(
    client: Client, archive_dir: Path, archive_db: Path, audio_files, tmp_path: Path
) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--title", "Staro")
    put_transcript(archive_db, recording_id, ["ena", "dva"])
    before = db_rows(archive_db, "SELECT * FROM recordings")
    edit = {"title": "Vdor", "access": "restricted"}
    lines = {"lines": [{"start": 0, "end": 1, "text": "vdor"}]}
    upload = {"files": ("vdor.wav", audio_files["flac"].read_bytes(), "audio/wav")}
    # no login at all
    assert client("POST", f"/-/workspace/{recording_id}", data=edit).status_code == 403
    assert client("POST", f"/-/workspace/{recording_id}/transcript", json=lines).status_code == 403
    assert client("POST", "/-/workspace/upload", files=upload).status_code == 403
    assert client("POST", f"/-/workspace/{recording_id}/queue").status_code == 403
    # logged in, but without the CSRF token
    client.login()
    assert client("POST", f"/-/workspace/{recording_id}", data=edit).status_code == 403
    assert client("POST", f"/-/workspace/{recording_id}/transcript", json=lines).status_code == 403
    assert (
        client("POST", "/-/workspace/upload", files=upload, data={"title": "x"}).status_code == 403
    )
    wrong = {"csrftoken": "forged", "title": "x"}
    assert client("POST", "/-/workspace/upload", files=upload, data=wrong).status_code == 403
    assert client("POST", f"/-/workspace/{recording_id}/queue").status_code == 403
    assert db_rows(archive_db, "SELECT * FROM recordings") == before
    for table in ("edits", "revisions", "jobs"):
        assert db_rows(archive_db, f"SELECT * FROM {table}") == [], table
    assert db_rows(archive_db, "SELECT count(*) AS n FROM transcripts")[0]["n"] == 1
    assert not list(archive_dir.glob(".upload-*"))


def test_web_edit_is_recorded_and_escaped(client: Client, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--title", "Staro")
    client.login()
    token = client.token(f"/-/workspace/{recording_id}")
    form = {
        "csrftoken": token,
        "title": "<script>alert(1)</script> Nov",
        "narrators": "Ana",
        "interviewers": "",
        "recorded_date": "13. 5. 1954",
        "place": "Kranj",
        "language": "slovenščina",
        "access": "restricted",
        "embargo_until": "",
        "consent_notes": "",
        "notes": "",
    }
    page = client("POST", f"/-/workspace/{recording_id}", data=form)
    assert page.status_code == 200, page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Nov" in page.text
    row = db_rows(archive_db, "SELECT * FROM recordings")[0]
    assert (row["recorded_date"], row["language"], row["place"]) == ("1954-05-13", "sl", "Kranj")
    authors = {e["author"] for e in db_rows(archive_db, "SELECT * FROM edits")}
    assert authors == {"Ana Zupan"}
    public = dict(form, access="public")
    refused = client("POST", f"/-/workspace/{recording_id}", data=public)
    assert refused.status_code == 400 and "soglasj" in refused.text
    assert db_rows(archive_db, "SELECT access FROM recordings")[0]["access"] == "restricted"


def test_upload_adds_queues_and_refuses_too_large(
    archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("datasette")
    client = Client(archive_db, monkeypatch, LIVINGMEMORY_UPLOAD_MB="1")
    try:
        client.login()
        token = client.token("/-/workspace/upload")
        data = {
            "csrftoken": token,
            "title": "Naložen",
            "narrator": "Micka Kovač",
            "language": "sl",
            "access": "javno",
            "consent": "ustno soglasje",
        }
        files = [
            ("files", ("spomin.flac", audio_files["flac"].read_bytes(), "audio/flac")),
            ("files", ("ni-zvok.wav", b"RIFF nothing", "audio/wav")),
        ]
        page = client("POST", "/-/workspace/upload", data=data, files=files)
        assert page.status_code == 200, page.text
        assert "dodano kot" in page.text and "ni-zvok.wav" in page.text
        rows = db_rows(archive_db, "SELECT * FROM recordings")
        assert len(rows) == 1
        assert (rows[0]["title"], rows[0]["access"], rows[0]["added_by"]) == (
            "Naložen",
            "public",
            "Ana Zupan",
        )
        assert rows[0]["original_filename"] == "spomin.flac"
        stored = Path(archive_db).parent / rows[0]["file_path"]
        assert stored.read_bytes() == audio_files["flac"].read_bytes()
        assert not stored.stat().st_mode & 0o222
        jobs = db_rows(archive_db, "SELECT * FROM jobs")
        assert [(j["recording_id"], j["status"]) for j in jobs] == [(rows[0]["id"], "queued")]
        again = client("POST", "/-/workspace/upload", data=data, files=files[:1])
        assert "že v arhivu" in again.text
        big = [("files", ("velik.wav", b"\0" * (1024 * 1024 + 10), "audio/wav"))]
        refused = client("POST", "/-/workspace/upload", data=data, files=big)
        assert refused.status_code == 413 and "prevelika" in refused.text
        assert len(db_rows(archive_db, "SELECT * FROM recordings")) == 1
        assert not list(Path(archive_db).parent.glob(".upload-*"))
    finally:
        client.close()


def test_users_file_accounts(archive_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_password(archive_db.parent, "Ana Zupan", "anino-geslo-1")
    client = Client(archive_db, monkeypatch)
    try:
        # With a users file the shared password no longer logs in under any name.
        assert client.login("Kdorkoli", PASSWORD).status_code == 403
        assert client.login("Ana Zupan", "napačno-geslo").status_code == 403
        assert client.login("Ana Zupan", "anino-geslo-1").status_code == 302
        assert client("GET", "/-/workspace").status_code == 200
    finally:
        client.close()
    assert "anino-geslo-1" not in (archive_db.parent / "users.yml").read_text()


def test_workspace_is_absent_from_the_public_site(archive_db: Path) -> None:
    from datasette.app import Datasette

    with open_archive(archive_db) as archive:
        publish(archive)
        from livingmemory.site.serve import site_metadata

        metadata = site_metadata(archive)
    public = archive_db.parent / "public" / "public.db"
    datasette = Datasette([str(public)], metadata=metadata, immutables=[])

    async def get(path: str) -> int:
        return (await datasette.client.get(path)).status_code

    assert asyncio.run(get("/-/workspace")) == 404
    assert asyncio.run(get("/-/workspace/login")) == 404
    conn = sqlite3.connect(public)
    conn.close()


def test_untouched_suspect_lines_stay_suspect_until_reviewed(archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, ["ena", "dvomljivo", "tri"])
    keys = ("id", "start", "end", "text", "speaker", "reviewed")
    with open_archive(archive_db) as archive:
        lines = [
            Line(**{k: v for k, v in line.items() if k in keys})
            for line in editor_lines(archive, recording_id)
        ]
        save_transcript(
            archive,
            recording_id,
            [lines[0], lines[1], Line(lines[2].start, lines[2].end, "tri!", None, lines[2].id)],
            author="Ana",
            retag=False,
        )
        after = editor_lines(archive, recording_id)
        assert [bool(line["flags"]) for line in after] == [False, True, False]
        marked = [Line(x["start"], x["end"], x["text"], None, x["id"], True) for x in after]
        save_transcript(archive, recording_id, marked, author="Ana", retag=False)
        assert [bool(line["flags"]) for line in editor_lines(archive, recording_id)] == [
            False, False, False]  # fmt: skip
        assert archive.recording(recording_id)["review_status"] == "complete"
        assert interviews(archive)[0]["state"] == "reviewed"


def test_web_form_leaving_an_embargo_sends_its_old_date_back(archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"], "--embargo-until", "2040-01-01")
    with open_archive(archive_db) as archive:
        form = {"access": "restricted", "embargo_until": "2040-01-01", "title": "x"}
        changes = edit_recording(archive, recording_id, form, author="Ana", source="web")
        assert {c.field for c in changes} == {"access", "embargo_until", "title"}
        record = archive.recording(recording_id)
        assert (record["access"], record["embargo_until"]) == ("restricted", None)
        assert interviews(archive, recording_id=recording_id)[0]["state"] == "added"


def test_editor_page_escapes_transcript_text(client: Client, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, ["</script><script>alert(1)</script>", "<b>x</b>"])
    client.login()
    page = client("GET", f"/-/workspace/{recording_id}/editor")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "<b>x</b>" not in page.text
    data = re.search(r'id="lines-data">(.*?)</script>', page.text, re.S).group(1)
    texts = [line["text"] for line in json.loads(data)]
    assert texts == ["</script><script>alert(1)</script>", "<b>x</b>"]


def test_worker_progress_is_written_for_the_page(archive_db: Path, audio_files) -> None:
    from livingmemory.review.workspace import JobProgress

    recording_id = add_one(archive_db, audio_files["wav"])
    with open_archive(archive_db) as archive:
        [job_id] = queue_transcription(archive, [recording_id], "Ana")
        job = claim_job(archive, "w1")
        assert job["id"] == job_id
        progress = JobProgress(archive, [job])
        progress.begin(10.0, 1)
        progress.recording({"id": recording_id, "duration": 10.0})
        progress.last = 0.0  # as if a second had passed
        progress.advance(4.0)
        row = interviews(archive, recording_id=recording_id)[0]
        assert row["state"] == "transcribing" and row["progress"] == 0.4
    listing = db_rows(archive_db, "SELECT progress, heartbeat_at FROM jobs")[0]
    assert listing["progress"] == 0.4 and listing["heartbeat_at"]


@pytest.mark.slow
def test_worker_transcribes_a_batch_with_one_model_and_never_twice(
    archive_db: Path, audio_files, tmp_path: Path
) -> None:
    from livingmemory.review.workspace import work_queue
    from livingmemory.transcription.pipeline import TranscribeSettings

    first = add_one(archive_db, audio_files["en_wav"], "--language", "en")
    louder = tmp_path / "louder.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(audio_files["en_wav"]), "-af",
                    "volume=1.5", str(louder)], check=True)  # fmt: skip
    second = add_one(archive_db, louder, "--language", "en")
    settings = TranscribeSettings(model="tiny.en", beam_size=1)
    seen: list[tuple[int, str]] = []
    with open_archive(archive_db) as archive:
        assert len(queue_transcription(archive, [first, second], "Ana")) == 2

        def report(job: dict[str, Any], status: str) -> None:
            seen.append((job["recording_id"], status))

        worked = work_queue(archive, once=True, settings=settings, on_job=report)
        assert worked == 2 and sorted(seen) == [(first, "done"), (second, "done")]
        assert queue_transcription(archive, [first, second], "Ana") == []  # transcribed now
        assert work_queue(archive, once=True, settings=settings) == 0
    runs = db_rows(archive_db, "SELECT recording_id FROM transcripts WHERE source = 'machine'")
    assert sorted(r["recording_id"] for r in runs) == [first, second]
    jobs = db_rows(archive_db, "SELECT status, progress, message FROM jobs")
    assert all(j["status"] == "done" and j["progress"] == 1.0 for j in jobs), jobs


def test_failed_workspace_logins_are_throttled(client: Client) -> None:
    """The workspace's own login page is throttled like Datasette's: five wrong passwords
    from one address, then 429 even for the right one until the window slides."""
    statuses = [client.login(password=f"ugibam-{n}").status_code for n in range(5)]
    assert statuses == [403] * 5
    blocked = client.login()
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert "ds_actor" not in blocked.headers.get("set-cookie", "")
