"""How much work a volunteer's corrections take: keystrokes and seconds per correction.

A fixed Slovenian transcript of 40 lines with five kinds of planted error is corrected by a
scripted keyboard-only user in headless Chromium (Playwright, Debian's /usr/bin/chromium),
in three editors, each served the same way:

* ``new``: this working tree's editor (find and replace, rename a voice, line times);
* ``old``: the editor of ``--old-ref`` (default ``main``), exported with ``git archive`` into
  a temporary folder and run from there (its own code makes its own archive);
* ``otranscribe``: oTranscribe's approach re-created here (oTranscribe itself is a web app
  that is not on this machine): one text box holding the whole transcript with ``[mm:ss]``
  time marks and ``Speaker:`` labels typed in the text, no find and replace, times edited as
  text. The same scripted user moves through it with the arrow keys.

The planted errors: a misheard place name repeated in 6 lines (``Kranu`` for ``Kranju``),
one wrong word, a voice labelled ``Govorec 2`` in 8 lines that is Janez Novak, a line split
in two that belongs together, and a line starting 1 s too early. Each editor's final text is
checked against the truth, so a figure only counts when the correction is really made.

Seconds are the scripted user's wall time (the editor's own responsiveness, not a person's
pace); ``KLM s`` estimates a person's time from the keystrokes with the keystroke-level
model's 0.28 s per key for an average typist (Card, Moran and Newell, 1980), plus nothing for
thinking, the same for every editor.

    .venv/bin/python benchmarks/editor.py [--old-ref main]

``LM_BENCH_DEBUG=1`` skips the new editor and prints where the old one's scripted user is and
every line that differs from the truth (how a script that misses a line is found).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
USER, PASSWORD = "Ana Zupan", "anino-geslo-2026"
STEP = 3.0
KLM_SECONDS = 0.28

SENTENCES = [
    "Rodila sem se leta tisoč devetsto dvajset.",
    "Oče je delal v železarni na Jesenicah.",
    "Mama je bila doma in je skrbela za nas.",
    "Imeli smo kravo in nekaj kokoši.",
    "V šolo smo hodili peš, tudi pozimi.",
    "Učiteljica je bila stroga, a pravična.",
    "Med vojno smo se skrivali pri sosedih.",
    "Po vojni je bilo hrane zelo malo.",
    "Brat je odšel v Ljubljano študirat.",
    "Jaz sem ostala doma in se poročila.",
]
NAME_LINES = (2, 7, 13, 19, 26, 33)
WORD_LINE, WRONG_WORD, RIGHT_WORD = 11, "tovorna", "tovarna"
VOICE_LINES = (4, 9, 15, 21, 24, 28, 36, 38)
MERGE_LINE = 30  # lines 30 and 31 are one sentence split in two
TIME_LINE = 35  # starts 1.0 s too early


def truth() -> list[dict[str, Any]]:
    """The corrected transcript: 40 lines of 3 s (merged line 30+31 takes both slots)."""
    lines = []
    for i in range(40):
        text = SENTENCES[i % len(SENTENCES)]
        if i in NAME_LINES:
            text = f"Takrat smo živeli v Kranju, čisto blizu postaje {i}."
        if i == WORD_LINE:
            text = f"Tam je bila velika {RIGHT_WORD} za tekstil."
        if i == MERGE_LINE:
            text = "Ko sem prišla domov, je bila hiša prazna."
        speaker = "Janez Novak" if i in VOICE_LINES else "Marija Košir"
        lines.append({"start": i * STEP, "end": (i + 1) * STEP, "text": text, "speaker": speaker})
    lines[TIME_LINE - 1]["end"] = lines[TIME_LINE]["start"] = TIME_LINE * STEP
    return lines


def planted(index: int) -> int:
    """Where truth's line ``index`` is in the planted transcript (before the merge)."""
    return index + (index > MERGE_LINE)


def machine() -> list[dict[str, Any]]:
    """The truth with the five planted errors."""
    lines = [dict(line) for line in truth()]
    for i in NAME_LINES:
        lines[i]["text"] = lines[i]["text"].replace("Kranju", "Kranu")
    lines[WORD_LINE]["text"] = lines[WORD_LINE]["text"].replace(RIGHT_WORD, WRONG_WORD)
    for i in VOICE_LINES:
        lines[i]["speaker"] = "Govorec 2"
    first, second = "Ko sem prišla domov,", "je bila hiša prazna."
    lines[MERGE_LINE]["text"], lines[MERGE_LINE]["end"] = first, MERGE_LINE * STEP + 1.5
    lines.insert(MERGE_LINE + 1, {**lines[MERGE_LINE], "start": MERGE_LINE * STEP + 1.5,
                                  "end": (MERGE_LINE + 1) * STEP, "text": second})  # fmt: skip
    # Line 36 here is truth's 35: it starts 1 s early (and the line before ends early).
    lines[TIME_LINE + 1]["start"] -= 1.0
    lines[TIME_LINE]["end"] -= 1.0
    return lines


# -- the archive and the server -------------------------------------------------------------


def build(folder: Path) -> int:
    """An archive in ``folder`` with one recording and the planted machine transcript, made
    with whatever ``livingmemory`` is on the path (the old code builds its own)."""
    from livingmemory.archive.store import init_archive, open_archive
    from livingmemory.ingest.add import add_recording
    from livingmemory.ingest.metadata import Person, RecordingMetadata
    from livingmemory.review.workspace import set_password

    archive_db = folder / "archive.db"
    init_archive(archive_db)
    set_password(folder, USER, PASSWORD)
    audio = folder.parent / "pogovor.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=220:duration={40 * STEP}", "-ar", "16000", str(audio)],
                   check=True)  # fmt: skip
    with open_archive(archive_db) as archive:
        meta = RecordingMetadata(title="Spomini", narrators=(Person("Marija Košir"),),
                                 language="sl")  # fmt: skip
        recording_id = add_recording(archive, audio, meta).recording_id
        transcript = archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "bench",
             "language": "sl", "started_at": "2026-01-01T00:00:00+00:00",
             "finished_at": "2026-01-01T00:00:01+00:00", "is_current": 1},
        ).last_pk  # fmt: skip
        for position, line in enumerate(machine()):
            archive.db["segments"].insert(
                {"transcript_id": transcript, "recording_id": recording_id,
                 "position": position, **line},
            )  # fmt: skip
        archive.db.conn.commit()
    return recording_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(code: Path, folder: Path) -> Iterator[tuple[str, int]]:
    """Build the archive and serve its workspace with the ``livingmemory`` found in ``code``
    (run from ``folder``: ``python -m`` puts the working directory before ``PYTHONPATH``)."""
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONUNBUFFERED": "1"}
    env.pop("LIVINGMEMORY_PASSWORD", None)
    folder.mkdir(parents=True)
    made = subprocess.run(
        [sys.executable, __file__, "--build", str(folder)], env=env, check=True,
        capture_output=True, text=True, cwd=folder,
    )  # fmt: skip
    recording_id = int(made.stdout.strip().splitlines()[-1])
    port = free_port()
    log = (folder.parent / f"{folder.name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", "serve", "--private", "--no-worker",
         "--archive", str(folder / "archive.db"), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=folder,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/-/workspace/login", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield base, recording_id
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        log.close()


# -- the scripted user ------------------------------------------------------------------------


class Keys:
    """``page.keyboard`` that counts every key a person would press (a typed letter is one)."""

    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def press(self, key: str, times: int = 1) -> None:
        for _ in range(times):
            self.page.keyboard.press(key)
            self.count += 1

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)
        self.count += len(text)


def caret(page: Any) -> int:
    return page.evaluate("document.activeElement.selectionStart")


def to_offset(keys: Keys, target: int) -> None:
    """Move the caret to ``target`` as a keyboard user does: word jumps, then single steps."""
    while caret(keys.page) < target:
        before = caret(keys.page)
        keys.press("Control+ArrowRight")
        if caret(keys.page) > target or caret(keys.page) == before:
            break
    while caret(keys.page) > target:
        keys.press("ArrowLeft")
    while caret(keys.page) < target:
        keys.press("ArrowRight")


def fix_word(keys: Keys, start: int, wrong: str, right: str) -> None:
    """Replace ``wrong`` (at offset ``start`` of the focused text) by ``right`` with the fewest
    keys a careful typist uses: to the end of the differing part, erase it, type the new part
    ("Kranu" -> "Kranju": after "Kran", type "j")."""
    same = 0
    while same < min(len(wrong), len(right)) and wrong[same] == right[same]:
        same += 1
    tail = 0
    while tail < min(len(wrong), len(right)) - same and wrong[-1 - tail] == right[-1 - tail]:
        tail += 1
    to_offset(keys, start + len(wrong) - tail)
    keys.press("Backspace", len(wrong) - tail - same)
    keys.type(right[same : len(right) - tail])


class LineEditor:
    """The workspace editor (old or new): one text box per line, Alt+↑/↓ between lines."""

    def __init__(self, page: Any, new: bool) -> None:
        self.page, self.new, self.keys = page, new, Keys(page)
        self.at = 0

    def line_text(self, index: int) -> str:
        return self.page.locator(f'.line[data-index="{index}"] textarea').input_value()

    def go(self, index: int) -> None:
        step = "Alt+ArrowDown" if index > self.at else "Alt+ArrowUp"
        self.keys.press(step, abs(index - self.at))
        self.at = index
        self.keys.press("Home")
        if os.environ.get("LM_BENCH_DEBUG"):
            where = self.page.evaluate("document.activeElement.closest('.line').dataset.index")
            print("go", index, "at", where, file=sys.stderr)

    def name(self) -> None:
        if self.new:  # find and replace, whole words
            self.keys.press("Control+h")
            self.keys.type("Kranu")
            self.keys.press("Tab")
            self.keys.type("Kranju")
            self.keys.press("Enter")
            self.keys.press("Alt+ArrowUp")  # back into the lines (the first line)
            self.at = 0
            return
        for index in map(planted, NAME_LINES):
            self.go(index)
            fix_word(self.keys, self.line_text(index).index("Kranu"), "Kranu", "Kranju")

    def word(self) -> None:
        self.go(WORD_LINE)
        text = self.line_text(WORD_LINE)
        fix_word(self.keys, text.index(WRONG_WORD), WRONG_WORD, RIGHT_WORD)

    def voice(self) -> None:
        if self.new:
            self.go(VOICE_LINES[0])
            self.keys.press("Alt+v")  # the rename tool, on this line's voice
            self.keys.press("Tab")
            self.keys.type("Janez Novak")
            self.keys.press("Enter")
            self.keys.press("Alt+ArrowUp")  # back into the lines (the one above)
            self.at -= 1
            return
        for index in map(planted, VOICE_LINES):
            self.go(index)
            for _ in range(4):  # back from the text to this line's voice field
                self.keys.press("Shift+Tab")
                if self.page.evaluate(
                    "document.activeElement.classList.contains('speaker') && "
                    f"document.activeElement.closest('.line').dataset.index === '{index}'"
                ):
                    break
            self.keys.press("Control+a")
            self.keys.type("Janez Novak")

    def merge(self) -> None:
        self.go(MERGE_LINE)
        self.keys.press("Alt+m")

    def time(self) -> bool:
        if not self.new:
            return False  # the old editor cannot change a line's time
        self.go(TIME_LINE)
        self.keys.press("Alt+w", 10)  # start 10 × 0.1 s later
        self.keys.press("Alt+ArrowUp")
        self.at -= 1
        self.keys.press("Alt+p", 10)  # the line before ends 1 s later too
        return True

    def save(self) -> None:
        self.keys.press("Control+s")
        self.page.wait_for_function(
            "document.getElementById('status').textContent.startsWith('Shranjeno')",
            timeout=120000,
        )


OTRANSCRIBE_PAGE = """<!DOCTYPE html><html lang="sl"><meta charset="utf-8">
<title>oTranscribe</title>
<audio id="audio" src="audio.wav" preload="auto"></audio>
<textarea id="text" rows="50" cols="110" spellcheck="false"></textarea>
<script>
const area = document.getElementById("text");
area.value = JSON.parse(decodeURIComponent("%s"));
area.focus(); area.setSelectionRange(0, 0);
</script></html>"""


def otranscribe_text(lines: list[dict[str, Any]]) -> str:
    def mark(seconds: float) -> str:
        return f"[{int(seconds // 60):02d}:{seconds % 60:04.1f}]"

    return "\n".join(f"{mark(x['start'])} {x['speaker']}: {x['text']}" for x in lines)


class OneBox:
    """oTranscribe's approach: one text box, the arrow keys, everything edited as text."""

    def __init__(self, page: Any) -> None:
        self.page, self.keys = page, Keys(page)

    def value(self) -> str:
        return self.page.evaluate("document.getElementById('text').value")

    def go(self, index: int) -> None:
        """Down (or up) to line ``index``, then Home."""
        lines = self.value().split("\n")
        here = self.value()[: caret(self.page)].count("\n")
        step = "ArrowDown" if index > here else "ArrowUp"
        self.keys.press(step, abs(index - here))
        self.keys.press("Home")
        assert self.value()[: caret(self.page)].count("\n") == index, lines[index]

    def line(self, index: int) -> str:
        return self.value().split("\n")[index]

    def start_of(self, index: int) -> int:
        return sum(len(x) + 1 for x in self.value().split("\n")[:index])

    def edit(self, index: int, wrong: str, right: str) -> None:
        self.go(index)
        fix_word(self.keys, self.start_of(index) + self.line(index).index(wrong), wrong, right)

    def name(self) -> None:
        for index in map(planted, NAME_LINES):
            self.edit(index, "Kranu", "Kranju")

    def word(self) -> None:
        self.edit(WORD_LINE, WRONG_WORD, RIGHT_WORD)

    def voice(self) -> None:
        for index in map(planted, VOICE_LINES):
            self.edit(index, "Govorec 2", "Janez Novak")

    def merge(self) -> None:
        self.go(MERGE_LINE)
        self.keys.press("End")
        # The line break, the next line's time mark and its label go: "\n[01:31.5] Name: ".
        following = self.line(MERGE_LINE + 1)
        self.keys.press("Delete", 1 + following.index(": ") + 2)
        self.keys.type(" ")

    def time(self) -> bool:
        # Line TIME_LINE + 1 of the planted text is truth's TIME_LINE (before the merge).
        index = TIME_LINE  # after the merge the lines moved up by one
        line = self.line(index)
        wrong = line[1 : line.index("]")]
        right = otranscribe_text([truth()[TIME_LINE]])[1:8]
        self.edit(index, wrong, right)
        return True

    def save(self) -> None:
        pass  # oTranscribe keeps its text in the browser's local storage as it goes


# -- one run ------------------------------------------------------------------------------------

CORRECTIONS: list[tuple[str, str]] = [
    ("name", "place name misheard, 6 lines"),
    ("word", "one wrong word"),
    ("voice", "voice renamed, 8 lines"),
    ("merge", "two lines made one"),
    ("time", "line start 1 s late"),
]


def run_corrections(editor: Any) -> dict[str, tuple[int, float] | None]:
    results: dict[str, tuple[int, float] | None] = {}
    for key, _ in CORRECTIONS:
        before, clock = editor.keys.count, time.perf_counter()
        done = getattr(editor, key)()
        spent = time.perf_counter() - clock
        results[key] = None if done is False else (editor.keys.count - before, spent)
    before, clock = editor.keys.count, time.perf_counter()
    editor.save()
    results["save"] = (editor.keys.count - before, time.perf_counter() - clock)
    return results


def check_archive(folder: Path) -> dict[str, bool]:
    from livingmemory.archive.sqlite import sqlite3

    conn = sqlite3.connect(folder / "archive.db")
    rows = conn.execute(
        "SELECT s.start, s.end, s.speaker, s.text FROM segments s JOIN transcripts t ON "
        "t.id = s.transcript_id WHERE t.source = 'human' AND t.is_current = 1 ORDER BY s.start"
    ).fetchall()
    conn.close()
    got = [{"start": r[0], "end": r[1], "speaker": r[2], "text": r[3]} for r in rows]
    if os.environ.get("LM_BENCH_DEBUG"):
        for have, want in zip(got, truth(), strict=False):
            if have["text"] != want["text"] or have["speaker"] != want["speaker"]:
                print("differs:", have, want, file=sys.stderr)
        print(len(got), "lines", file=sys.stderr)
    return compare(got)


def compare(got: list[dict[str, Any]]) -> dict[str, bool]:
    want = truth()
    if len(got) != len(want):
        return {"name": False, "word": False, "voice": False, "merge": False, "time": False}
    return {
        "name": all(got[i]["text"] == want[i]["text"] for i in NAME_LINES),
        "word": got[WORD_LINE]["text"] == want[WORD_LINE]["text"],
        "voice": all(got[i]["speaker"] == "Janez Novak" for i in VOICE_LINES),
        "merge": got[MERGE_LINE]["text"] == want[MERGE_LINE]["text"],
        "time": abs(got[TIME_LINE]["start"] - want[TIME_LINE]["start"]) < 0.05,
    }


def parse_box(text: str) -> list[dict[str, Any]]:
    lines = []
    for row in text.split("\n"):
        mark, rest = row[1 : row.index("]")], row[row.index("]") + 2 :]
        minutes, seconds = mark.split(":")
        speaker, words = rest.split(": ", 1)
        lines.append({"start": int(minutes) * 60 + float(seconds), "end": None,
                      "speaker": speaker, "text": words})  # fmt: skip
    return lines


def login(page: Any, base: str) -> None:
    page.goto(f"{base}/-/workspace/login")
    page.fill("input[name=name]", USER)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/-/workspace")


def workspace_run(
    browser: Any, code: Path, folder: Path, new: bool
) -> tuple[dict[str, Any], dict[str, bool]]:
    with serving(code, folder) as (base, recording_id):
        page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
        login(page, base)
        page.goto(f"{base}/-/workspace/{recording_id}/editor")
        page.wait_for_selector('.line[data-index="0"] textarea')
        page.locator('.line[data-index="0"] textarea').focus()  # the old editor needs a click
        results = run_corrections(LineEditor(page, new))
        page.context.close()
    return results, check_archive(folder)


def box_run(browser: Any, folder: Path) -> tuple[dict[str, Any], dict[str, bool]]:
    folder.mkdir(parents=True)
    html = OTRANSCRIBE_PAGE % urllib.request.quote(json.dumps(otranscribe_text(machine())))
    (folder / "index.html").write_text(html, encoding="utf-8")
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto((folder / "index.html").as_uri())
    editor = OneBox(page)
    results = run_corrections(editor)
    got = parse_box(editor.value())
    page.context.close()
    return results, compare(got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-ref", default="main", help="git ref of the old editor")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:  # run by serving(), under the code being measured
        print(build(args.build))
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="lm-editor-bench-") as tmp:
        old_code = Path(tmp) / "old"
        old_code.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.old_ref, "livingmemory"],
                                 check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "-x", "-C", str(old_code)], input=archive, check=True)
        runs: dict[str, tuple[dict[str, Any], dict[str, bool]]] = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            if not os.environ.get("LM_BENCH_DEBUG"):
                runs["new"] = workspace_run(browser, REPO, Path(tmp) / "new", new=True)
            runs[f"old ({args.old_ref})"] = workspace_run(
                browser, old_code, Path(tmp) / "old-archive", new=False
            )
            runs["oTranscribe-style"] = box_run(browser, Path(tmp) / "box")
            browser.close()
    report(runs)


def report(runs: dict[str, tuple[dict[str, Any], dict[str, bool]]]) -> None:
    names = list(runs)
    print("keystrokes (seconds of the scripted run; KLM estimate for a person) per correction")
    print(f"{'correction':<30}" + "".join(f"{n:>26}" for n in names))
    totals = {n: [0, 0.0] for n in names}
    for key, label in [*CORRECTIONS, ("save", "save")]:
        row = f"{label:<30}"
        for name in names:
            results, right = runs[name]
            value = results.get(key)
            if value is None:
                row += f"{'not possible':>26}"
                continue
            keys, seconds = value
            ok = "" if key == "save" or right.get(key) else " WRONG"
            totals[name][0] += keys
            totals[name][1] += seconds
            row += f"{f'{keys} ({seconds:.1f} s; {keys * KLM_SECONDS:.0f} s){ok}':>26}"
        print(row)
    row = f"{'total':<30}"
    for name in names:
        keys, seconds = totals[name]
        row += f"{f'{keys} ({seconds:.1f} s; {keys * KLM_SECONDS:.0f} s)':>26}"
    print(row)
    new_keys = totals[names[0]][0]
    for name in names[1:]:
        print(f"{name}: {totals[name][0] / max(1, new_keys):.1f}x the keystrokes of the new editor")


if __name__ == "__main__":
    main()
