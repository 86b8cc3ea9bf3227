"""The running site follows every publish at once (issue 21): one real ``livingmemory serve``,
23 publish cycles (withdrawal, release, correction, new interview, full publish, embargo
end), with requests hammering the site during every publish.

Each request is judged against the public state before and after the publish it overlaps:
one started after ``publish`` returned must show the new state (else it is *stale*), one
during the publish the old or the new state, whole; any 5xx or failed request is an
*error*. Observed through Datasette's JSON (the recordings table), the canned search query,
and the public site's interview pages. The embargo that ends is published by the server's
own periodic check (``LIVINGMEMORY_DUE_SECONDS``), nobody runs ``publish``.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support import REPO, insert_transcript
from test_browser import served
from test_publish import add_recording, make_tone

from livingmemory.archive.store import open_archive
from livingmemory.site.live import edit_and_publish
from livingmemory.site.publish import publish

pytestmark = pytest.mark.slow  # ~40 s on 2 busy cores: one server, 23 publishes

CONSENT = "Soglasje podpisano"
ARTIFACTS = REPO / "test-artifacts"
# One word per interview, none a prefix or stem of another (search finds inflected forms).
WORDS = ["kolovrat", "mlinar", "pastir", "drvar", "tkalka", "kovač", "čebelar", "lončar"]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Site:
    """The observations a visitor can make, and the state they must match."""

    def __init__(self, base: str) -> None:
        self.base = base

    def titles(self) -> tuple[int, Any]:
        status, body = _get(f"{self.base}/public/recordings.json?_shape=array&_col=title&_size=max")
        rows = json.loads(body) if status == 200 else None
        return status, None if rows is None else sorted((r["id"], r["title"]) for r in rows)

    def search(self, word: str) -> tuple[int, Any]:
        status, body = _get(
            f"{self.base}/public/search_transcripts.json?q={quote(word)}&_shape=array"
        )
        rows = json.loads(body) if status == 200 else None
        return status, None if rows is None else sorted({r["recording_id"] for r in rows})

    def page(self, recording_id: int) -> tuple[int, Any]:
        status, _ = _get(f"{self.base}/intervju/{recording_id}")
        return status, status == 200


def expected(state: dict[int, dict[str, Any]], probe: tuple[str, Any]) -> Any:
    kind, argument = probe
    shown = {rid: s for rid, s in state.items() if s["public"]}
    if kind == "titles":
        return sorted((rid, s["title"]) for rid, s in shown.items())
    if kind == "search":
        return sorted(rid for rid, s in shown.items() if argument in s["text"])
    return argument in shown


class Hammer:
    """Threads requesting the site in a loop; each answer kept with its start and end."""

    def __init__(self, site: Site, probes: list[tuple[str, Any]], threads: int = 3) -> None:
        self.site, self.probes = site, probes
        self.answers: list[tuple[float, float, tuple[str, Any], int, Any]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.workers = [threading.Thread(target=self.run, args=(n,)) for n in range(threads)]

    def run(self, offset: int) -> None:
        turn = offset
        while not self.stop.is_set():
            probe = self.probes[turn % len(self.probes)]
            turn += 1
            start = time.monotonic()
            try:
                status, seen = self.observe(probe)
            except Exception as error:  # a refused or reset connection counts as an error
                self.errors.append(f"{probe}: {error}")
                continue
            self.answers.append((start, time.monotonic(), probe, status, seen))

    def observe(self, probe: tuple[str, Any]) -> tuple[int, Any]:
        kind, argument = probe
        if kind == "titles":
            return self.site.titles()
        if kind == "search":
            return self.site.search(argument)
        return self.site.page(argument)

    def __enter__(self) -> Hammer:
        for worker in self.workers:
            worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join()


def test_the_running_site_follows_every_publish(
    archive_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive_db = archive_dir / "archive.db"
    tones = tmp_path / "tones"
    state: dict[int, dict[str, Any]] = {}

    def new_interview(number: int, *, access: str = "public", embargo: str | None = None) -> int:
        audio = make_tone(tones, f"tone-{number}.wav", 300 + 40 * number, seconds=1.0)
        options: list[object] = ["--title", f"Intervju {number}", "--consent", CONSENT]
        options += ["--embargo-until", embargo] if embargo else ["--access", access]
        rid = add_recording(archive_db, audio, *options)
        text = f"Spomin {WORDS[number]} iz vasi"
        with open_archive(archive_db) as archive:
            insert_transcript(archive, rid, [text])
        public = access == "public" and embargo is None
        state[rid] = {"title": f"Intervju {number}", "text": text, "public": public}
        return rid

    ids = [new_interview(n) for n in range(1, 5)]
    future = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    embargoed = new_interview(5, embargo=future)
    with open_archive(archive_db) as archive:
        publish(archive)
    words = [*WORDS, "popravek"]

    monkeypatch.setenv("LIVINGMEMORY_DUE_SECONDS", "0.5")
    log = tmp_path / "serve.log"
    cycles: list[str] = []
    stale: list[str] = []
    counted = 0
    with served(archive_db, log) as base:
        site = Site(base)

        def check_cycle(
            label: str, before: dict, hammer: Hammer, begun: float, done: float
        ) -> None:
            nonlocal counted
            after = {rid: dict(s) for rid, s in state.items()}
            stale.extend(f"{label}: {error}" for error in hammer.errors)
            for start, end, probe, status, seen in hammer.answers:
                counted += 1
                if status >= 500 or (seen is None and probe[0] != "page"):
                    stale.append(f"{label}: {probe} answered {status}")
                    continue
                old, new = expected(before, probe), expected(after, probe)
                if start > done and seen != new:
                    stale.append(f"{label}: {probe} started after publish saw {seen}, not {new}")
                elif end < begun and seen != old:
                    stale.append(f"{label}: {probe} before publish saw {seen}, not {old}")
                elif seen not in (old, new):
                    stale.append(f"{label}: {probe} during publish saw {seen}")
            # and the very next request after publish returned
            for probe in probes():
                counted += 1
                status, seen = hammer.observe(probe)
                if seen != expected(after, probe):
                    stale.append(f"{label}: next request {probe} saw {seen}")
            cycles.append(label)

        def probes() -> list[tuple[str, Any]]:
            found: list[tuple[str, Any]] = [("titles", None)]
            found += [("search", word) for word in words]
            found += [("page", rid) for rid in sorted(state)]
            return found

        def cycle(label: str, change: Any) -> None:
            before = {rid: dict(s) for rid, s in state.items()}
            with Hammer(site, probes()) as hammer:
                time.sleep(0.15)  # requests in flight before the publish starts
                begun = time.monotonic()
                change()
                done = time.monotonic()
                time.sleep(0.15)  # and after it returned
            check_cycle(label, before, hammer, begun, done)

        def withdraw(rid: int) -> None:
            with open_archive(archive_db) as archive:
                _, result = edit_and_publish(archive, rid, {"access": "restricted"}, author="t")
            # no publish run by hand (the server's own check may have been quicker)
            assert result is not None and rid not in result.recordings
            state[rid]["public"] = False

        def release(rid: int) -> None:
            with open_archive(archive_db) as archive:
                edit_and_publish(archive, rid, {"access": "public"}, author="t")
                publish(archive)
            state[rid]["public"] = True

        def correct(rid: int, full: bool = False) -> None:
            text = f"Popravljen spomin popravek iz {rid}"
            with open_archive(archive_db) as archive:
                archive.db.execute(
                    "UPDATE segments SET text = ? WHERE recording_id = ?", [text, rid]
                )
                archive.db.execute(
                    "UPDATE recordings SET title = ? WHERE id = ?", [f"Popravek {rid}", rid]
                )
                archive.db.conn.commit()
                publish(archive, full=full)
            state[rid].update(text=text, title=f"Popravek {rid}")

        def add_new(number: int) -> None:
            new_interview(number)
            with open_archive(archive_db) as archive:
                publish(archive)

        for round_ in range(4):
            a, b = ids[round_ % len(ids)], ids[(round_ + 1) % len(ids)]
            cycle(f"{round_}: withdraw #{a}", lambda a=a: withdraw(a))
            cycle(f"{round_}: withdraw #{b}", lambda b=b: withdraw(b))
            cycle(f"{round_}: release #{a}", lambda a=a: release(a))
            cycle(f"{round_}: correct #{b} (full)", lambda b=b: correct(b, full=True))
            cycle(f"{round_}: release #{b}", lambda b=b: release(b))
        cycle("new interview", lambda: add_new(6))
        cycle("correction", lambda: correct(ids[0]))

        # An embargo that ends: no publish by anyone, the server's own check shows it.
        def embargo_ends() -> None:
            with open_archive(archive_db) as archive:  # as if the date had come
                archive.db.execute(
                    "UPDATE recordings SET embargo_until = ? WHERE id = ?",
                    [dt.date.today().isoformat(), embargoed],
                )
                archive.db.conn.commit()
            state[embargoed]["public"] = True
            deadline = time.monotonic() + 20
            while Site(base).titles()[1] != expected(state, ("titles", None)):
                assert time.monotonic() < deadline, "the ended embargo was not published"
                time.sleep(0.1)

        cycle("embargo ends", embargo_ends)

    assert len(cycles) >= 20
    assert counted >= 1000, counted
    ARTIFACTS.mkdir(exist_ok=True)  # the figures, for the README
    (ARTIFACTS / "live-site.json").write_text(
        json.dumps({"cycles": len(cycles), "requests": counted, "stale_or_errors": len(stale)})
    )
    assert stale == [], f"{len(stale)} of {counted}: {stale[:5]}"
    with open_archive(archive_db) as archive:
        history = list(archive.db.query("SELECT kind, status, started_by FROM publish_runs"))
    assert {"withdrawals"} <= {row["kind"] for row in history}
    assert {row["status"] for row in history} == {"done"}
    assert any(row["started_by"] == "samodejno" for row in history)  # the embargo's publish
