"""The public site in a real browser: a play button seeks the recording to its segment.

A real ``livingmemory serve`` runs in a subprocess on a free port against a published
archive; Chromium (the Debian package at /usr/bin/chromium, driven by Playwright's sync API)
opens the search page, clicks the first play button and waits until the shared player has
seeked to the segment's start, which needs the audio route's HTTP Range support. A screenshot
goes to ``test-artifacts/browser-search.png`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from support import REPO, add_json, insert_transcript

from livingmemory.archive.store import init_archive, open_archive
from livingmemory.site.publish import publish

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
SEGMENT_START = 2.0
SEGMENTS = [
    (0.0, "Rodila sem se leta tisoč devetsto dvaintrideset."),
    (SEGMENT_START, "Potem smo živeli v Kranju."),
    (3.0, "Na tabli je pisalo <b>bold</b> z velikimi črkami."),
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"livingmemory serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"livingmemory serve did not answer {url} in {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, audio_files: dict[str, Path]
) -> Iterator[dict[str, Any]]:
    """``livingmemory serve`` on a published archive with one public recording (about 4 s of
    Ogg Vorbis speech) whose second segment starts at 2.0 s."""
    folder = tmp_path_factory.mktemp("browser") / "archive"
    archive_db = folder / "archive.db"
    init_archive(archive_db)
    result, added = add_json(
        archive_db, audio_files["ogg"], "--access", "public", "--title", "Spomini",
        "--narrator", "Ana Novak", "--language", "sl", "--date", "1954",
    )  # fmt: skip
    assert result.exit_code == 0, str(result)
    with open_archive(archive_db) as archive:
        insert_transcript(
            archive,
            added[0]["recording_id"],
            [text for _, text in SEGMENTS],
            starts=[start for start, _ in SEGMENTS],
        )
        publish(archive)

    log = folder.parent / "serve.log"
    with served(archive_db, log) as base:
        yield {"base": base, "folder": folder, "log": log}


@contextmanager
def served(
    archive_db: Path, log: Path, *args: str, ready: str = "/-/versions.json", stop_after: float = 10
) -> Iterator[str]:
    """``livingmemory serve`` (plus ``args``) on a free port, in a process group of its own
    (the CLI runs Datasette as a child, and both are stopped); yields the base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for key in ("LIVINGMEMORY_ARCHIVE", "LIVINGMEMORY_PASSWORD"):
        env.pop(key, None)
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "livingmemory", "serve", *args, "--archive", str(archive_db),
             "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}{ready}", process, log)
        yield base
    finally:
        stop_group(process, timeout=stop_after)


def stop_group(process: subprocess.Popen, timeout: float = 10) -> None:
    """Stop a server started in its own process group (SIGTERM, then SIGKILL)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def chromium_browser(*extra_args: str) -> Iterator[Any]:
    """Headless Debian Chromium driven by playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser: Any, width: int, height: int) -> Any:
    """A page in a fresh context of that window size; uncaught script errors collect in
    ``page.lm_errors`` (a test asserts it stays empty)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.lm_errors = []
    page.on("pageerror", lambda error: page.lm_errors.append(str(error)))
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.lm_errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def test_play_button_seeks_the_recording_to_the_segment(server: dict[str, Any], page: Any) -> None:
    page.goto(f"{server['base']}/public/search_transcripts?q=Kranju")
    buttons = page.locator(".lm-play")
    assert buttons.count() == 1
    button = buttons.first
    assert button.get_attribute("data-start") == "2"
    src = button.get_attribute("data-src")
    assert src and src.startswith("/-/audio/") and src.endswith(".ogg")

    button.click()
    page.wait_for_function(
        "start => { const a = document.getElementById('lm-player');"
        " return a !== null && a.currentTime >= start - 0.05; }",
        arg=SEGMENT_START,
        timeout=15000,
    )
    state = page.evaluate(
        "() => { const a = document.getElementById('lm-player');"
        " return {time: a.currentTime, src: a.currentSrc, error: a.error && a.error.code,"
        " duration: a.duration}; }"
    )
    assert state["error"] is None
    assert state["time"] >= SEGMENT_START - 0.05
    assert state["time"] < state["duration"]
    assert state["src"] == f"{server['base']}{src}"
    assert page.lm_errors == []  # type: ignore[attr-defined]

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-search.png"), full_page=True)
    assert (ARTIFACTS / "browser-search.png").stat().st_size > 0


def test_browser_fetched_the_audio_in_ranges(server: dict[str, Any], page: Any) -> None:
    """What the player asked the server for: byte ranges, answered with 206."""
    statuses: list[tuple[str | None, int]] = []

    def record(response: Any) -> None:
        if "/-/audio/" in response.url:
            statuses.append((response.request.headers.get("range"), response.status))

    page.on("response", record)
    page.goto(f"{server['base']}/public/search_transcripts?q=Kranju")
    page.locator(".lm-play").first.click()
    page.wait_for_function(
        "start => { const a = document.getElementById('lm-player');"
        " return a !== null && a.currentTime >= start - 0.05; }",
        arg=SEGMENT_START,
        timeout=15000,
    )
    assert statuses, "the player fetched no audio"
    assert all(status in (200, 206) for _, status in statuses), statuses
    assert any(status == 206 for _, status in statuses), statuses


def test_transcript_markup_is_shown_as_text(server: dict[str, Any], page: Any) -> None:
    page.goto(f"{server['base']}/public/narrator?name=Novak")
    table = page.locator("table.rows-and-columns")
    assert "<b>bold</b>" in table.inner_text()
    assert table.locator("b").count() == 0
    assert page.locator(".lm-play").count() == len(SEGMENTS)

    page.goto(f"{server['base']}/public/segments")
    table = page.locator("table.rows-and-columns")
    assert "Na tabli je pisalo <b>bold</b> z velikimi črkami." in table.inner_text()
    assert table.locator("b").count() == 0


def test_served_site_is_the_public_database_only(server: dict[str, Any]) -> None:
    with urllib.request.urlopen(f"{server['base']}/.json") as response:
        databases = json.load(response)
    assert list(databases) == ["public"]
    # served read-only but not immutable: publish changes it in place (Datasette hashes and
    # offers for download only immutable files)
    assert not databases["public"].get("hash")
    # /-/databases would show the file's absolute path: closed on the public site.
    with pytest.raises(urllib.error.HTTPError) as closed:
        urllib.request.urlopen(f"{server['base']}/-/databases.json")
    assert closed.value.code == 404
