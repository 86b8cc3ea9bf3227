"""The researchers' pages (Datasette's database, table, row and query pages of the public
site) in Chromium at 1366 px and on a 390 px phone: Slovenian (``lang="sl"``), nothing wider
than the screen, and no serious or critical axe-core finding. Screenshots go to
``test-artifacts/researchers-*.png`` (git-ignored)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from site_fixtures import build_site
from support import REPO
from test_browser import CHROMIUM, chromium_browser, served

ARTIFACTS = REPO / "test-artifacts"
SIZES = {"desktop": (1366, 800), "phone": (390, 844)}
PATHS = {
    "database": "/public",
    "segments": "/public/segments",
    "segments-filtered": "/public/segments?speaker=Ana+Novak&_sort_desc=start",
    "row": "/public/segments/1",
    "recordings": "/public/recordings",
    "map": "/public/place_map",
    "search-query": "/public/search_transcripts?q=Kranj",
    "place-query": "/public/place_mentions?place=Kranj",
    "missing": "/public/nothing_here",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]
) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("researchers") / "archive"
    site = build_site(folder, audio_files)
    with served(site["archive_db"], folder.parent / "serve.log") as base:
        yield {**site, "base": base}


@pytest.mark.parametrize("size", list(SIZES))
def test_researcher_pages_fit_and_pass_axe(server: dict[str, Any], size: str) -> None:
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    width, height = SIZES[size]
    problems, report = [], {}
    with chromium_browser() as browser:
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        for name, path in PATHS.items():
            response = page.goto(server["base"] + path)
            assert response is not None
            assert response.status == (404 if name == "missing" else 200), path
            assert page.locator("html").get_attribute("lang") == "sl", path
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            assert scroll_width <= width, f"{path} is {scroll_width} px wide at {width} px"
            violations = axe.run(page).response["violations"]
            serious = [v for v in violations if v["impact"] in ("serious", "critical")]
            problems += [f"{name}: {v['id']} {v['help']}" for v in serious]
            report[name] = {v["id"]: v["impact"] for v in violations}
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"researchers-{name}-{size}.png"), full_page=True)
        # Slovenian words where Datasette writes English.
        page.goto(server["base"] + "/public/segments")
        assert page.get_by_label("Išči po besedilu:").is_visible()
        assert page.get_by_role("button", name="Uporabi").is_visible()
        assert page.get_by_label("Stolpec novega pogoja").count() == 1
        assert "Ti podatki kot" in page.locator("main").inner_text()
        context.close()
    (ARTIFACTS / f"researchers-axe-{size}.json").write_text(json.dumps(report, indent=1))
    assert problems == []
    assert errors == []
