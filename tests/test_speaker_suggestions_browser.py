"""Confirming a stored voice's suggestion in the workspace, in real headless Chromium at
1366 px and 390 px, against a running ``livingmemory serve --private`` (issue 23)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import db_rows
from test_browser import CHROMIUM, chromium_browser, served
from test_speaker_naming import _suggested_archive
from test_workspace_browser import ARTIFACTS, PASSWORD, VOLUNTEER, login, new_page

from livingmemory.review.workspace import set_password

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}"),
]


@pytest.fixture
def running(archive_db: Path) -> Iterator[dict[str, Any]]:
    recording_id = _suggested_archive(archive_db)
    set_password(archive_db.parent, VOLUNTEER, PASSWORD)
    log = archive_db.parent.parent / "serve.log"
    with served(archive_db, log, "--private", ready="/-/workspace/login", stop_after=15) as base:
        yield {"base": base, "id": recording_id, "db": archive_db}


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_a_volunteer_confirms_a_suggestion(
    running: dict[str, Any], width: int, height: int
) -> None:
    with chromium_browser() as browser:
        page = new_page(browser, width, height)
        base, recording_id = running["base"], running["id"]
        login(page, base)
        page.goto(f"{base}/-/workspace/{recording_id}")
        section = page.locator(".suggestions")
        assert "Govorec 1 — morda Ana Zupan, 0,72" in section.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
        violations = axe_module.Axe().run(page, context=".suggestions").response["violations"]
        serious = [v["id"] for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"workspace-suggestion-{width}.png"), full_page=True)
        page.get_by_role("button", name="Potrdi: Ana Zupan").click()
        page.wait_for_url(f"{base}/-/workspace/{recording_id}#govorci")
        assert page.locator(".suggestions").count() == 0
        assert page.lm_errors == []
    speakers = {r["speaker"] for r in db_rows(running["db"], "SELECT speaker FROM segments")}
    assert speakers == {"Ana Zupan", "Marija Košir"}
