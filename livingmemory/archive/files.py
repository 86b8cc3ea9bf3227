"""Files every stage writes: their SHA-256, and writes that never leave half a file behind.

A recording's fingerprint (``add``, ``verify``, ``publish``), a converted model's provenance
and the transcripts' ``model_sha256`` are all :func:`sha256_file`. Anything a crash or a full
disk must not leave half-written (a users file, a converted checkpoint, a joined model, a
cache) goes through :func:`atomic_output`: written under a hidden partial name beside its
target, flushed to disk, then renamed into place, so a reader sees the old file or the new
one and never a torn one. Partial names carry the writer's process id, so
:func:`remove_stale_partials` can clear a killed writer's leftovers without touching the
partial copy of a writer still at work.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from livingmemory.archive.concurrency import process_alive

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks (recordings run to gigabytes)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def partial_path(target: Path) -> Path:
    """A hidden name beside ``target`` to write it under: ``.name.<pid>-<random>.partial``.

    Unique per process and call, so two writers of the same target never share one.
    """
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


def remove_stale_partials(target: Path) -> None:
    """Partial copies of ``target`` left by a writer that was killed (its process is gone)."""
    target.with_name(f".{target.name}.partial").unlink(missing_ok=True)  # older releases' name
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        pid = stale.name[len(target.name) + 2 :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: Path, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """Write ``path`` through a partial file that is renamed into place only on success.

    An exception inside the ``with`` block (a failed check, a full disk, Ctrl-C) removes the
    partial file and leaves ``path`` as it was. The partial file is private until it is
    complete; ``mode`` is the finished file's (``0o600`` for secrets).
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(partial, mode)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, mode: int = 0o644) -> Path:
    """:func:`atomic_output` for a UTF-8 text file; returns ``path``."""
    with atomic_output(path, mode=mode) as file:
        file.write(text.encode("utf-8"))
    return Path(path)
