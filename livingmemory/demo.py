"""The built-in example: an archive made from the interviews shipped with the package.

The examples are synthetic (espeak-ng voices reading invented life stories, made by
``scripts/make_examples.py``) so they can be shipped and published freely; each has a sidecar
with its metadata, and one is restricted, to show that restricted material stays private.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from livingmemory.archive.audio import require_ffmpeg
from livingmemory.archive.store import init_archive, open_archive
from livingmemory.errors import LivingMemoryError
from livingmemory.ingest.add import AddRequest, add_many
from livingmemory.ingest.metadata import SIDECAR_SUFFIXES

# Shipped inside the package (``recordings/examples`` in the project is a link to it), so the
# demo runs from any folder, also from an installed wheel.
EXAMPLES = Path(__file__).resolve().parent / "data" / "examples"


def example_files(examples: Path = EXAMPLES) -> list[Path]:
    """The audio files in ``examples`` (every file that is not a sidecar or a README)."""
    if not examples.is_dir():
        raise LivingMemoryError(
            f"{examples}: example recordings not found (reinstall livingmemory)"
        )
    return sorted(
        p
        for p in examples.iterdir()
        if p.is_file() and p.suffix not in (*SIDECAR_SUFFIXES, ".md", ".txt")
    )


def run_demo(
    directory: Path,
    examples: Path = EXAMPLES,
    on_progress: Callable[[str], None] = lambda line: None,
    *,
    transcribe: bool = True,
) -> str:
    """Build (or bring up to date) a demo archive in ``directory``; return a summary line.

    Each step only does what is missing, so running the demo again is quick.
    """
    require_ffmpeg()
    files = example_files(examples)
    init = init_archive(directory / "archive.db")
    on_progress(f"archive  {init.archive}")
    with open_archive(init.archive) as archive:
        results = add_many(
            archive,
            [AddRequest(path) for path in files],
            on_result=lambda r: on_progress(f"{r.status:<9}{r.path.name}: {r.message}"),
        )
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise LivingMemoryError(
                f"{len(failed)} example(s) could not be added: {failed[0].message}"
            )
        if transcribe:
            from livingmemory.transcription.pipeline import transcribe_recordings

            batch = transcribe_recordings(archive)
            for outcome in batch.outcomes:
                on_progress(f"{outcome.status:<12} #{outcome.recording_id}: {outcome.message}")
            if batch.failed:
                raise LivingMemoryError(f"transcription failed: {batch.failed[0].message}")
            from livingmemory.tagging.pipeline import tag_transcripts

            for recording_id, count in tag_transcripts(archive).tagged:
                on_progress(f"{'tagged':<12} #{recording_id}: {count} tags")
        from livingmemory.site.publish import publish

        published = publish(archive)
        on_progress(
            f"{'published':<12} {len(published.recordings)} recording(s) to "
            f"{published.database} ({published.withheld} withheld)"
        )
        rows = archive.recordings()
    public = sum(row["access"] == "public" for row in rows)
    transcribed = sum(row["state"] != "added" for row in rows)
    tagged = sum(row["state"] == "tagged" for row in rows)
    return (
        f"Demo archive {init.archive}: {len(rows)} recordings ({public} public, "
        f"{transcribed} transcribed, {tagged} tagged). "
        f"Try: livingmemory list --archive {init.archive}"
    )
