"""Living Memory: a toolkit for oral-history archives.

Record elderly residents telling their stories, transcribe them, tag who/where/when,
and publish them for researchers and schools. Everything the ``livingmemory`` command does
is available from Python; the CLI is a thin layer over these functions::

    import livingmemory as lm

    with lm.open_archive("archive.db") as archive:
        lm.transcribe_recordings(archive)          # -> Batch of RecordingOutcome
        lm.tag_transcripts(archive)
        for hit in lm.search(archive, "na Jesenicah", decade=1950):
            print(hit.timecode, hit.title, hit.snippet)
        lm.publish(archive)

Names are imported on first use, so ``import livingmemory`` stays fast and a core install
(without Whisper or spaCy) can still open archives and search them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> the module that owns it (see ARCHITECTURE.md)
_EXPORTS = {
    "Archive": "livingmemory.archive.store",
    "open_archive": "livingmemory.archive.store",
    "init_archive": "livingmemory.archive.store",
    "LivingMemoryError": "livingmemory.errors",
    "add_recording": "livingmemory.ingest.add",
    "add_many": "livingmemory.ingest.add",
    "TranscribeSettings": "livingmemory.transcription.pipeline",
    "transcribe_recordings": "livingmemory.transcription.pipeline",
    "tag_transcripts": "livingmemory.tagging.pipeline",
    "search": "livingmemory.search",
    "Hit": "livingmemory.search",
    "review_queue": "livingmemory.review.revisions",
    "attach_transcript": "livingmemory.review.revisions",
    "publish": "livingmemory.site.publish",
    "export_recording": "livingmemory.formats.exports",
    "export_all": "livingmemory.formats.exports",
    "verify": "livingmemory.archive.fixity",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'livingmemory' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
