"""What one public request can make the site's process hold: the second audit's requests
(issue 22), against a real ``livingmemory serve`` of a published archive.

Runs of the same server on the same archive (``allow_sql: true`` in its metadata.yml, so
the SQL requests are possible at all): with the SQLite heap ceiling as shipped
(``sqlite_heap_limit_mb``, :data:`livingmemory.site.guard.SQLITE_HEAP_LIMIT_MB`) and with it
turned off (``0``); then the two SQL requests again with Datasette's SQL time limit at 60 s
instead of 3 s, since on a slow machine the time limit stops them first. For each request it
prints the Datasette process's resident memory before and after, its peak so far
(``VmHWM``), the status and the time. The long searches are refused by the query bounds of
``livingmemory.search`` in every run (the audit measured them before the bounds: 8,000 words
held 2.5 GB).

Material: a generated archive of one recording with 2,000 Slovenian transcript lines (no
shared material needed). Linux only (reads ``/proc``).

Usage::

    .venv/bin/python benchmarks/request_memory.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from pathlib import Path

LINES = [
    "Mama je rekla, da gremo v Kranj na semenj.",
    "Potem smo šli peš čez Savo do Škofje Loke.",
    "Oče je delal v tovarni, mama pa doma na kmetiji.",
    "Pozimi smo sedeli pri peči in poslušali zgodbe.",
]
SQL = (  # the audit's query
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000000) "
    "SELECT length(json_group_array(hex(randomblob(500)))) FROM c"
)
# The same growth in bigger steps (100 kB a row): more memory within the 3 s time limit.
SQL_FAST = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 20000) "
    "SELECT length(json_group_array(printf('%.*c', 100000, 'x'))) FROM c"
)


def build(folder: Path) -> Path:
    from livingmemory.archive.store import init_archive, open_archive, utc_now
    from livingmemory.ingest.add import add_recording
    from livingmemory.ingest.metadata import RecordingMetadata
    from livingmemory.site.publish import publish

    archive_db = init_archive(folder / "archive" / "archive.db").archive
    audio = folder / "pogovor.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0\1" * 8000 * 4)
    with open_archive(archive_db) as archive:
        metadata = RecordingMetadata(title="Pogovor o Kranju", access="public",
                                     consent_notes="Podpisano")  # fmt: skip
        recording_id = add_recording(archive, audio, metadata).recording_id
        transcript = archive.db["transcripts"].insert(
            {"recording_id": recording_id, "source": "machine", "engine": "benchmark",
             "started_at": utc_now(), "finished_at": utc_now(), "is_current": 1}
        ).last_pk  # fmt: skip
        archive.db["segments"].insert_all(
            {"transcript_id": transcript, "recording_id": recording_id, "position": i,
             "start": i * 0.002, "end": i * 0.002 + 0.001, "text": LINES[i % len(LINES)]}
            for i in range(2000)
        )  # fmt: skip
        archive.db.conn.commit()
        publish(archive)
    return archive_db


def status_of(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) // 1024
    return fields


def datasette_pid(serve: subprocess.Popen[bytes]) -> int:
    serve_pid = serve.pid
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and serve.poll() is None:
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == serve_pid and b"datasette" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except (OSError, ValueError, IndexError):
                continue
        time.sleep(0.2)
    output = serve.stderr.read().decode() if serve.stderr and serve.poll() is not None else ""
    raise SystemExit(f"no Datasette process found: {output}")


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=120) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def start(archive_db: Path, port: int, time_limit_ms: int | None) -> subprocess.Popen[bytes]:
    """``livingmemory serve``; with ``time_limit_ms``, the Datasette command serve runs, with
    that SQL time limit instead of 3 s (a faster machine does more within 3 s)."""
    if time_limit_ms is None:
        return subprocess.Popen(
            [sys.executable, "-m", "livingmemory", "serve", "--port", str(port),
             "--archive", str(archive_db)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    import json

    from livingmemory.archive.store import open_archive
    from livingmemory.site.guard import SQLITE_HEAP_LIMIT_MB
    from livingmemory.site.serve import datasette_command, site_metadata

    with open_archive(archive_db) as archive:
        metadata = site_metadata(archive)
        metadata["plugins"]["livingmemory"].setdefault("sqlite_heap_limit_mb", SQLITE_HEAP_LIMIT_MB)
        path = archive_db.parent / "served-metadata.json"
        path.write_text(json.dumps(metadata), encoding="utf-8")
        command = datasette_command(archive, path, host="127.0.0.1", port=port, private=False)
    at = command.index("sql_time_limit_ms")
    command[at + 1] = str(time_limit_ms)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process.datasette = True  # type: ignore[attr-defined]
    return process


def run(archive_db: Path, heap_mb: int | None, time_limit_ms: int | None = None) -> None:
    metadata = archive_db.parent / "metadata.yml"
    extra = (
        "" if heap_mb is None
        else f"plugins:\n  livingmemory:\n    sqlite_heap_limit_mb: {heap_mb}\n"
    )  # fmt: skip
    metadata.write_text(f"allow_sql: true\n{extra}", encoding="utf-8")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    serve = start(archive_db, port, time_limit_ms)
    try:
        pid = serve.pid if getattr(serve, "datasette", False) else datasette_pid(serve)
        for _ in range(150):
            try:
                get(port, "/")
                break
            except OSError:
                time.sleep(0.2)
        get(port, "/public/segments.json?_search=mama")  # warm: connections and caches
        words = lambda n: urllib.parse.quote(" ".join(["mama"] * n))  # noqa: E731
        common = urllib.parse.quote(" ".join(["je", "in", "da", "mama", "smo"] * 400))
        requests = [
            ("najdi.json, 'mama' x 8,000", f"/intervju/1/najdi.json?q={words(8000)}"),
            ("najdi.json, 'mama' x 4,000", f"/intervju/1/najdi.json?q={words(4000)}"),
            ("segments.json?_search=, x 8,000", f"/public/segments.json?_search={words(8000)}"),
            ("canned search, 2,000 common words", f"/public/search_transcripts.json?q={common}"),
            ("allow_sql: json_group_array over 2M rows",
             f"/public.json?sql={urllib.parse.quote(SQL)}"),
            ("allow_sql: json_group_array, 100 kB rows",
             f"/public.json?sql={urllib.parse.quote(SQL_FAST)}"),
        ]  # fmt: skip
        if time_limit_ms is not None:
            requests = requests[-2:]
        label = "as shipped" if heap_mb is None else f"sqlite_heap_limit_mb: {heap_mb}"
        limit = f"{(time_limit_ms or 3000) / 1000:g} s"
        print(f"\n## SQLite heap ceiling {label}; SQL time limit {limit}")
        print(f"{'request':44} {'status':>6} {'s':>6} {'RSS before':>11} {'RSS after':>10} "
              f"{'peak so far':>12}")  # fmt: skip
        for name, path in requests:
            before = status_of(pid)
            started = time.monotonic()
            code = get(port, path)
            elapsed = time.monotonic() - started
            after = status_of(pid)
            print(f"{name:44} {code:>6} {elapsed:6.2f} {before['VmRSS']:>8} MB "
                  f"{after['VmRSS']:>7} MB {after['VmHWM']:>9} MB")  # fmt: skip
    finally:
        serve.terminate()
        serve.wait(timeout=30)


def main() -> None:
    os.environ.setdefault("LIVINGMEMORY_USER", "benchmark")
    with tempfile.TemporaryDirectory() as folder:
        archive_db = build(Path(folder))
        run(archive_db, None)
        run(archive_db, 0)
        run(archive_db, None, time_limit_ms=60_000)
        run(archive_db, 0, time_limit_ms=60_000)


if __name__ == "__main__":
    main()
