"""The public site's pages in a real browser, at a desktop and a phone size.

``livingmemory serve`` runs in a subprocess on a published archive (``site_fixtures``: a
public Slovenian interview of about 4 s of Ogg speech whose title and transcript carry
hostile markup, a public English one, a restricted and an embargoed one). Chromium (Debian's
/usr/bin/chromium, driven by Playwright) checks that a clicked transcript line plays from its
start, that the spoken line is highlighted as playback advances, that no page scrolls sideways
on a 390 px phone, that hostile markup never runs, and axe-core's serious and critical
findings. Screenshots go to ``test-artifacts/site-*.png`` (git-ignored).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from site_fixtures import SL_LINES, build_site
from support import REPO
from test_browser import CHROMIUM, chromium_browser, served

ARTIFACTS = REPO / "test-artifacts"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}

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
    folder = tmp_path_factory.mktemp("site-browser") / "archive"
    site = build_site(folder, audio_files)
    with served(site["archive_db"], folder.parent / "serve.log") as base:
        yield {**site, "base": base}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser("--autoplay-policy=no-user-gesture-required") as chromium:
        yield chromium


@pytest.fixture(params=list(SIZES))
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    width, height = SIZES[request.param]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.lm_errors = errors  # type: ignore[attr-defined]
    page.lm_size = request.param  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def paths(server: dict[str, Any]) -> dict[str, str]:
    return {
        "home": "/",
        "interview": f"/intervju/{server['ids']['sl']}",
        "place": "/kraj/Kranj",
        "person": "/oseba/Ana%20Novak",
        "topic": "/tema/war",
        "decade": "/desetletje/1950",
        "search": "/iskanje?q=Kranj",
        "home-en": "/?lang=en",
    }


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"site-{name}-{page.lm_size}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def test_home_links_to_each_public_interview(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + "/")
    assert page.locator("html").get_attribute("lang") == "sl"
    search = page.get_by_role("searchbox", name="Kaj iščeš?")
    assert search.is_visible()
    links = {
        page.locator(f'a[href="/intervju/{server["ids"][key]}"]').count() for key in ("sl", "en")
    }
    assert 0 not in links
    for key in ("restricted", "embargoed"):
        assert page.locator(f'a[href="/intervju/{server["ids"][key]}"]').count() == 0
    search.fill("Kranj")
    search.press("Enter")
    page.wait_for_url("**/iskanje?q=Kranj")
    assert page.locator("mark", has_text="Kranju").count() >= 1
    screenshot(page, "search")
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_clicked_line_plays_from_its_start(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + paths(server)["interview"])
    line = page.locator("#transcript .line").nth(1)
    start = float(line.get_attribute("data-start"))
    assert start == SL_LINES[1][0]
    line.locator(".txt").click()
    page.wait_for_function(
        "start => { const a = document.getElementById('lm-audio');"
        " return a.readyState >= 1 && Math.abs(a.currentTime - start) < 1; }",
        arg=start,
        timeout=15000,
    )
    state = page.evaluate(
        "() => { const a = document.getElementById('lm-audio');"
        " return {time: a.currentTime, error: a.error && a.error.code}; }"
    )
    assert state["error"] is None
    assert abs(state["time"] - start) < 1
    assert page.evaluate("location.hash") == f"#t={int(start)}"
    assert f"#t={int(start)}" in page.locator("#cite-url").input_value()
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_spoken_line_is_highlighted_as_playback_advances(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + paths(server)["interview"])
    first = page.locator("#transcript .line").first
    first.focus()
    first.press("Enter")  # the keyboard works too
    page.wait_for_function(
        "() => document.querySelector('#transcript .line.is-current') !== null", timeout=15000
    )
    assert first.get_attribute("aria-current") == "true"
    # Playback advances to the second line (starts at 2.0 s) and it is highlighted.
    second = page.locator("#transcript .line").nth(1)
    page.wait_for_function(
        "() => document.querySelectorAll('#transcript .line')[1].classList.contains('is-current')",
        timeout=15000,
    )
    assert "is-current" not in (first.get_attribute("class") or "")
    assert page.evaluate("document.getElementById('lm-audio').currentTime") >= 1.9
    assert second.is_visible()
    screenshot(page, "interview-playing")
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_time_coded_link_opens_at_the_moment(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + paths(server)["interview"] + "#t=3")
    current = page.locator("#transcript .line.is-current")
    assert current.count() == 1
    assert float(current.get_attribute("data-start")) == 3.0
    page.wait_for_function(
        "() => { const a = document.getElementById('lm-audio');"
        " return a.readyState >= 1 && Math.abs(a.currentTime - 3) < 1; }",
        timeout=15000,
    )


def test_chip_jumps_to_its_moment_and_in_page_search(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + paths(server)["interview"])
    if page.lm_size == "phone":  # type: ignore[attr-defined]
        page.locator("details.index summary").click()
    chip = page.locator(".chip-loc", has_text="Jesenice")
    first = float(chip.get_attribute("data-times").split()[0])
    chip.click()
    page.wait_for_function(
        "t => { const a = document.getElementById('lm-audio');"
        " return a.readyState >= 1 && Math.abs(a.currentTime - t) < 1; }",
        arg=first,
        timeout=15000,
    )
    page.locator("#find-q").fill("jesenice")
    page.locator("#find button").click()
    page.wait_for_selector("#najdi .found-item")
    assert page.locator("#transcript .line.is-match").count() == 1
    assert page.locator("#najdi mark").inner_text() == "Jesenicah"


def test_hostile_markup_never_runs(server: dict[str, Any], page: Any) -> None:
    for path in [*paths(server).values(), "/iskanje?q=vojno"]:
        page.goto(server["base"] + path)
        assert page.evaluate("window.lmPwned") is None, path
    page.goto(server["base"] + paths(server)["interview"])
    assert "<script>" in page.locator("h1").inner_text()
    assert page.locator("#transcript img").count() == 0
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_no_sideways_scrolling_and_axe(server: dict[str, Any], page: Any) -> None:
    """Every new page fits a 390 px phone; axe-core finds no serious or critical problem."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    report: dict[str, dict[str, int]] = {}
    problems = []
    for name, path in paths(server).items():
        page.goto(server["base"] + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if page.lm_size == "phone":  # type: ignore[attr-defined]
            assert width <= 400, f"{path} is {width} px wide"
        else:
            assert width <= 1280, f"{path} is {width} px wide"
        results = axe.run(page).response["violations"]
        counts: dict[str, int] = {}
        for violation in results:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
            if violation["impact"] in ("serious", "critical"):
                problems.append(f"{name}: {violation['id']} {violation['help']}")
        report[name] = counts
        screenshot(page, name)
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"site-axe-{page.lm_size}.json"  # type: ignore[attr-defined]
    out.write_text(json.dumps(report, indent=1))
    assert problems == []


def test_readable_at_200_percent_zoom(server: dict[str, Any], browser: Any) -> None:
    """A 1280 px window zoomed to 200 % lays pages out in 640 CSS pixels: nothing overflows."""
    context = browser.new_context(viewport={"width": 640, "height": 400})
    page = context.new_page()
    try:
        for path in paths(server).values():
            page.goto(server["base"] + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 640, f"{path} is {width} px wide"
    finally:
        context.close()
