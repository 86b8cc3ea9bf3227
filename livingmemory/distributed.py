"""Transcribing a backlog on a Dask cluster, with this process as the archive's only writer.

A region digitising its cassettes has thousands of hours; one machine at a real-time factor of
0.13 needs weeks. ``livingmemory transcribe --cluster local`` (a ``LocalCluster`` sized to the
machine) or ``--cluster tcp://scheduler:8786`` (any number of machines) spreads the decoding:

* every **worker** loads its model once (cached per process, see :func:`_loaded_engine`) and
  turns audio into segments with :func:`decode_recording`: pure, no archive. The audio is read
  from a path the worker can see (a shared folder, the default) or travels as bytes
  (``send_audio``) when the workers have no shared file system;
* the **client** (the CLI process) keeps a bounded window of recordings in flight, and commits
  each result the moment it arrives with :func:`commit_decoded`, one transaction per
  recording. SQLite keeps a single writer; an interrupted batch keeps what was committed and
  the same command continues with the rest ("pending" means "no finished machine transcript");
* a worker that dies mid-recording loses nothing: the scheduler gives its recording to another
  worker (when it has killed more than ``distributed.scheduler.allowed-failures`` workers, 3
  by default, the recording is reported as failed and the rest of the batch goes on). A
  result is committed only once: the client re-checks, in the committing transaction, that no
  finished machine transcript appeared in the meantime (another client, or a duplicate).

The split into decode and commit mirrors :func:`livingmemory.transcribe._transcribe_one`, which
does both in one function; :func:`decode_recording` + :func:`commit_decoded` produce exactly the
rows it produces (tested against a serial run), so the serial path can be rewritten on top of
them.

Dask (``distributed``) is an optional extra: ``pip install 'livingmemory[cluster]'``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from livingmemory import models
from livingmemory.archive import Archive, utc_now
from livingmemory.audio import load_audio
from livingmemory.engines import get_engine
from livingmemory.engines.base import SAMPLE_RATE, DecodeOptions, Engine, Segment
from livingmemory.errors import LivingMemoryError, MissingDependencyError
from livingmemory.quality import DroppedSpan, dropped_spans, flag_segments
from livingmemory.transcribe import (
    Batch,
    Progress,
    RecordingOutcome,
    TranscribeSettings,
    _channels,
    _Silent,
    _speaker,
    build_prompt,
    choose_language,
    pending_recordings,
)

INSTALL_HINT = "pip install 'livingmemory[cluster]' (Dask distributed)"
#: Memory one worker needs for a base model and an hour of 16 kHz audio, with room to spare.
WORKER_MEMORY = 1 << 30


@dataclass(frozen=True)
class DecodeSettings:
    """Engine options the distributed path passes on top of :class:`TranscribeSettings`.

    ``batched=None`` keeps :class:`DecodeOptions`' own default.
    """

    batched: bool | None = None
    batch_size: int = 0


@dataclass
class DecodedRecording:
    """Everything a worker found in one recording; the client turns it into archive rows."""

    recording_id: int
    language: str
    language_probability: float | None
    language_source: str
    language_candidates: list[tuple[str, float]]
    prompt: str | None
    options: DecodeOptions
    channels: list[int | None]
    segments: list[tuple[int | None, Segment]]
    spans: list[tuple[int | None, DroppedSpan]]
    engine: str
    engine_version: str
    model: str
    model_sha256: str | None
    compute_type: str
    started_at: str
    wall_seconds: float
    worker: str = ""


@dataclass(frozen=True)
class DecodeFailure:
    """A recording the worker could not decode (damaged audio...): a message, not a traceback.

    Returned rather than raised, because the project's exceptions need not survive pickling.
    """

    recording_id: int
    message: str


# -- decode: audio + settings -> segments (no archive) ----------------------------------------


def decode_options(
    settings: TranscribeSettings, language: str, prompt: str | None, extra: DecodeSettings
) -> DecodeOptions:
    """The engine options for one recording, as the serial pipeline builds them."""
    options = DecodeOptions(
        language=language,
        beam_size=settings.beam_size,
        initial_prompt=prompt,
        vad=settings.vad,
        word_timestamps=settings.word_timestamps,
    )
    if extra.batched is not None:
        options = replace(options, batched=extra.batched)
    if extra.batch_size:
        options = replace(options, batch_size=extra.batch_size)
    return options


def decode_recording(
    path: Path,
    row: dict[str, Any],
    settings: TranscribeSettings,
    prompt: str | None,
    engine: Engine,
    model: models.ModelEntry,
    model_sha: str | None,
    extra: DecodeSettings | None = None,
    progress: Progress | None = None,
) -> DecodedRecording:
    """Decode one recording's audio into segments and dropped spans; touches no archive.

    ``row`` is the recording's row (its id, language, channels and duration are used);
    ``prompt`` is what :func:`~livingmemory.transcribe.build_prompt` wrote from the archive.
    """
    extra = extra or DecodeSettings()
    progress = progress or _Silent()
    started_at, clock = utc_now(), time.monotonic()
    channels = _channels(row, settings)
    audios = {ch: load_audio(path, channel=ch) for ch in channels}
    first = audios[channels[0]]
    language, probability, source, candidates = choose_language(
        settings, row, engine, first, model.multilingual
    )
    options = decode_options(settings, language, prompt, extra)
    results: list[tuple[int | None, Segment]] = []
    spans: list[tuple[int | None, DroppedSpan]] = []
    share = 1.0 / len(channels)
    for channel, audio in audios.items():
        segments_iter, info = engine.transcribe(audio, options)
        decoded: list[Segment] = []
        position = 0.0
        for segment in segments_iter:
            decoded.append(segment)
            progress.advance(max(0.0, min(segment.end, info.duration) - position) * share)
            position = max(position, min(segment.end, info.duration))
        progress.advance(max(0.0, len(audio) / SAMPLE_RATE - position) * share)
        results += [(channel, s) for s in decoded]
        spans += [(channel, d) for d in dropped_spans(audio, decoded)]
    results.sort(key=lambda pair: (pair[1].start, pair[0] or 0))
    return DecodedRecording(
        recording_id=row["id"],
        language=language,
        language_probability=probability,
        language_source=source,
        language_candidates=list(candidates),
        prompt=prompt,
        options=options,
        channels=channels,
        segments=results,
        spans=spans,
        engine=engine.name,
        engine_version=engine.version(),
        model=model.name,
        model_sha256=model_sha,
        compute_type=engine.compute_type,
        started_at=started_at,
        wall_seconds=time.monotonic() - clock,
    )


# -- commit: one transaction per recording, in the single writer ------------------------------


def commit_decoded(
    archive: Archive,
    row: dict[str, Any],
    settings: TranscribeSettings,
    decoded: DecodedRecording,
) -> RecordingOutcome:
    """Write one decoded recording as a new current machine transcript, atomically.

    Without ``settings.force`` a recording that got a finished machine transcript since the
    batch began (another client, or a duplicate result) is skipped, so nothing is done twice.
    """
    channels = decoded.channels
    speakers = {
        ch: _speaker(archive, row["id"], settings.channel_roles[ch])
        for ch in channels
        if ch is not None
    }
    run = {
        "recording_id": row["id"],
        "source": "machine",
        "engine": decoded.engine,
        "engine_version": decoded.engine_version,
        "model": decoded.model,
        "model_sha256": decoded.model_sha256,
        "compute_type": decoded.compute_type,
        "language": decoded.language,
        "language_probability": decoded.language_probability,
        "language_source": decoded.language_source,
        "language_candidates": json.dumps(decoded.language_candidates)
        if decoded.language_candidates
        else None,
        "options": json.dumps(replace(decoded.options, initial_prompt=None).as_dict()),
        "prompt": decoded.prompt,
        "channels": json.dumps({str(k): v for k, v in speakers.items()}) if speakers else "mix",
        "started_at": decoded.started_at,
        "finished_at": utc_now(),
        "audio_seconds": row["duration"],
        "wall_seconds": round(decoded.wall_seconds, 3),
        "is_current": 1,
    }
    flagged = []
    for channel in channels:  # loops are judged within one speaker's channel
        own = [s for ch, s in decoded.segments if ch == channel]
        flags = flag_segments(own, decoded.language, decoded.options)
        flagged += [(channel, s, f) for s, f in zip(own, flags, strict=True)]
    flagged.sort(key=lambda item: (item[1].start, item[0] or 0))
    run["suspect_segments"] = sum(1 for _, _, f in flagged if f)
    with archive.db.atomic():
        if not settings.force and _finished(archive, row["id"]):
            return RecordingOutcome(
                row["id"], "skipped", "already transcribed (a finished transcript exists)"
            )
        archive.db.execute(
            "UPDATE transcripts SET is_current = 0 WHERE recording_id = ? AND source = 'machine'",
            [row["id"]],
        )
        transcript_id = archive.db["transcripts"].insert(run).last_pk
        archive.db["segments"].insert_all(
            {
                "transcript_id": transcript_id,
                "recording_id": row["id"],
                "position": position,
                "start": round(segment.start, 3),
                "end": round(segment.end, 3),
                "text": segment.text,
                "speaker": speakers.get(channel) if channel is not None else None,
                "channel": channel,
                "avg_logprob": round(segment.avg_logprob, 4),
                "no_speech_prob": round(segment.no_speech_prob, 4),
                "compression_ratio": round(segment.compression_ratio, 3),
                "temperature": segment.temperature,
                "words": json.dumps([w.__dict__ for w in segment.words], ensure_ascii=False)
                if segment.words
                else None,
                "flags": json.dumps(flags) if flags else None,
                "suspect": int(bool(flags)),
            }
            for position, (channel, segment, flags) in enumerate(flagged)
        )
        archive.db["dropped_spans"].insert_all(
            {
                "transcript_id": transcript_id,
                "recording_id": row["id"],
                "channel": channel,
                "start": span.start,
                "end": span.end,
                "reason": span.reason,
                "loudness_dbfs": round(span.loudness_dbfs, 1),
            }
            for channel, span in decoded.spans
        )
    return RecordingOutcome(
        row["id"],
        "transcribed",
        f"{len(decoded.segments)} segments in {decoded.language}",
        transcript_id,
        len(decoded.segments),
        run["suspect_segments"],
        len(decoded.spans),
        decoded.language,
    )


def _finished(archive: Archive, recording_id: int) -> bool:
    return bool(
        list(
            archive.db.query(
                "SELECT 1 FROM transcripts WHERE recording_id = ? AND source = 'machine' "
                "AND finished_at IS NOT NULL LIMIT 1",
                [recording_id],
            )
        )
    )


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
    path: str | None = None
    data: bytes | None = None
    suffix: str = ".wav"


def decode_task(
    request: DecodeRequest, settings: TranscribeSettings, extra: DecodeSettings, threads: int
) -> DecodedRecording | DecodeFailure:
    """What a Dask worker runs: decode one recording with this worker's (cached) model."""
    try:
        engine, model, model_sha = _loaded_engine(settings, threads)
        if request.data is not None:
            with tempfile.TemporaryDirectory(prefix="livingmemory-") as folder:
                path = Path(folder) / f"audio{request.suffix}"
                path.write_bytes(request.data)
                decoded = decode_recording(
                    path, request.row, settings, request.prompt, engine, model, model_sha, extra
                )
        else:
            path = Path(request.path or "")
            if not path.is_file():
                raise LivingMemoryError(
                    f"{path}: not found on this worker (share the recordings folder at the "
                    "same path, or send the audio with --send-audio)"
                )
            decoded = decode_recording(
                path, request.row, settings, request.prompt, engine, model, model_sha, extra
            )
    except LivingMemoryError as error:
        return DecodeFailure(request.row["id"], str(error))
    decoded.worker = _worker_name()
    return decoded


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


def _require_distributed() -> Any:
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

    distributed = _require_distributed()
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


def connect(cluster: str, workers: int = 0, threads: int = 0) -> ClusterConnection:
    """``local`` starts a LocalCluster sized to this machine; an address joins a scheduler."""
    distributed = _require_distributed()
    if cluster == "local":
        plan = ClusterPlan.for_machine(workers, threads)
        return start_local_cluster(plan)
    if not cluster.startswith(("tcp://", "tls://", "ucx://", "inproc://")):
        raise LivingMemoryError(
            f"--cluster {cluster!r}: use 'local' or a scheduler address like tcp://host:8786"
        )
    try:
        client = distributed.Client(cluster, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise LivingMemoryError(f"cannot reach the Dask scheduler at {cluster} ({error})") from None
    # Remote workers size themselves: threads=0 lets CTranslate2 follow the worker's
    # OMP_NUM_THREADS (see the README's two-machine set-up).
    counts = list(client.nthreads().values()) or [1]
    return ClusterConnection(client, None, threads or 0, len(counts))


def transcribe_on_cluster(
    archive: Archive,
    ids: Iterable[int] | None = None,
    settings: TranscribeSettings | None = None,
    progress: Progress | None = None,
    *,
    cluster: str | ClusterConnection = "local",
    workers: int = 0,
    send_audio: bool = False,
    extra: DecodeSettings | None = None,
    window: int = 0,
) -> Batch:
    """Transcribe pending recordings on a Dask cluster; commit each result as it arrives.

    ``cluster`` is ``"local"``, a scheduler address, or an open connection (tests). At most
    ``window`` recordings (default: twice the workers) are in flight, so memory stays bounded
    with ``send_audio`` and an interruption wastes little work.
    """
    settings = settings or TranscribeSettings()
    extra = extra or DecodeSettings()
    progress = progress or _Silent()
    rows = pending_recordings(archive, ids, force=settings.force)
    batch = Batch()
    if not rows:
        return batch
    get_engine(settings.engine)  # an unknown or missing engine is one clear line, here
    models.resolve(settings.model)
    if isinstance(cluster, str):
        connection = connect(cluster, workers, settings.threads)
    else:
        connection = cluster
    distributed = _require_distributed()
    try:
        progress.begin(sum(r["duration"] for r in rows), len(rows))
        window = window or 2 * max(1, connection.workers)
        queue: Iterator[dict[str, Any]] = iter(rows)
        in_flight: dict[Any, dict[str, Any]] = {}
        completed = distributed.as_completed()

        def submit_next() -> None:
            row = next(queue, None)
            if row is None:
                return
            prompt = (
                build_prompt(archive, row, settings.prompt)
                if settings.metadata_prompt
                else settings.prompt
            )
            path = archive.root / row["file_path"]
            request = DecodeRequest(
                row=dict(row),
                prompt=prompt,
                path=None if send_audio else str(path.resolve()),
                data=path.read_bytes() if send_audio else None,
                suffix=path.suffix or ".wav",
            )
            future = connection.client.submit(
                decode_task,
                request,
                settings,
                extra,
                connection.threads,
                pure=False,
                key=f"livingmemory-decode-{row['id']}-{os.urandom(4).hex()}",
            )
            in_flight[future] = row
            completed.add(future)

        for _ in range(window):
            submit_next()
        for future in completed:
            row = in_flight.pop(future)
            progress.recording(row)
            outcome = _collect(archive, row, settings, future, distributed)
            progress.advance(row["duration"])
            batch.outcomes.append(outcome)
            progress.finished(outcome)
            submit_next()
    finally:
        if isinstance(cluster, str):
            connection.close()
    batch.outcomes.sort(key=lambda o: o.recording_id)
    return batch


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
        return commit_decoded(archive, row, settings, result)
    except LivingMemoryError as error:
        return RecordingOutcome(row["id"], "failed", str(error))


def transcribe_serial(
    archive: Archive,
    ids: Iterable[int] | None = None,
    settings: TranscribeSettings | None = None,
    progress: Progress | None = None,
    *,
    extra: DecodeSettings | None = None,
) -> Batch:
    """The serial pipeline built from :func:`decode_recording` + :func:`commit_decoded`.

    Gives the rows :func:`livingmemory.transcribe.transcribe_recordings` gives (tested), plus
    the engine options of :class:`DecodeSettings` (``--batched/--sequential``).
    """
    settings = settings or TranscribeSettings()
    progress = progress or _Silent()
    rows = pending_recordings(archive, ids, force=settings.force)
    batch = Batch()
    if not rows:
        return batch
    threads = settings.threads or os.cpu_count() or 1
    engine, model, model_sha = _loaded_engine(settings, threads)
    progress.begin(sum(r["duration"] for r in rows), len(rows))
    for row in rows:
        progress.recording(row)
        try:
            prompt = (
                build_prompt(archive, row, settings.prompt)
                if settings.metadata_prompt
                else settings.prompt
            )
            decoded = decode_recording(
                archive.root / row["file_path"],
                row,
                settings,
                prompt,
                engine,
                model,
                model_sha,
                extra,
                progress,
            )
            outcome = commit_decoded(archive, row, settings, decoded)
        except LivingMemoryError as error:
            outcome = RecordingOutcome(row["id"], "failed", str(error))
        batch.outcomes.append(outcome)
        progress.finished(outcome)
    return batch


def transcribe_cluster_or_serial(
    archive: Archive,
    ids: Iterable[int] | None = None,
    settings: TranscribeSettings | None = None,
    progress: Progress | None = None,
    *,
    cluster: str | None = None,
    workers: int = 0,
    send_audio: bool = False,
    extra: DecodeSettings | None = None,
) -> Batch:
    """What ``livingmemory transcribe`` runs when ``--cluster`` or ``--batched`` is given."""
    if cluster:
        return transcribe_on_cluster(
            archive,
            ids,
            settings,
            progress,
            cluster=cluster,
            workers=workers,
            send_audio=send_audio,
            extra=extra,
        )
    return transcribe_serial(archive, ids, settings, progress, extra=extra)
