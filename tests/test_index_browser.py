"""The interview index in a real browser: written beside the player, read as the Kazalo.

A real ``livingmemory serve --private`` runs on an archive with one transcribed recording and
a volunteer account. Headless Chromium (Debian's /usr/bin/chromium via Playwright) logs in,
opens the editor, presses Alt+I at the player's time, types a point with the keyboard only
and saves it; a machine suggestion is accepted; the archive must hold both under the
volunteer's name. After ``publish``, ``livingmemory serve`` shows the Kazalo on the public
interview page: titles with times, the synopsis on open, a jump to the moment, keywords
linking to search. axe-core finds no serious or critical problem in the index editor (with
its form open) or the Kazalo at 390 and 1366 px. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from support import REPO, add_json, db_rows
from test_browser import CHROMIUM, chromium_browser, served

from livingmemory.archive.store import init_archive, open_archive
from livingmemory.review.workspace import set_password

ARTIFACTS = REPO / "test-artifacts"
VOLUNTEER, PASSWORD = "Ana Zupan", "anino-geslo-2026"
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
LINES = [
    "Rodila sem se v Kranju.",
    "Oče je delal v železarni na Jesenicah.",
    "Potem je bila vojna.",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}"),
]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, audio_files) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("index-browser") / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    set_password(folder, VOLUNTEER, PASSWORD)
    result, added = add_json(archive_db, audio_files["ogg"], "--title", "Spomini iz Kranja",
                             "--narrator", "Marija Košir", "--language", "sl", "--access",
                             "public")  # fmt: skip
    assert result.exit_code == 0, str(result)
    recording_id = added[0]["recording_id"]
    with open_archive(archive_db) as opened:
        transcript = opened.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "test",
             "language": "sl", "started_at": "2026-01-01T00:00:00+00:00",
             "finished_at": "2026-01-01T00:00:01+00:00", "is_current": 1},
        ).last_pk  # fmt: skip
        segments = []
        for position, text in enumerate(LINES):
            row = {"transcript_id": transcript, "recording_id": recording_id,
                   "position": position, "start": position * 1.2, "end": (position + 1) * 1.2,
                   "text": text}  # fmt: skip
            segments.append(opened.db["segments"].insert(row).last_pk)
        opened.db["entities"].insert(
            {"recording_id": recording_id, "segment_id": segments[2], "label": "TOPIC",
             "text": "vojna", "canonical": "war", "start_seconds": 2.4, "source": "machine",
             "confidence": 0.9},
        )  # fmt: skip
        opened.db.conn.commit()
    return {"db": archive_db, "folder": folder, "id": recording_id}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


def new_page(browser: Any, size: str) -> Any:
    width, height = SIZES[size]
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.lm_errors = []
    page.on("pageerror", lambda error: page.lm_errors.append(str(error)))
    return page


def serious(page: Any, name: str) -> list[str]:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    violations = axe_module.Axe().run(page).response["violations"]
    ARTIFACTS.mkdir(exist_ok=True)
    found = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in violations
    ]
    (ARTIFACTS / f"index-axe-{name}.json").write_text(json.dumps(found, indent=1))
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_write_the_index_beside_the_player_then_read_it_as_kazalo(
    archive: dict[str, Any], browser: Any
) -> None:
    base_log = archive["folder"].parent / "serve-private.log"
    editor = f"/-/workspace/{archive['id']}/editor"
    with served(archive["db"], base_log, "--private", ready="/-/workspace/login") as base:
        for size in ("desktop", "phone"):  # written at the desk, looked at on the phone
            page = new_page(browser, size)
            page.goto(f"{base}/-/workspace/login?next={editor}")
            page.fill("input[name=name]", VOLUNTEER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}{editor}")
            page.wait_for_selector("#ix-list", state="attached")
            # Logged in, but without the page's CSRF token: refused, nothing written.
            forged = page.request.post(
                f"{base}/-/workspace/{archive['id']}/index",
                data=json.dumps({"action": "add", "point": {"at": 1, "title": "Ponarejena"}}),
                headers={"content-type": "application/json"},
            )
            assert forged.status == 403
            if size == "desktop":
                page.click("[data-ix=suggest]")  # a machine draft where the topic changes
                page.wait_for_selector(".ix-point.draft")
                page.locator(".ix-point.draft button:has-text('Potrdi')").first.click()
                page.wait_for_function("!document.querySelector('.ix-point.draft')")
                page.evaluate("document.getElementById('audio').currentTime = 1.3")
                page.wait_for_function("document.getElementById('audio').currentTime > 1.2")
                page.keyboard.press("Alt+i")  # add a point here, keyboard only
                page.wait_for_selector("#ix-dialog[open]")
                assert page.input_value("#ix-at") == "0:00:01"
                assert page.evaluate("document.activeElement.id") == "ix-title"
                page.keyboard.type("Oče v železarni")
                page.keyboard.press("Tab")
                page.keyboard.type("O delu na Jesenicah.")
                page.fill("#ix-keywords", "železarna, Jesenice")
                page.fill("#ix-place", "Jesenice")
                page.fill("#ix-links", "https://sl.wikipedia.org/wiki/Jesenice Jesenice")
                page.evaluate("document.getElementById('ix-dialog').scrollTop = 0")
                shot(page, "index-editor-form-desktop.png")
                assert serious(page, "editor-form-desktop") == []
                page.keyboard.press("Control+Enter")
                page.wait_for_function("!document.getElementById('ix-dialog').open")
                page.wait_for_selector(".ix-point .ix-title:has-text('Oče v železarni')")
            else:
                page.click("#ix-details summary")
                page.click("[data-ix=add]")
                page.wait_for_selector("#ix-dialog[open]")
                assert serious(page, "editor-form-phone") == []
                shot(page, "index-editor-form-phone.png")
                page.keyboard.press("Escape")
                page.wait_for_function("!document.getElementById('ix-dialog').open")
            assert page.locator(".ix-point").count() == 2
            shot(page, f"index-editor-{size}.png")
            assert serious(page, f"editor-{size}") == []
            assert page.lm_errors == []
    rows = db_rows(archive["db"], "SELECT * FROM index_points ORDER BY at")
    assert "Ponarejena" not in {r["title"] for r in rows}
    assert [(r["at"], r["status"], r["source"], r["updated_by"]) for r in rows] == [
        (0.0, "accepted", "machine", VOLUNTEER), (1.0, "accepted", "volunteer", VOLUNTEER)
    ]  # fmt: skip
    assert rows[1]["title"] == "Oče v železarni" and rows[1]["lat"] is not None
    assert json.loads(rows[1]["keywords"]) == ["železarna", "Jesenice"]
    from livingmemory.site.publish import publish

    with open_archive(archive["db"]) as opened:
        publish(opened)
    public_log = archive["folder"].parent / "serve-public.log"
    with served(archive["db"], public_log) as base:
        for size in SIZES:
            page = new_page(browser, size)
            page.goto(f"{base}/intervju/{archive['id']}")
            kazalo = page.locator("nav.kazalo")
            assert kazalo.locator("summary").count() == 2
            first = kazalo.locator("details").nth(1)  # the volunteer's point at 0:00:01
            assert not first.locator(".kazalo-synopsis").is_visible()
            first.locator("summary").click()
            assert first.locator(".kazalo-synopsis").inner_text() == "O delu na Jesenicah."
            href = first.locator("a.kazalo-kw").first.get_attribute("href")
            assert href == "/iskanje?q=%C5%BEelezarna"
            first.locator("a.kazalo-play").click()
            page.wait_for_function("document.getElementById('lm-audio').currentTime >= 0.99")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= SIZES[size][0], f"{width} px wide"
            kazalo.scroll_into_view_if_needed()
            shot(page, f"index-kazalo-{size}.png")
            assert serious(page, f"kazalo-{size}") == []
            assert page.lm_errors == []
            page.goto(f"{base}{href}")
            assert "Oče v železarni" in page.inner_text("main")  # the index hit, with its time
