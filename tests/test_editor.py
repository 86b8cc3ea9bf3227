"""The transcript editor's server side and the workspace's words (issue 26), without a browser.

Drafts autosaved and never revisions until saved; two volunteers on one transcript told and
never silently overwritten; per-volunteer keys; a passage withheld from the editor through
the CLI's own function; the waveform's peaks; and every message in plain Slovenian (dual
and plural forms, dates as typed, no command-line options or program names, forms that keep
what was typed).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support import db_rows
from test_workspace import PASSWORD, Client, add_one, put_transcript

from livingmemory.archive.store import open_archive
from livingmemory.errors import InputError, LivingMemoryError
from livingmemory.review import editor as drafts
from livingmemory.site.workspace_messages import (
    field_value,
    humane,
    plural,
    typed_date,
    typed_time,
)

LINES = ["Rodila sem se v Kranu.", "V Kranu je bila železarna.", "Oče je delal v Kranu."]


# -- words ------------------------------------------------------------------------------------


def test_plural_has_the_slovenian_dual() -> None:
    forms = ("vrstica", "vrstici", "vrstice", "vrstic")
    said = {n: plural(n, *forms) for n in (0, 1, 2, 3, 4, 5, 11, 12, 101, 102, 103, 111)}
    assert said == {0: "0 vrstic", 1: "1 vrstica", 2: "2 vrstici", 3: "3 vrstice",
                    4: "4 vrstice", 5: "5 vrstic", 11: "11 vrstic", 12: "12 vrstic",
                    101: "101 vrstica", 102: "102 vrstici", 103: "103 vrstice",
                    111: "111 vrstic"}  # fmt: skip


def test_dates_are_shown_as_typed_and_read_back_the_same() -> None:
    from livingmemory.ingest.metadata import parse_date

    for iso, typed in (("1975-05-12", "12. 5. 1975"), ("1975-05", "5. 1975"), ("1975", "1975")):
        assert typed_date(iso) == typed
        assert parse_date(typed, "date", "x") == iso
    assert field_value("access", "public") == "javno"
    assert field_value("access", "restricted") == "omejeno"
    assert field_value("recorded_date", "1975-05-12") == "12. 5. 1975"
    assert typed_time("2026-12-07T05:32:10+00:00") == "7. 12. 2026 05:32"


def test_library_errors_become_plain_slovenian() -> None:
    consent = InputError("#7", "public access needs a consent note (--consent: who agreed, "
                         "when, how) / javni dostop zahteva opombo o soglasju")  # fmt: skip
    audio = InputError("/tmp/x/ni-zvok.wav", "cannot be read as audio (ffmpeg: Invalid data "
                       "found when processing input)")  # fmt: skip
    date = InputError("#3", "date '31. 2. 1975' is not a valid calendar date")
    unknown = LivingMemoryError("something odd (--force to override) in /srv/archive/file.db")
    for error in (consent, audio, date, unknown):
        message = humane(error)
        for text in (message.sl, message.en):
            assert "--" not in text and "ffmpeg" not in text and "#7" not in text, text
            assert "/srv/" not in text and "/tmp/" not in text, text
    assert "soglasje" in humane(consent).sl
    assert "zvok" in humane(audio).sl
    assert "31. 2. 1975" in humane(date).sl


# -- drafts and settings, as a library ----------------------------------------------------------


def test_a_draft_is_not_a_revision_and_a_newer_save_is_never_overwritten(
    archive_db: Path, audio_files
) -> None:
    from livingmemory.review.workspace import Line, save_transcript

    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, LINES)
    with open_archive(archive_db) as archive:
        base = drafts.current_transcript_id(archive, recording_id)
        lines = [{"id": None, "start": 0, "end": 0.8, "text": "Rodila sem se v Kranju."}]
        result = drafts.save_draft(archive, recording_id, "Ana", lines, base)
        assert result["saved_at"] and not result["changed"] and result["editing"] == []
        assert drafts.load_draft(archive, recording_id, "Ana")["lines"] == lines
        assert archive.db["revisions"].count == 0  # a draft is not a revision
        seen = drafts.save_draft(archive, recording_id, "Bojan", None, base)
        assert seen["editing"] == ["Ana"] and seen["drafting"] == []
        assert drafts.presence(archive, recording_id, "Bojan")["editing"] == ["Ana"]
        assert drafts.presence(archive, recording_id, "Ana")["editing"] == ["Bojan"]
        assert drafts.check_base(archive, recording_id, base) is None
        save_transcript(archive, recording_id, [Line(0, 0.8, "Bojanov popravek.")],
                        author="Bojan", retag=False)  # fmt: skip
        assert drafts.check_base(archive, recording_id, base) == "Bojan"
        assert drafts.presence(archive, recording_id, "Ana", base)["changed"] is True
        drafts.discard_draft(archive, recording_id, "Ana")
        assert drafts.load_draft(archive, recording_id, "Ana") is None


def test_keys_are_the_volunteers_own_and_checked(archive_db: Path) -> None:
    with open_archive(archive_db) as archive:
        assert drafts.load_settings(archive, "Ana")["keys"]["merge"] == "Alt+M"
        saved = drafts.save_settings(
            archive, "Ana", {"keys": {"merge": "alt + j", "toggle": "esc"}, "skip_seconds": "3,5"}
        )
        assert saved["keys"]["merge"] == "Alt+J" and saved["skip_seconds"] == 3.5
        assert drafts.load_settings(archive, "Ana")["keys"]["merge"] == "Alt+J"
        assert drafts.load_settings(archive, "Bojan")["keys"]["merge"] == "Alt+M"
        for wanted in ({"keys": {"merge": "Alt+R"}},  # Alt+R already marks a line reviewed
                       {"keys": {"merge": "j"}},  # typing would trigger it
                       {"keys": {"nonsense": "Alt+J"}},
                       {"keys": {"merge": "Hyper+Q"}},
                       {"skip_seconds": "600"}):  # fmt: skip
            with pytest.raises(LivingMemoryError) as refused:
                drafts.save_settings(archive, "Ana", wanted)
            assert "--" not in humane(refused.value).sl
        assert drafts.load_settings(archive, "Ana")["keys"]["merge"] == "Alt+J"


# -- over HTTP, as the browser meets it ---------------------------------------------------------


@pytest.fixture
def web(archive_db: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("datasette")
    made = Client(archive_db, monkeypatch)
    yield made
    made.close()


def _config(page_text: str) -> dict:
    return json.loads(re.search(r'id="editor-config">(.*?)</script>', page_text, re.S).group(1))


def _post(web: Client, path: str, token: str, body: dict) -> object:
    return web(
        "POST", path, content=json.dumps(body),
        headers={"content-type": "application/json", "x-csrftoken": token},
    )  # fmt: skip


def test_autosave_reload_and_two_editors(
    archive_db: Path, audio_files, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("datasette")
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, LINES)
    ana, bojan = Client(archive_db, monkeypatch), Client(archive_db, monkeypatch)
    try:
        ana.login()
        bojan.login("Bojan Kralj", PASSWORD)
        editor = f"/-/workspace/{recording_id}/editor"
        page = ana("GET", editor)
        token_a, base = ana.token(editor), _config(page.text)["base"]
        lines = json.loads(re.search(r'id="lines-data">(.*?)</script>', page.text, re.S).group(1))
        lines[0]["text"] = "Rodila sem se v Kranju."
        saved = _post(ana, f"/-/workspace/{recording_id}/draft", token_a,
                      {"lines": lines, "base": base})  # fmt: skip
        assert saved.status_code == 200 and saved.json()["saved_at"]
        assert db_rows(archive_db, "SELECT count(*) AS n FROM revisions")[0]["n"] == 0
        # A reload gets the draft back.
        assert _config(ana("GET", editor).text)["draft"]["lines"][0]["text"] == (
            "Rodila sem se v Kranju."
        )
        # Bojan opens it: both are told about the other.
        page_b = bojan("GET", editor)
        assert _config(page_b.text)["presence"]["editing"] == ["Ana Zupan"]
        token_b = bojan.token(editor)
        seen = _post(ana, f"/-/workspace/{recording_id}/draft", token_a, {"base": base})
        assert seen.json()["editing"] == ["Bojan Kralj"]
        # Bojan saves first; Ana's save from the older version is refused, kept as a draft.
        other = [dict(line, text=line["text"].replace("Kranu", "Kranju")) for line in lines]
        done = _post(bojan, f"/-/workspace/{recording_id}/transcript", token_b,
                     {"lines": other, "base": base})  # fmt: skip
        assert done.status_code == 200 and done.json()["ok"], done.text
        refused = _post(ana, f"/-/workspace/{recording_id}/transcript", token_a,
                        {"lines": lines, "base": base})  # fmt: skip
        assert refused.status_code == 409
        assert "Bojan Kralj" in refused.json()["error"] and "osnutek" in refused.json()["error"]
        texts = db_rows(archive_db, "SELECT s.text FROM segments s JOIN current_transcripts c "
                        "ON c.transcript_id = s.transcript_id ORDER BY s.start")  # fmt: skip
        assert [t["text"] for t in texts][2] == "Oče je delal v Kranju."  # Bojan's stands
        assert _config(ana("GET", editor).text)["draft"]["base"] == base  # Ana's draft kept
        # Saving from the current version goes through and clears the draft.
        fresh = _config(ana("GET", editor).text)["base"]
        ok = _post(ana, f"/-/workspace/{recording_id}/transcript", token_a,
                   {"lines": lines, "base": fresh})  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert _config(ana("GET", editor).text)["draft"] is None
    finally:
        ana.close()
        bojan.close()


def test_redaction_from_the_editor_uses_the_cli_rules(web: Client, archive_db: Path,
                                                      audio_files) -> None:  # fmt: skip
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, LINES)
    web.login()
    editor = f"/-/workspace/{recording_id}/editor"
    token = web.token(editor)
    done = _post(web, f"/-/workspace/{recording_id}/redact", token,
                 {"start": 0.8, "end": 1.6, "reason": "prosila je"})  # fmt: skip
    assert done.status_code == 200 and done.json()["redactions"] == [[0.8, 1.6]]
    rows = db_rows(archive_db, "SELECT * FROM redactions")
    assert [(r["start"], r["end"], r["reason"]) for r in rows] == [(0.8, 1.6, "prosila je")]
    outside = _post(web, f"/-/workspace/{recording_id}/redact", token,
                    {"start": 0, "end": 900})  # fmt: skip
    assert outside.status_code == 400 and "ni znotraj posnetka" in outside.json()["error"]
    assert len(db_rows(archive_db, "SELECT * FROM redactions")) == 1
    assert _config(web("GET", editor).text)["redactions"] == [[0.8, 1.6]]


def test_peaks_and_settings_pages(web: Client, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, LINES)
    web.login()
    peaks = web("GET", f"/-/workspace/{recording_id}/peaks.json").json()["peaks"]
    duration = db_rows(archive_db, "SELECT duration FROM recordings")[0]["duration"]
    assert abs(len(peaks) - duration * drafts.PEAKS_PER_SECOND) <= 1
    assert max(peaks) == 1.0 and min(peaks) < 0.2  # speech and the pauses between words
    token = web.token("/-/workspace/settings")
    form = {"csrftoken": token, "skip_seconds": "3", "rewind_seconds": "1",
            **{f"key_{a}": "" for a in drafts.ACTIONS}, "key_merge": "Alt+R"}  # fmt: skip
    refused = web("POST", "/-/workspace/settings", data=form)
    assert refused.status_code == 400 and "dvema dejanjema" in refused.text
    assert 'value="Alt+R"' in refused.text and 'value="3"' in refused.text  # kept as typed
    ok = web("POST", "/-/workspace/settings", data=dict(form, key_merge="Alt+J"))
    assert ok.status_code == 200 and "shranjene" in ok.text
    page = web("GET", f"/-/workspace/{recording_id}/editor").text
    assert _config(page)["keys"]["merge"] == "Alt+J" and _config(page)["skip"] == 3
    assert "<dt>Alt+J</dt>" in page  # the keys listed on the page are the volunteer's


def test_workspace_pages_speak_plain_slovenian(web: Client, archive_db: Path,
                                               audio_files) -> None:  # fmt: skip
    recording_id = add_one(
        archive_db, audio_files["wav"], "--date", "12. 5. 1975", "--language", "sl"
    )
    put_transcript(archive_db, recording_id, LINES)
    with open_archive(archive_db) as archive:
        archive.db.execute("UPDATE segments SET flags = '[\"low_confidence\"]', suspect = 1")
        archive.db.execute("UPDATE transcripts SET suspect_segments = 2")
        archive.db.conn.commit()
    wrong = web.login(password="napačno-geslo")
    assert wrong.status_code == 403 and 'value="Ana Zupan"' in wrong.text  # name kept
    assert "Napačno ime ali geslo" in wrong.text
    web.login()
    assert "2 sumljivi vrstici" in web("GET", "/-/workspace").text
    page = web("GET", f"/-/workspace/{recording_id}").text
    assert 'value="12. 5. 1975"' in page
    token = web.token(f"/-/workspace/{recording_id}")
    form = {"csrftoken": token, "title": "Spomini", "narrators": "", "interviewers": "",
            "recorded_date": "12. 5. 1975", "place": "", "language": "sl", "access": "public",
            "embargo_until": "", "consent_notes": "", "notes": ""}  # fmt: skip
    refused = web("POST", f"/-/workspace/{recording_id}", data=form)
    assert refused.status_code == 400
    assert "Za javni dostop vpišite soglasje" in refused.text and "--consent" not in refused.text
    assert 'value="12. 5. 1975"' in refused.text and 'value="Spomini"' in refused.text
    done = web("POST", f"/-/workspace/{recording_id}",
                  data=dict(form, consent_notes="ustno, 1. 3. 2026"))  # fmt: skip
    assert "Shranjeno: 3 spremembe." in done.text, done.text
    history = done.text.split('id="history"')[1]
    assert "omejeno" in history and "javno" in history and "restricted" not in history
    token = web.token("/-/workspace/upload")
    files = [("files", ("ni-zvok.wav", b"RIFF nothing", "audio/wav"))]
    upload = web("POST", "/-/workspace/upload", data={"csrftoken": token, "title": "X",
                    "date": "3. 4. 1960"}, files=files)  # fmt: skip
    assert "ni mogoče prebrati kot zvok" in upload.text
    assert "ffmpeg" not in upload.text and "Invalid data" not in upload.text
    assert 'value="3. 4. 1960"' in upload.text


def test_new_routes_need_a_login_and_the_token(web: Client, archive_db: Path, audio_files) -> None:
    recording_id = add_one(archive_db, audio_files["wav"])
    put_transcript(archive_db, recording_id, LINES)
    posts = [
        (f"/-/workspace/{recording_id}/draft", {"json": {"lines": [], "base": 1}}),
        (f"/-/workspace/{recording_id}/redact", {"json": {"start": 0, "end": 1}}),
        ("/-/workspace/settings", {"data": {"key_merge": "Alt+J"}}),
    ]
    for path, body in posts:  # no login
        assert web("POST", path, **body).status_code == 403, path
    assert web("GET", f"/-/workspace/{recording_id}/peaks.json").status_code == 302
    web.login()
    for path, body in posts:  # logged in, no CSRF token
        assert web("POST", path, **body).status_code == 403, path
    for table in ("drafts", "redactions", "volunteer_settings"):
        assert db_rows(archive_db, f"SELECT * FROM {table}") == [], table
