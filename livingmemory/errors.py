"""Errors that reach a volunteer as one clear line.

Every problem the user can fix (bad input, a missing program, a wrong archive path) is raised as a
:class:`LivingMemoryError`; the CLI prints its message on one line and exits non-zero. Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

from pathlib import Path


def readable(text: str) -> str:
    """Text that can be stored and printed: bytes of a file name that are not UTF-8 (a name
    from an old Windows disk, ``\udcff`` surrogates in Python) become U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# The most a message quotes of a value the user gave (a 10,000-character title is named by
# its beginning), and the most a whole message may be: one line a volunteer can read.
QUOTE_CHARS = 60
MAX_MESSAGE_CHARS = 300


def quoted(value: object, limit: int = QUOTE_CHARS) -> str:
    """``value`` for a message: quoted, on one line (newlines and control characters shown
    as escapes, as ``repr`` does), and at most ``limit`` characters of it, then ``…`` and how
    long it was. A bad value is named so the user can find it, never repeated whole."""
    text = readable(value if isinstance(value, str) else str(value))
    shown = repr(text[:limit])
    if len(text) > limit:
        shown += f"… ({len(text):,} characters)"
    return shown


def one_line(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """A message as one line of at most ``limit`` characters: line breaks become spaces and
    the middle of an overlong message is cut (its start says what, its end often where)."""
    text = " ".join(readable(message).split())
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return text[:head] + " … " + text[-(limit - head - 3) :]


class LivingMemoryError(Exception):
    """A problem the user can act on; ``str(error)`` is a complete one-line message."""


class InputError(LivingMemoryError):
    """A file or a metadata value that cannot be accepted, named with its source."""

    def __init__(self, source: str | Path, problem: str) -> None:
        self.source = readable(str(source))
        self.problem = readable(problem)
        super().__init__(f"{self.source}: {problem}")


class MissingDependencyError(LivingMemoryError):
    """A program or package the requested work needs is not installed."""


def write_text(path: Path, text: str) -> Path:
    """Write an output file, turning "no such folder" or "is a directory" into one line."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise LivingMemoryError(f"{path}: cannot write ({error.strerror or error})") from None
    return Path(path)


class ArchiveError(LivingMemoryError):
    """The archive itself cannot be used (absent, newer than this software, not an archive)."""
