"""An overlapped line (another voice talks over it) in a real browser, public site and editor.

A public interview of two speakers, written in directly (no transcription model), has one
segment with ``overlap`` set. It is published and served twice, as the public site and as the
private workspace (``--private --no-worker``). Headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright) opens the interview page and the transcript editor at 1280x800 and
390x844 and checks that the "⇄" mark is on exactly the overlapped line, sits inside that line
on screen, has text a screen reader reads ("hkrati govori še nekdo"), that nothing scrolls
sideways, and that axe-core finds no problem at all. Screenshots go to
``test-artifacts/overlap-{interview,editor}-{desktop,phone}.png`` (git-ignored).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import pytest
from support import REPO, add_json, insert_transcript
from test_browser import CHROMIUM, chromium_browser, new_page, served

from livingmemory.archive.store import init_archive, open_archive
from livingmemory.review.workspace import set_password
from livingmemory.site.publish import publish

ARTIFACTS = REPO / "test-artifacts"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
USER, PASSWORD = "Ana Zupan", "anino-geslo-2026"
OVERLAP_TEXT = "hkrati govori še nekdo"
LINES = [
    (0.0, "Rodila sem se leta tisoč devetsto dvaintrideset v Kranju.", "Ana Novak", 0),
    (1.5, "In potem, ko se je začela vojna?", "Miha Zupan", 0),
    (2.5, "Potem smo se preselili na Jesenice.", "Ana Novak", 1),
    (3.5, "Oče je delal v železarni.", "Ana Novak", 0),
]
OVERLAPPED = 2  # the narrator's answer, talked over by the interviewer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The public site and the private workspace on one published archive."""
    folder = tmp_path_factory.mktemp("overlap") / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    set_password(folder, USER, PASSWORD)
    speech = folder.parent / "spomini.wav"
    subprocess.run(
        ["espeak-ng", "-v", "sl", "-w", str(speech), " ".join(text for _, text, _, _ in LINES)],
        check=True,
    )
    result, added = add_json(
        archive_db, speech, "--access", "public", "--title", "Spomini z Jesenic",
        "--narrator", "Ana Novak", "--interviewer", "Miha Zupan", "--language", "sl",
        "--date", "1954",
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    recording_id = added[0]["recording_id"]
    with open_archive(archive_db) as archive:
        _, segment_ids = insert_transcript(
            archive,
            recording_id,
            [text for _, text, _, _ in LINES],
            starts=[start for start, _, _, _ in LINES],
        )
        for position, (segment_id, (start, _, speaker, overlap)) in enumerate(
            zip(segment_ids, LINES, strict=True)
        ):
            end = LINES[position + 1][0] if position + 1 < len(LINES) else start + 1.0
            archive.db.execute(
                "UPDATE segments SET speaker = ?, end = ?, overlap = ? WHERE id = ?",
                [speaker, end, overlap, segment_id],
            )
        archive.db.conn.commit()
        publish(archive)
    servers = {
        "public": served(archive_db, folder.parent / "public.log"),
        "private": served(
            archive_db, folder.parent / "private.log", "--private", "--no-worker",
            ready="/-/workspace/login",
        ),
    }  # fmt: skip
    # Both start at once (each waits for its Datasette to answer); the stack stops both.
    with ExitStack() as stack, ThreadPoolExecutor(len(servers)) as pool:
        started = {name: pool.submit(stack.enter_context, cm) for name, cm in servers.items()}
        bases = {name: future.result() for name, future in started.items()}
        yield {**bases, "id": recording_id, "segments": segment_ids}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def axe() -> Any:
    return pytest.importorskip("axe_playwright_python.sync_playwright").Axe()


def open_page(browser: Any, size: str) -> Any:
    return new_page(browser, *SIZES[size])


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def disjoint(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] + a["width"] <= b["x"] + 0.5
        or b["x"] + b["width"] <= a["x"] + 0.5
        or a["y"] + a["height"] <= b["y"] + 0.5
        or b["y"] + b["height"] <= a["y"] + 0.5
    )


def check_page(page: Any, axe: Any, size: str, name: str) -> None:
    """No sideways scrolling, no axe finding of any impact, a screenshot, no script errors."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size][0], f"{name} is {width} px wide at {size}"
    violations = axe.run(page).response["violations"]
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
    ]
    assert found == [], f"{name} at {size}"
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"overlap-{name}-{size}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    assert page.lm_errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_public_interview_marks_the_overlapped_line(
    site: dict[str, Any], browser: Any, axe: Any, size: str
) -> None:
    page = open_page(browser, size)
    try:
        page.goto(f"{site['public']}/intervju/{site['id']}")
        lines = page.locator("#transcript li.line")
        assert lines.count() == len(LINES)
        marks = page.locator("#transcript .overlap-mark")
        assert marks.count() == 1
        line = page.locator(f"#s{site['segments'][OVERLAPPED]}")
        assert line.locator(".overlap-mark").count() == 1
        assert "overlap" in (line.get_attribute("class") or "").split()
        assert LINES[OVERLAPPED][1] in line.inner_text()
        mark = line.locator(".overlap-mark")
        # seen: the glyph, hidden from screen readers; heard: the words, hidden from the eye
        glyph = mark.locator('[aria-hidden="true"]')
        assert glyph.inner_text() == "⇄" and glyph.is_visible()
        spoken = mark.locator(".sr-only")
        assert OVERLAP_TEXT in spoken.text_content()
        assert page.evaluate(
            "el => getComputedStyle(el).display !== 'none' &&"
            " getComputedStyle(el).visibility !== 'hidden'",
            spoken.element_handle(),
        )
        assert mark.get_attribute("title") == OVERLAP_TEXT
        # the accessible text of the line carries the words (not the arrow)
        heard = line.aria_snapshot()
        assert OVERLAP_TEXT in heard and "⇄" not in heard, heard
        # on screen: inside its own line, clear of the time code and the viewport's edges
        box, line_box = glyph.bounding_box(), line.bounding_box()
        assert box["width"] > 4 and box["height"] > 8, box
        assert inside(box, line_box), (box, line_box)
        assert disjoint(box, line.locator(".tc").bounding_box())
        assert box["x"] + box["width"] <= SIZES[size][0]
        # the other lines carry nothing
        for position, segment_id in enumerate(site["segments"]):
            if position != OVERLAPPED:
                other = page.locator(f"#s{segment_id}")
                assert other.locator(".overlap-mark").count() == 0
                assert "⇄" not in other.inner_text()
        assert OVERLAP_TEXT in page.locator(".iv-transcript").inner_text().lower()
        check_page(page, axe, size, "interview")
    finally:
        page.context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_editor_marks_the_overlapped_line(
    site: dict[str, Any], browser: Any, axe: Any, size: str
) -> None:
    page = open_page(browser, size)
    base = site["private"]
    try:
        page.goto(f"{base}/-/workspace/login")
        page.fill("input[name=name]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/-/workspace")
        page.goto(f"{base}/-/workspace/{site['id']}/editor")
        page.wait_for_selector(".line[data-index] textarea")
        rows = page.locator(".line[data-index]")
        assert rows.count() == len(LINES)
        marked = [
            index
            for index in range(len(LINES))
            if "⇄" in rows.nth(index).locator(".flags").inner_text()
        ]
        assert marked == [OVERLAPPED]
        row = page.locator(f'.line[data-index="{OVERLAPPED}"]')
        assert row.locator("textarea").input_value() == LINES[OVERLAPPED][1]
        flags = row.locator(".flags")
        assert flags.is_visible()
        assert OVERLAP_TEXT in flags.inner_text()
        assert flags.get_attribute("aria-hidden") is None
        assert page.evaluate(
            "el => el.closest('[aria-hidden=\"true\"]') === null", flags.element_handle()
        )
        # the note is never focused: a screen reader hears it with the line's text
        expect = pytest.importorskip("playwright.sync_api").expect
        for index in range(len(LINES)):
            text = rows.nth(index).locator("textarea")
            heard = re.compile(OVERLAP_TEXT) if index == OVERLAPPED else ""
            expect(text).to_have_accessible_description(heard, timeout=1000)
        box, row_box = flags.bounding_box(), row.bounding_box()
        assert inside(box, row_box), (box, row_box)
        assert box["x"] + box["width"] <= SIZES[size][0]
        for other in ("textarea", ".speaker", ".rev"):
            assert disjoint(box, row.locator(other).first.bounding_box()), other
        check_page(page, axe, size, "editor")
    finally:
        page.context.close()
