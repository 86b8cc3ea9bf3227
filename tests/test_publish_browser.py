"""The workspace's "Objavi" page in a real browser (issue 21), at 1366 px and 390 px.

A real ``livingmemory serve --private`` on an archive with one published interview and one
added since: the list marks it "čaka na objavo", the Objavi page lists it as new, the button
publishes it in the background while the page shows progress, and the history names the
volunteer. Each size: no sideways scrolling, axe-core finds no serious or critical problem;
screenshots in ``test-artifacts/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import add_json
from test_browser import CHROMIUM, chromium_browser, served
from test_workspace_browser import PASSWORD, VOLUNTEER, login, shot

from livingmemory.archive.access import PUBLIC_DB, PUBLIC_DIR
from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.review.workspace import set_password
from livingmemory.site.publish import publish

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}"),
]


def _add(archive_db: Path, audio: Path, title: str) -> int:
    result, added = add_json(archive_db, audio, "--title", title, "--access", "public",
                             "--consent", "podpisano 2024")  # fmt: skip
    assert result.exit_code == 0, str(result)
    return added[0]["recording_id"]


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)], ids=["desktop", "phone"])
def test_objavi_publishes_from_the_workspace(
    size: tuple[int, int], tmp_path: Path, audio_files: dict[str, Path]
) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    folder = tmp_path / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    set_password(folder, VOLUNTEER, PASSWORD)
    first = _add(archive_db, audio_files["wav"], "Spomini iz Kranja")
    with open_archive(archive_db) as archive:
        publish(archive)
    second = _add(archive_db, audio_files["ogg"], "Žaga na Jesenicah")
    label = "desktop" if size[0] > 1000 else "phone"
    with (
        served(archive_db, tmp_path / "serve.log", "--private", "--no-worker",
               ready="/-/workspace/login") as base,
        chromium_browser() as browser,
    ):  # fmt: skip
        page = browser.new_context(viewport={"width": size[0], "height": size[1]}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        login(page, base)
        row = page.locator(f"tr[data-id='{second}']")
        assert "čaka na objavo" in row.inner_text()
        assert "čaka na objavo" not in page.locator(f"tr[data-id='{first}']").inner_text()
        page.click("text=Objavi")
        page.wait_for_url(f"{base}/-/workspace/objavi")
        main = page.inner_text("main")
        assert "Novi intervjuji" in main and "Žaga na Jesenicah" in main
        problems = []
        for name in ("preview", "done"):
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= size[0], f"{name} is {width} px wide"
            for violation in axe_module.Axe().run(page).response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    problems.append(f"{name}: {violation['id']} {violation['help']}")
            shot(page, f"workspace-objavi-{name}-{label}.png")
            if name == "preview":
                page.click("main button[type=submit]")
                page.wait_for_selector("text=končano", timeout=60_000)
        assert problems == []
        assert "Ana Zupan" in page.inner_text("main")
        page.goto(f"{base}/-/workspace")
        assert "čaka na objavo" not in page.inner_text("main")
        assert errors == []
    with sqlite3.connect(folder / PUBLIC_DIR / PUBLIC_DB) as conn:
        assert {r[0] for r in conn.execute("SELECT id FROM recordings")} == {first, second}
