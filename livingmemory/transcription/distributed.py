"""Transcribing a backlog on a Dask cluster, with this process as the archive's only writer.

A region digitising its cassettes has thousands of hours; one machine at a real-time factor of
0.13 needs weeks. ``livingmemory transcribe --cluster local`` (a ``LocalCluster`` sized to the
machine) or ``--cluster tcp://scheduler:8786`` (any number of machines) spreads the decoding:

* every **worker** loads its model once (cached per process, see :func:`_loaded_engine`) and
  turns audio into segments with :func:`livingmemory.transcription.pipeline.decode_one`: pure, no
  archive. The audio is read from a path the worker can see (a shared folder, the default) or
  travels as bytes (``send_audio``) when the workers have no shared file system;
* the **client** (the CLI process) keeps a bounded window of recordings in flight, claims each
  one (as serial runs do), and commits each result the moment it arrives with
  :func:`livingmemory.transcription.pipeline.commit_one` (speakers, names heard, one transaction per
  recording), exactly as a serial run does. SQLite keeps a single writer; an interrupted
  batch keeps what was committed and the same command continues with the rest ("pending"
  means "no finished machine transcript");
* a worker that dies mid-recording loses nothing: the scheduler gives its recording to another
  worker (when it has killed more than ``distributed.scheduler.allowed-failures`` workers, 3
  by default, the recording is reported as failed and the rest of the batch goes on). A
  result is committed only once: the client re-checks, in the committing transaction, that no
  finished machine transcript appeared in the meantime (another client, or a duplicate).

Serial and distributed runs share one pipeline: ``decode_one`` on a worker, ``commit_one`` in
the client, so a cluster stores what a serial run stores (tested).

Dask (``distributed``) is an optional extra: ``pip install 'livingmemory[cluster]'``.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from livingmemory.archive.concurrency import claim_for_transcription, release
from livingmemory.archive.store import Archive
from livingmemory.errors import LivingMemoryError, MissingDependencyError, quoted
from livingmemory.transcription import models
from livingmemory.transcription.engines import get_engine
from livingmemory.transcription.engines.base import Engine
from livingmemory.transcription.pipeline import (
    Batch,
    DecodedRecording,
    Progress,
    RecordingOutcome,
    TranscribeSettings,
    commit_one,
    decode_one,
    prepare,
    start_batch,
)

T = TypeVar("T")

INSTALL_HINT = "pip install 'livingmemory[cluster]' (Dask distributed)"
#: Memory one worker needs for a base model and an hour of 16 kHz audio, with room to spare.
WORKER_MEMORY = 1 << 30


@dataclass(frozen=True)
class DecodeFailure:
    """A recording the worker could not decode (damaged audio...): a message, not a traceback.

    Returned rather than raised, because the project's exceptions need not survive pickling.
    """

    recording_id: int
    message: str


# -- the worker side --------------------------------------------------------------------------

_ENGINES: dict[tuple[Any, ...], tuple[Engine, models.ModelEntry, str | None]] = {}
_ENGINES_LOCK = threading.Lock()


def _loaded_engine(
    settings: TranscribeSettings, threads: int
) -> tuple[Engine, models.ModelEntry, str | None]:
    """The engine this worker process loaded for these settings (loaded on first use only)."""
    key = (settings.engine, settings.model, settings.compute_type, threads)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            engine_class = get_engine(settings.engine)
            model = models.resolve(settings.model)
            engine = engine_class(model, compute_type=settings.compute_type, threads=threads)
            _ENGINES[key] = (engine, model, models.model_sha256(model))
        return _ENGINES[key]


@dataclass(frozen=True)
class DecodeRequest:
    """One recording as sent to a worker: its row, its prompt, and a path or its bytes."""

    row: dict[str, Any]
    prompt: str | None
    word_timestamps: bool = True
    path: str | None = None
    data: bytes | None = None
    suffix: str = ".wav"


def decode_task(
    request: DecodeRequest, settings: TranscribeSettings, threads: int
) -> DecodedRecording | DecodeFailure:
    """What a Dask worker runs: decode one recording with this worker's (cached) model."""
    try:
        engine, model, model_sha = _loaded_engine(settings, threads)
        if request.data is not None:
            with tempfile.TemporaryDirectory(prefix="livingmemory-") as folder:
                path = Path(folder) / f"audio{request.suffix}"
                path.write_bytes(request.data)
                decoded = _decode(path, request, settings, engine, model, model_sha)
        else:
            path = Path(request.path or "")
            if not path.is_file():
                raise LivingMemoryError(
                    f"{path}: not found on this worker (share the recordings folder at the "
                    "same path, or send the audio with --send-audio)"
                )
            decoded = _decode(path, request, settings, engine, model, model_sha)
    except LivingMemoryError as error:
        return DecodeFailure(request.row["id"], str(error))
    decoded.worker = _worker_name()
    return decoded


def _decode(
    path: Path,
    request: DecodeRequest,
    settings: TranscribeSettings,
    engine: Engine,
    model: models.ModelEntry,
    model_sha: str | None,
) -> DecodedRecording:
    return decode_one(
        path, request.row, settings, engine, model, model_sha,
        prompt=request.prompt, word_timestamps=request.word_timestamps,
    )  # fmt: skip


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return ""


# -- the client side --------------------------------------------------------------------------


@dataclass
class ClusterPlan:
    """How a local cluster is laid out: worker processes and engine threads per worker."""

    workers: int
    threads: int

    @classmethod
    def for_machine(cls, workers: int = 0, threads: int = 0) -> ClusterPlan:
        """One single-threaded worker per core by default, as far as memory allows.

        Separate recordings on separate cores scale almost linearly, while one recording on
        more threads does not; each worker holds its own copy of the model.
        """
        cpus = os.cpu_count() or 1
        if not workers:
            memory = _total_memory() or WORKER_MEMORY * cpus
            workers = max(1, min(cpus // max(1, threads or 1), memory // WORKER_MEMORY))
        return cls(workers=workers, threads=threads or max(1, cpus // workers))


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def require_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(f"--cluster needs Dask: {INSTALL_HINT}") from None
    return distributed


@dataclass
class ClusterConnection:
    client: Any
    cluster: Any = None
    threads: int = 1
    workers: int = 1

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def start_local_cluster(plan: ClusterPlan) -> ClusterConnection:
    """A LocalCluster of ``plan.workers`` processes, each decoding one recording at a time.

    Dask starts workers with OMP/MKL/OPENBLAS_NUM_THREADS=1; that changes NumPy's summation
    order in the feature extraction and with it the last digits of every log-probability
    (measured with tiny.en: -0.7705 instead of -0.7593). The workers here inherit this
    process's settings instead, so a local cluster stores exactly what a serial run stores.
    """
    import logging

    import dask

    distributed = require_distributed()
    with dask.config.set(
        {"distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": 65536}}
    ):
        local = distributed.LocalCluster(
            n_workers=plan.workers,
            threads_per_worker=1,  # one recording at a time per worker; the engine has threads
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return ClusterConnection(distributed.Client(local), local, plan.threads, plan.workers)


def check_address(cluster: str) -> None:
    """A one-line error for what cannot be a cluster, before anything is loaded."""
    if cluster != "local" and not cluster.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise LivingMemoryError(
            f"--cluster {quoted(cluster)}: use 'local' or a scheduler address like tcp://host:8786"
        )


def connect(cluster: str, workers: int = 0, threads: int = 0) -> ClusterConnection:
    """``local`` starts a LocalCluster sized to this machine; an address joins a scheduler."""
    distributed = require_distributed()
    if cluster == "local":
        plan = ClusterPlan.for_machine(workers, threads)
        return start_local_cluster(plan)
    check_address(cluster)
    try:
        client = distributed.Client(cluster, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise LivingMemoryError(f"cannot reach the Dask scheduler at {cluster} ({error})") from None
    # Remote workers size themselves: threads=0 lets CTranslate2 follow the worker's
    # OMP_NUM_THREADS (see the README's two-machine set-up).
    counts = list(client.nthreads().values()) or [1]
    return ClusterConnection(client, None, threads or 0, len(counts))


def as_they_finish(
    distributed: Any,
    items: Iterable[T],
    submit: Callable[[T], Any | None],
    window: int,
) -> Iterator[tuple[T, Any]]:
    """``(item, future)`` as each submitted task finishes, with at most ``window`` in flight.

    The next item is submitted only when one finishes, so memory stays bounded on a large
    backlog and an interruption loses little. ``submit`` returns the future, or None for an
    item it passed over (it records why itself). Transcription and tagging on a cluster share
    this loop.
    """
    queue = iter(items)
    in_flight: dict[Any, T] = {}
    completed = distributed.as_completed()

    def submit_next() -> None:
        for item in queue:
            future = submit(item)
            if future is not None:
                in_flight[future] = item
                completed.add(future)
                return

    for _ in range(window):
        submit_next()
    for future in completed:
        item = in_flight.pop(future)
        yield item, future
        submit_next()


def transcribe_on_cluster(
    archive: Archive,
    ids: Iterable[int] | None = None,
    settings: TranscribeSettings | None = None,
    progress: Progress | None = None,
    *,
    cluster: str | ClusterConnection = "local",
    workers: int = 0,
    send_audio: bool = False,
    window: int = 0,
) -> Batch:
    """Transcribe pending recordings on a Dask cluster; commit each result as it arrives.

    ``cluster`` is ``"local"``, a scheduler address, or an open connection (tests). At most
    ``window`` recordings (default: twice the workers) are in flight, so memory stays bounded
    with ``send_audio`` and an interruption wastes little work.
    """
    settings, progress, rows = start_batch(archive, ids, settings, progress)
    batch = Batch()
    if not rows:
        return batch
    get_engine(settings.engine)  # an unknown or missing engine is one clear line, here
    models.resolve(settings.model)
    connection = (
        connect(cluster, workers, settings.threads) if isinstance(cluster, str) else cluster
    )
    distributed = require_distributed()
    try:
        progress.begin(sum(r["duration"] for r in rows), len(rows))

        def submit(row: dict[str, Any]) -> Any | None:
            if not claim_for_transcription(archive, row, force=settings.force):
                outcome = RecordingOutcome(row["id"], "skipped", "another transcribe run took it")
                batch.outcomes.append(outcome)
                progress.finished(outcome)
                return None
            return connection.client.submit(
                decode_task,
                _decode_request(archive, row, settings, send_audio),
                settings,
                connection.threads,
                pure=False,
                key=f"livingmemory-decode-{row['id']}-{os.urandom(4).hex()}",
            )

        window = window or 2 * max(1, connection.workers)
        for row, future in as_they_finish(distributed, rows, submit, window):
            progress.recording(row)
            try:
                outcome = _collect(archive, row, settings, future, distributed)
            finally:
                release(archive, row["id"], "transcribe")
            progress.advance(row["duration"])
            batch.outcomes.append(outcome)
            progress.finished(outcome)
    finally:
        if isinstance(cluster, str):
            connection.close()
    batch.outcomes.sort(key=lambda o: o.recording_id)
    return batch


def _decode_request(
    archive: Archive, row: dict[str, Any], settings: TranscribeSettings, send_audio: bool
) -> DecodeRequest:
    """What a worker needs to decode one recording: its path on the shared folder, or (with
    ``send_audio``) the file's bytes."""
    prompt, words = prepare(archive, row, settings)
    path = archive.root / row["file_path"]
    return DecodeRequest(
        row=dict(row),
        prompt=prompt,
        word_timestamps=words,
        path=None if send_audio else str(path.resolve()),
        data=path.read_bytes() if send_audio else None,
        suffix=path.suffix or ".wav",
    )


def _collect(
    archive: Archive,
    row: dict[str, Any],
    settings: TranscribeSettings,
    future: Any,
    distributed: Any,
) -> RecordingOutcome:
    try:
        result = future.result()
    except distributed.KilledWorker:
        return RecordingOutcome(
            row["id"], "failed", "the workers decoding it died repeatedly (out of memory?)"
        )
    except Exception as error:  # a worker's bug fails one recording, not the batch
        return RecordingOutcome(row["id"], "failed", f"{type(error).__name__}: {error}")
    if isinstance(result, DecodeFailure):
        return RecordingOutcome(row["id"], "failed", result.message)
    try:
        return commit_one(archive, row, settings, result)
    except LivingMemoryError as error:
        return RecordingOutcome(row["id"], "failed", str(error))
