"""Screenshots of the public site for the README (docs/site-*.png).

Builds the demo archive from ``recordings/examples`` without machine transcription, attaches
the examples' script text as a human transcript (a WebVTT file, as a volunteer's correction
would be), tags, publishes, serves it and photographs the home page and an interview page
in Chromium at 1280x800 and 390x844. Needs espeak-ng-made examples, ffmpeg, Chromium.

Run: ``.venv/bin/python scripts/site_screenshots.py``
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from livingmemory.archive.store import open_archive  # noqa: E402
from livingmemory.demo import run_demo  # noqa: E402
from livingmemory.review.revisions import attach_transcript  # noqa: E402
from livingmemory.tagging.pipeline import tag_transcripts  # noqa: E402
from livingmemory.timecodes import timecode  # noqa: E402

DOCS = REPO / "docs"
EXAMPLES = REPO / "recordings" / "examples"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def example_texts() -> dict[str, str]:
    """Example file name -> the text espeak-ng read (from scripts/make_examples.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_examples", REPO / "scripts" / "make_examples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {e["file"]: e["text"] for e in module.EXAMPLES}


def vtt(text: str, duration: float, speaker: str) -> str:
    """Sentences as cues, timed in proportion to their length."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    total = sum(len(s) for s in sentences)
    cues, start = ["WEBVTT", ""], 0.0
    for sentence in sentences:
        end = min(duration, start + duration * len(sentence) / total)
        cues += [f"{timecode(start)} --> {timecode(end)}", f"<v {speaker}>{sentence}", ""]
        start = end
    return "\n".join(cues)


def build(folder: Path) -> Path:
    run_demo(folder, EXAMPLES, transcribe=False)
    texts = example_texts()
    with open_archive(folder / "archive.db") as archive:
        for row in archive.db.query("SELECT id, original_filename, duration FROM recordings"):
            name = row["original_filename"]
            meta = yaml.safe_load((EXAMPLES / name).with_suffix(".yml").read_text("utf-8"))
            narrator = meta["narrator"]
            speaker = narrator["name"] if isinstance(narrator, dict) else narrator
            path = folder / f"{row['id']}.vtt"
            path.write_text(vtt(texts[name], row["duration"], speaker), encoding="utf-8")
            attach_transcript(archive, row["id"], path, author="Ana Zupan")
        tag_transcripts(archive)
        from livingmemory.site.publish import publish

        publish(archive)
    return folder / "archive.db"


def main() -> None:
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="lm-shots-"))
    archive_db = build(folder)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", "serve", "--archive", str(archive_db),
         "--port", str(port)],
        cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        DOCS.mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            )
            for size, (width, height) in {"": (1280, 800), "-phone": (390, 844)}.items():
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(base + "/")
                page.screenshot(path=str(DOCS / f"site-home{size}.png"))
                page.goto(base + "/intervju/1")
                line = page.locator("#transcript .line").nth(2)
                line.click()
                page.wait_for_timeout(600)
                page.evaluate("document.getElementById('lm-audio').pause()")
                page.evaluate("window.scrollTo(0, 0)")
                page.screenshot(path=str(DOCS / f"site-interview{size}.png"))
                page.close()
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    for path in sorted(DOCS.glob("site-*.png")):
        print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    import argparse

    # No options: the parser answers --help (with this module's docstring) instead of
    # rewriting the tracked files it makes.
    argparse.ArgumentParser(description=__doc__).parse_args()
    main()
