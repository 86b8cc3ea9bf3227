"""The volunteers' workspace in a real browser, at desktop and phone sizes.

A real ``livingmemory serve --private`` (with its worker) runs in a subprocess on a temporary
archive with one volunteer account in ``users.yml``. Headless Chromium (Debian's
/usr/bin/chromium through Playwright) logs in, uploads a recording generated with espeak-ng
with its metadata, watches the worker transcribe it, then corrects two lines and merges two
others in the transcript editor with the keyboard only and saves; ``export`` and the
``revisions`` table must show the corrections under the volunteer's name. Screenshots go to
``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import REPO, add_json, db_rows, run_cli
from test_browser import CHROMIUM, chromium_browser, served

from livingmemory.archive.store import init_archive, open_archive
from livingmemory.review.workspace import set_password

ARTIFACTS = REPO / "test-artifacts"
VOLUNTEER, PASSWORD = "Ana Zupan", "anino-geslo-2026"
MACHINE_LINES = [
    "Rodila sem se leta tisoc",
    "devetsto dvajset v Kranu",
    "Moj oče je",
    "delal v železarni",
    "na Jesenicah.",
]
STEP = 0.8

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, audio_files) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("workspace") / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    set_password(folder, VOLUNTEER, PASSWORD)
    result, added = add_json(archive_db, audio_files["ogg"], "--title", "Spomini iz Kranja",
                             "--narrator", "Marija Košir", "--language", "sl")  # fmt: skip
    assert result.exit_code == 0, str(result)
    recording_id = added[0]["recording_id"]
    # An English recording for the command line to transcribe while the worker works (#2).
    result, english = add_json(archive_db, audio_files["en_wav"], "--language", "en")
    assert result.exit_code == 0 and english[0]["recording_id"] == recording_id + 1
    with open_archive(archive_db) as archive:
        transcript = archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "test",
             "language": "sl", "started_at": "2026-01-01T00:00:00+00:00",
             "finished_at": "2026-01-01T00:00:01+00:00", "is_current": 1,
             "suspect_segments": 1},
        ).last_pk  # fmt: skip
        for position, text in enumerate(MACHINE_LINES):
            archive.db["segments"].insert(
                {"transcript_id": transcript, "recording_id": recording_id,
                 "position": position, "start": position * STEP, "end": (position + 1) * STEP,
                 "text": text, "speaker": "Marija Košir",
                 "flags": '["low_confidence"]' if position == 1 else None,
                 "suspect": int(position == 1)},
            )  # fmt: skip
        archive.db.conn.commit()

    log = folder.parent / "serve.log"
    with served(archive_db, log, "--private", ready="/-/workspace/login", stop_after=15) as base:
        yield {"base": base, "db": archive_db, "folder": folder, "id": recording_id, "log": log}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


def new_page(browser: Any, width: int, height: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.lm_errors = []
    page.on("pageerror", lambda error: page.lm_errors.append(str(error)))
    return page


def login(page: Any, base: str) -> None:
    page.goto(f"{base}/-/workspace")
    assert "/-/workspace/login" in page.url
    assert "Prijava" in page.inner_text("h1")
    page.fill("input[name=name]", VOLUNTEER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/-/workspace")


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 0
    return path


def test_upload_is_transcribed_by_the_worker(
    workspace: dict[str, Any], browser: Any, tmp_path: Path
) -> None:
    speech = tmp_path / "pogovor-z-babico.wav"
    sentence = "Dober dan. Danes bomo govorili o Bledu in o železarni."
    subprocess.run(["espeak-ng", "-v", "sl", "-w", str(speech), sentence], check=True)
    page = new_page(browser, 1280, 800)
    base = workspace["base"]
    login(page, base)
    assert "Spomini iz Kranja" in page.inner_text("table.interviews")
    page.click("text=Naloži posnetke")
    page.fill("input[name=title]", "Pogovor z babico")
    page.fill("input[name=narrator]", "Frančiška Novak")
    page.fill("input[name=interviewer]", VOLUNTEER)
    page.fill("input[name=date]", "12. 5. 2025")
    page.fill("input[name=place]", "Bled")
    page.select_option("select[name=access]", "public")
    page.fill("textarea[name=consent]", "Podpisano soglasje, 12. 5. 2025")
    page.set_input_files("input[name=files]", str(speech))
    shot(page, "workspace-upload.png")
    kinds: list[str] = []
    page.on("request", lambda r: kinds.append(r.resource_type) if r.method == "POST" else None)
    page.click("form.metadata button[type=submit]")
    # The command line transcribes #2 while the worker transcribes the upload (#3).
    cli = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", "transcribe", "2", "--model", "tiny.en",
         "--archive", str(workspace["db"])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    result = page.inner_text(".results")
    assert "dodano kot #3" in result, result
    assert kinds == ["xhr"]  # sent by upload.js, with its progress bar
    assert page.inner_text("#upload-label") == ""  # the result page, fresh
    row = db_rows(workspace["db"], "SELECT * FROM recordings WHERE id = 3")[0]
    assert (row["title"], row["place"], row["recorded_date"], row["access"], row["added_by"]) == (
        "Pogovor z babico", "Bled", "2025-05-12", "public", VOLUNTEER)  # fmt: skip

    page.goto(f"{base}/-/workspace")
    state = page.locator('tr[data-id="3"] .state')
    assert state.inner_text() in ("prepisovanje", "prepisano", "potrebuje pregled", "označeno")
    deadline = time.monotonic() + 300
    while state.inner_text() == "prepisovanje" and time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        page.reload()
        state = page.locator('tr[data-id="3"] .state')
    assert state.inner_text() in ("prepisano", "potrebuje pregled", "označeno"), workspace[
        "log"
    ].read_text()[-3000:]
    jobs = db_rows(workspace["db"], "SELECT * FROM jobs WHERE recording_id = 3")
    assert [j["status"] for j in jobs] == ["done"]
    output = cli.communicate(timeout=300)[0]
    assert cli.returncode == 0, output
    for text in (output, workspace["log"].read_text()):
        assert "locked" not in text.lower()
    sql = "SELECT recording_id, count(*) AS n FROM transcripts WHERE source = 'machine' "
    runs = db_rows(workspace["db"], sql + "GROUP BY recording_id ORDER BY recording_id")
    assert [(r["recording_id"], r["n"]) for r in runs] == [(1, 1), (2, 1), (3, 1)]
    # What base makes of espeak's Slovenian varies with the machine's threads ("Dober dan"
    # one run, "Tuberta, tanem..." another): check that the worker transcribed the upload in
    # its language, inside the recording, not the words themselves.
    [transcript] = db_rows(workspace["db"], "SELECT * FROM transcripts WHERE recording_id = 3")
    assert transcript["language"] == "sl" and transcript["finished_at"]
    texts = db_rows(workspace["db"], "SELECT * FROM segments WHERE recording_id = 3")
    assert texts and all(t["text"].strip() for t in texts)
    assert all(0 <= t["start"] < t["end"] <= row["duration"] + 0.05 for t in texts)
    shot(page, "workspace-list.png")
    assert page.lm_errors == []


def test_editor_corrects_and_merges_with_the_keyboard(
    workspace: dict[str, Any], browser: Any
) -> None:
    page = new_page(browser, 1280, 800)
    base, recording_id = workspace["base"], workspace["id"]
    login(page, base)
    page.goto(f"{base}/-/workspace/{recording_id}/editor")
    lines = page.locator(".line")
    assert lines.count() == len(MACHINE_LINES)
    assert page.locator(".line.suspect").count() == 1
    assert "nizka zanesljivost" in page.locator(".line.suspect .flags").inner_text()

    # Listen: Esc plays, the line being heard is highlighted, Esc pauses, F2 slows down.
    page.locator('.line[data-index="0"] textarea').click()
    page.keyboard.press("Escape")
    page.wait_for_selector(".line.current", timeout=15000)
    page.keyboard.press("Escape")
    assert page.evaluate("document.getElementById('audio').paused")
    page.keyboard.press("F2")
    assert page.evaluate("document.getElementById('audio').playbackRate") == 0.75
    page.evaluate("document.getElementById('audio').currentTime = 3")
    page.keyboard.press("F1")
    assert page.evaluate("document.getElementById('audio').currentTime") < 2.1

    # Correct line 1, jump to the suspect line with F3 and correct it, merge lines 3 and 4.
    page.locator('.line[data-index="0"] textarea').focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("Rodila sem se leta tisoč")
    page.keyboard.press("F3")
    assert page.evaluate("document.activeElement.closest('.line').dataset.index") == "1"
    page.keyboard.press("Control+a")
    page.keyboard.type("devetsto dvaintrideset v Kranju")
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Alt+m")
    assert lines.count() == len(MACHINE_LINES) - 1
    # Split the last line after "na" (Ctrl+Enter at the cursor).
    page.keyboard.press("Alt+ArrowDown")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Control+Enter")
    assert lines.count() == len(MACHINE_LINES)
    page.locator('.line[data-index="0"] textarea').focus()
    page.keyboard.press("Alt+r")  # line 1 reviewed; the cursor moves on
    assert page.locator(".line.reviewed").count() == 1
    assert page.evaluate("document.activeElement.closest('.line').dataset.index") == "1"
    page.locator('.line[data-index="4"] textarea').focus()
    page.evaluate("document.getElementById('audio').currentTime = 0.9")
    page.wait_for_selector('.line.current[data-index="1"]')
    shot(page, "workspace-editor.png")  # the README's picture: mid-correction
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "document.getElementById('status').textContent.startsWith('Shranjeno')", timeout=60000
    )
    saved = [area.input_value() for area in page.locator(".line textarea").all()]
    assert saved == ["Rodila sem se leta tisoč", "devetsto dvaintrideset v Kranju",
                     "Moj oče je delal v železarni", "na", "Jesenicah."]  # fmt: skip
    shot(page, "workspace-editor-saved.png")
    assert page.lm_errors == []

    # The interview's page: a metadata edit, and the history of edits and corrections.
    page.goto(f"{base}/-/workspace/{recording_id}")
    page.fill("input[name=place]", "Kranj")
    page.click("form.metadata button[type=submit]")
    assert "Shranjeno" in page.inner_text(".message")
    history = page.inner_text("#history")
    assert VOLUNTEER in history and "Kranj" in history and "dvaintrideset" in history
    shot(page, "workspace-interview.png")

    exported = run_cli("export", recording_id, "--format", "txt", "--archive", workspace["db"])
    assert exported.exit_code == 0, str(exported)
    for text in ("Rodila sem se leta tisoč", "devetsto dvaintrideset v Kranju",
                 "Moj oče je delal v železarni", "Jesenicah."):  # fmt: skip
        assert text in exported.stdout, exported.stdout
    assert "Kranu" not in exported.stdout
    revisions = db_rows(
        workspace["db"], "SELECT * FROM revisions WHERE recording_id = ?", (recording_id,)
    )
    assert {r["author"] for r in revisions} == {VOLUNTEER}
    changes = {(r["old_text"], r["new_text"]) for r in revisions}
    assert ("devetsto dvajset v Kranu", "devetsto dvaintrideset v Kranju") in changes
    assert ("Rodila sem se leta tisoc", "Rodila sem se leta tisoč") in changes
    assert ("Moj oče je", "Moj oče je delal v železarni") in changes
    assert ("delal v železarni", None) in changes  # merged into the line before
    assert ("na Jesenicah.", "na") in changes and ("na Jesenicah.", "Jesenicah.") in changes
    marks = db_rows(workspace["db"], "SELECT s.text, s.reviewed FROM segments s JOIN "
                    "current_transcripts c ON c.transcript_id = s.transcript_id WHERE "
                    "c.recording_id = ? ORDER BY s.start", (recording_id,))  # fmt: skip
    assert [m["reviewed"] for m in marks] == [1, 0, 0, 0, 0]
    shown = run_cli("revisions", recording_id, "--archive", workspace["db"])
    assert shown.exit_code == 0 and VOLUNTEER in shown.stdout
    assert "devetsto dvaintrideset v Kranju" in shown.stdout
    machine = db_rows(workspace["db"], "SELECT text FROM segments s JOIN transcripts t ON "
                      "t.id = s.transcript_id WHERE t.source = 'machine' AND "
                      "s.recording_id = ? ORDER BY position", (recording_id,))  # fmt: skip
    assert [m["text"] for m in machine] == MACHINE_LINES


def test_phone_sized_pages_fit_the_screen(workspace: dict[str, Any], browser: Any) -> None:
    page = new_page(browser, 390, 844)
    base, recording_id = workspace["base"], workspace["id"]
    login(page, base)
    for path, name in (("", "list"), (f"/{recording_id}", "interview"),
                       (f"/{recording_id}/editor", "editor"), ("/upload", "upload"),
                       ("/poti", "trails")):  # fmt: skip
        page.goto(f"{base}/-/workspace{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{name} is {width} px wide"
        shot(page, f"workspace-{name}-phone.png")
    assert page.lm_errors == []


def test_trail_form_saves_and_passes_axe(workspace: dict[str, Any], browser: Any) -> None:
    """The heritage-trail form (issue 25): filled and saved in the browser; axe-core finds no
    serious or critical problem at 1366 px and 390 px."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright").Axe()
    base, recording_id = workspace["base"], workspace["id"]
    for width, height in ((1366, 900), (390, 844)):
        page = new_page(browser, width, height)
        login(page, base)
        page.goto(f"{base}/-/workspace/poti")
        problems = [
            f"{v['id']}: {v['help']}"
            for v in axe.run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert problems == [], problems
    page.fill("input[name=title]", "Pot ob Savi")
    page.fill("input[name=place_1]", "Jesenice")
    page.select_option("select[name=recording_1]", str(recording_id))
    page.fill("input[name=at_1]", "0:01")
    page.click("form.metadata button[type=submit]")
    page.wait_for_url("**/-/workspace/poti/pot-ob-savi?shranjeno=1")
    assert "Pot je shranjena" in page.inner_text("main")
    shot(page, "workspace-trail-phone.png")
    assert page.lm_errors == []
