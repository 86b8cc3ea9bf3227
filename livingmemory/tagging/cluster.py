"""Tagging a backlog on a Dask cluster: workers run spaCy, the archive stays the one writer.

The same split as transcription on a cluster (:mod:`livingmemory.transcription.distributed`):
a worker builds each language pipeline once and turns a transcript's segments into a
:class:`~livingmemory.tagging.pipeline.TagResult` with
:func:`~livingmemory.tagging.pipeline.analyse`, the very function a serial run uses; this
process commits each result as it arrives with
:func:`~livingmemory.tagging.pipeline.commit_tags`. Only text travels (segments, names and the
archive's gazetteer, sent once), so workers need no access to the archive or its recordings.
A transcript whose worker died is submitted again by Dask; one that fails is reported and left
untagged, so the next ``tag`` run picks it up.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError
from livingmemory.tagging import LanguagePipeline, pipeline_for
from livingmemory.tagging.fuzzy import FuzzyPlaceSpotter
from livingmemory.tagging.gazetteer import Gazetteer
from livingmemory.tagging.pipeline import (
    TagBatch,
    TagProgress,
    TagResult,
    _topic_index,
    analyse,
    archive_gazetteer,
    commit_tags,
    transcript_segments,
    transcripts_to_tag,
)
from livingmemory.transcription.distributed import (
    ClusterConnection,
    as_they_finish,
    connect,
    require_distributed,
)


@dataclass(frozen=True)
class TagRequest:
    """One transcript as sent to a worker: its row, its segments and the interview's people."""

    transcript: dict[str, Any]
    language: str
    segments: list[dict[str, Any]]
    people: list[str]


@dataclass(frozen=True)
class TagFailure:
    """A transcript the worker could not tag: a message (exceptions need not pickle)."""

    transcript_id: int
    message: str


# -- the worker side --------------------------------------------------------------------------

_TOOLS: dict[tuple[str, str], tuple[LanguagePipeline, FuzzyPlaceSpotter, dict[str, str]]] = {}
_TOOLS_LOCK = threading.Lock()


def _tools(
    language: str, gazetteer: Gazetteer
) -> tuple[LanguagePipeline, FuzzyPlaceSpotter, dict[str, str]]:
    """This worker's pipeline for a language and gazetteer (built on first use only)."""
    key = (language, gazetteer.fingerprint())
    with _TOOLS_LOCK:
        if key not in _TOOLS:
            _TOOLS[key] = (
                pipeline_for(language, gazetteer),
                FuzzyPlaceSpotter(gazetteer),
                _topic_index(),
            )
        return _TOOLS[key]


def tag_task(request: TagRequest, gazetteer: Gazetteer) -> TagResult | TagFailure:
    """What a Dask worker runs: tag one transcript's segments."""
    try:
        pipeline, spotter, topic_index = _tools(request.language, gazetteer)
        return analyse(
            request.transcript, request.segments, request.people, pipeline, spotter, topic_index
        )
    except LivingMemoryError as error:
        return TagFailure(request.transcript["id"], str(error))


# -- the client side --------------------------------------------------------------------------


@dataclass
class ClusterTagBatch(TagBatch):
    """A serial run's result plus what failed on the cluster: (recording id, message)."""

    failed: list[tuple[int, str]] = field(default_factory=list)


def tag_on_cluster(
    archive: Archive,
    ids: Iterable[int] | None = None,
    *,
    force: bool = False,
    progress: TagProgress | None = None,
    cluster: str | ClusterConnection = "local",
    workers: int = 0,
    window: int = 0,
) -> ClusterTagBatch:
    """Tag every transcript that needs it on a Dask cluster; commit each as it arrives.

    ``cluster`` is ``"local"``, a scheduler address, or an open connection (tests). At most
    ``window`` transcripts (default: four per worker) are in flight, so memory stays bounded
    on a large backlog and an interruption loses little: committed transcripts are not
    tagged again by the next run.
    """
    gazetteer = archive_gazetteer(archive)
    todo = transcripts_to_tag(archive, gazetteer, ids, force)
    batch = ClusterTagBatch()
    if progress:
        progress.begin(len(todo))
    if not todo:
        return batch
    distributed = require_distributed()
    connection = connect(cluster, workers, 1) if isinstance(cluster, str) else cluster
    try:
        shared = connection.client.scatter(gazetteer, broadcast=True)

        def submit(row: dict[str, Any]) -> Any:
            request = TagRequest(
                transcript=dict(row),
                language=row["language"] or row["recording_language"] or "xx",
                segments=transcript_segments(archive, row["id"]),
                people=list(archive.people_names(row["recording_id"])),
            )
            return connection.client.submit(
                tag_task,
                request,
                shared,
                pure=False,
                key=f"livingmemory-tag-{row['id']}-{os.urandom(4).hex()}",
            )

        window = window or 4 * max(1, connection.workers)
        for row, future in as_they_finish(distributed, todo, submit, window):
            result = _result(future, row, distributed)
            if isinstance(result, TagFailure):
                batch.failed.append((row["recording_id"], result.message))
            else:
                try:
                    count = commit_tags(archive, result, gazetteer)
                except LivingMemoryError as error:  # corrected meanwhile: tagged next run
                    batch.failed.append((row["recording_id"], str(error)))
                    continue
                batch.tagged.append((row["recording_id"], count))
                if progress:
                    progress.advance(row, count)
    finally:
        if isinstance(cluster, str):
            connection.close()
    batch.tagged.sort()
    return batch


def _result(future: Any, row: dict[str, Any], distributed: Any) -> TagResult | TagFailure:
    try:
        result: TagResult | TagFailure = future.result()
    except distributed.KilledWorker:
        return TagFailure(row["id"], "the workers tagging it died repeatedly (out of memory?)")
    except Exception as error:  # a worker's bug fails one transcript, not the batch
        return TagFailure(row["id"], f"{type(error).__name__}: {error}")
    return result
