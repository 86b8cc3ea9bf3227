"""The map and trail pages in a real browser (issue 25, part 6), at 1366 px and 390 px.

``livingmemory serve`` runs on the archive of ``map_fixtures`` (places from metadata only, a
restricted interview, a redacted moment, a trail). Chromium (Debian's, driven by Playwright)
checks that the map is drawn and never a grey box with no network (the tile server cannot be
reached here: the bundled outline shows), that pins are reached with Tab and open the place,
that a cluster opens with Enter, that no page scrolls sideways, and axe-core's serious and
critical findings. Screenshots go to ``test-artifacts/map-*.png`` (git-ignored); the README's
are these, made smaller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from map_fixtures import build_map_site
from support import REPO
from test_browser import CHROMIUM, chromium_browser, served

ARTIFACTS = REPO / "test-artifacts"
SIZES = {"1366": (1366, 900), "390": (390, 844)}

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
    folder = tmp_path_factory.mktemp("map-browser") / "archive"
    site = build_map_site(folder, audio_files)
    with served(site["archive_db"], folder.parent / "serve.log") as base:
        yield {**site, "base": base}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
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
        "place": "/kraj/Bled",
        "interview": f"/intervju/{server['ids']['bled']}",
        "trails": "/poti",
        "trail": "/pot/po-poteh-spominov",
        "poster": "/pot/po-poteh-spominov/postaja/1",
        "trail-en": "/pot/po-poteh-spominov?lang=en",
    }


def shoot(page: Any, name: str, selector: str | None = None) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"map-{name}-{page.lm_size}.png"
    if selector:
        page.locator(selector).first.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=True)
    return path


def test_map_is_drawn_without_a_network(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + "/")
    outline = page.locator("path.outline-gorenjska")
    box = outline.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    assert page.locator("svg.lm-map-svg").bounding_box()["width"] > 300
    # Each visible pin is inside the drawing.
    svg_box = page.locator("svg.lm-map-svg").bounding_box()
    for pin in page.locator("a.pin:visible").all():
        pin_box = pin.bounding_box()
        assert svg_box["x"] <= pin_box["x"] <= svg_box["x"] + svg_box["width"]
    shoot(page, "home", "figure.lm-map")
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_pins_and_clusters_by_keyboard(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + "/")
    hidden = page.locator("a.pin[data-name='Lesce']")
    assert not hidden.is_visible()  # inside the Lesce/Radovljica cluster
    cluster = page.locator("a.cluster[data-members*='Lesce']")
    members = cluster.get_attribute("data-members").split("|")
    cluster.focus()
    page.keyboard.press("Enter")
    assert hidden.is_visible()
    focused = page.evaluate("document.activeElement.getAttribute('data-name')")
    assert focused in members and {"Lesce", "Radovljica"} <= set(members)
    page.locator(".lm-map-reset").click()
    assert not hidden.is_visible()
    # Tab order reaches the pins; Enter opens the place page.
    kranj = page.locator("a.pin[data-name='Kranj']")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('data-name')") == "Kranj":
            break
    else:
        raise AssertionError("Tab never reached the Kranj pin")
    assert kranj.get_attribute("href") == "/kraj/Kranj"
    page.keyboard.press("Enter")
    page.wait_for_url("**/kraj/Kranj")
    assert page.locator("h1").inner_text() == "Kranj"


def test_trail_moment_plays(server: dict[str, Any], page: Any) -> None:
    page.goto(server["base"] + "/pot/po-poteh-spominov")
    assert page.locator("a.pin").count() == 2
    assert page.locator("polyline.route").count() == 1
    shoot(page, "trail")
    button = page.locator("button.lm-play").nth(1)
    assert button.get_attribute("data-start") == "1.5"
    button.click()
    page.wait_for_function(
        "document.querySelector('audio') && document.querySelector('audio').currentTime >= 1.4"
    )
    assert page.lm_errors == []  # type: ignore[attr-defined]


def test_no_sideways_scrolling_and_axe(server: dict[str, Any], page: Any) -> None:
    """The new pages fit a 390 px phone; axe-core finds no serious or critical problem."""
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
    axe = axe_module.Axe()
    report: dict[str, dict[str, int]] = {}
    problems = []
    for name, path in paths(server).items():
        page.goto(server["base"] + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= SIZES[page.lm_size][0], f"{path} is {width} px wide"
        results = axe.run(page).response["violations"]
        counts: dict[str, int] = {}
        for violation in results:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
            if violation["impact"] in ("serious", "critical"):
                problems.append(f"{name}: {violation['id']} {violation['help']}")
        report[name] = counts
        shoot(page, f"page-{name}")
    ARTIFACTS.mkdir(exist_ok=True)
    out = ARTIFACTS / f"map-axe-{page.lm_size}.json"  # type: ignore[attr-defined]
    out.write_text(json.dumps(report, indent=1))
    assert problems == []


def test_poster_prints_on_one_a4_page(server: dict[str, Any], page: Any) -> None:
    if page.lm_size != "1366":
        pytest.skip("printing does not depend on the window")
    page.goto(server["base"] + "/pot/po-poteh-spominov/postaja/1")
    pdf = page.pdf(prefer_css_page_size=True)
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page/") >= 1
    )
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages == 1, f"the poster takes {pages} pages"
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert page.locator("svg[role=img]").first.is_visible()
