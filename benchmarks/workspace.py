"""How fast the workspace's pages answer on a large archive.

Builds a temporary archive with ``--recordings`` interviews (default 10,000: an hour each is
the project's 10,000-hour goal), each with a finished machine transcript of ``--segments``
segments and some queued jobs, then times what the pages run: the interviews list (newest
500), one interview's page data, and the editor's lines for a recording of ``--long`` lines,
plus a full save of that editor (a human transcript with revisions, like ``review --apply``).
Prints the median of ``--repeat`` runs in milliseconds.

    .venv/bin/python benchmarks/workspace.py [--recordings 10000] [--segments 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from livingmemory.archive.store import init_archive, open_archive, utc_now
from livingmemory.review.workspace import (
    Line,
    editor_lines,
    interviews,
    save_transcript,
)


def build(path: Path, recordings: int, segments: int, long: int) -> int:
    init_archive(path)
    now = utc_now()
    with open_archive(path) as archive:
        db = archive.db
        with db.atomic():
            db["recordings"].insert_all(
                {"id": n, "title": f"Intervju {n}", "file_path": f"recordings/r{n}.wav",
                 "original_filename": f"r{n}.wav", "sha256": f"{n:064x}", "size_bytes": 1,
                 "format": "wav", "duration": 3600.0, "language": "sl", "added_at": now}
                for n in range(1, recordings + 1)
            )  # fmt: skip
            db["transcripts"].insert_all(
                {"id": n, "recording_id": n, "source": "machine", "engine": "bench",
                 "language": "sl", "started_at": now, "finished_at": now, "is_current": 1,
                 "suspect_segments": n % 3}
                for n in range(1, recordings + 1)
            )  # fmt: skip
            db["segments"].insert_all(
                (
                    {"transcript_id": n, "recording_id": n, "position": k, "start": k * 5.0,
                     "end": k * 5.0 + 5.0, "text": f"stavek {k} v intervjuju {n}",
                     "flags": '["low_confidence"]' if k % 7 == 0 else None}
                    for n in range(1, recordings + 1)
                    for k in range(long if n == 1 else segments)
                ),
                batch_size=5000,
            )  # fmt: skip
        with db.atomic():
            db["jobs"].insert_all(
                {"recording_id": n, "queued_at": now, "status": "queued"}
                for n in range(recordings - 20, recordings + 1)
            )
    return 1


def timed(function: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--long", type=int, default=720, help="lines of the edited recording")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "archive.db"
        clock = time.perf_counter()
        recording_id = build(path, args.recordings, args.segments, args.long)
        built = time.perf_counter() - clock
        total = args.segments * (args.recordings - 1) + args.long
        print(f"archive: {args.recordings} recordings, {total} segments (built in {built:.0f} s)")
        with open_archive(path) as archive:
            rows = [
                ("interviews list (newest 500)", lambda: interviews(archive)),
                ("one interview's state", lambda: interviews(archive, 1, recording_id)),
                (f"editor lines ({args.long})", lambda: editor_lines(archive, recording_id)),
            ]
            for label, function in rows:
                print(f"{label:<34} {timed(function, args.repeat):8.1f} ms")
            lines = [
                Line(x["start"], x["end"], x["text"] + " (popravljeno)", None, x["id"])
                for x in editor_lines(archive, recording_id)
            ]
            clock = time.perf_counter()
            save_transcript(archive, recording_id, lines, author="bench", retag=False)
            spent = (time.perf_counter() - clock) * 1000
            print(f"{'save, every line changed (once)':<34} {spent:8.1f} ms")


if __name__ == "__main__":
    main()
