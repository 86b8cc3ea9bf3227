"""What an exchange format is: the :class:`Format` a plug-in registers, and what its
``export`` function may read (:class:`ExportSource`).

Both live here, below the format modules and below :mod:`livingmemory.formats.exports`, so
that a format module, the plug-in registry and the export entry points each import only
downwards: :mod:`livingmemory.plugins` knows no stage's types, and a format's ``export``
is typed against the protocol, not against the class that implements it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from livingmemory.formats._core import TranscriptDocument


class ExportSource(Protocol):
    """What a format's ``export`` sees of one recording (already redacted).

    :class:`livingmemory.formats.exports.ExportContext` is the archive's implementation;
    a test or an outside tool may pass anything with these members.
    """

    @property
    def recording(self) -> dict[str, Any]:
        """The recording's row."""
        ...

    @property
    def document(self) -> TranscriptDocument:
        """The current transcript, redacted."""
        ...

    @property
    def offset(self) -> float:
        """Added to times: the part's start in a multi-part interview."""
        ...

    def entities(self) -> list[dict[str, Any]]:
        """Tags of the current transcript, in time order."""
        ...

    def words(self) -> dict[int, list[dict[str, Any]]]:
        """Word timings by segment id."""
        ...

    def index_points(self) -> list[dict[str, Any]]:
        """The interview's index points, in time order."""
        ...

    def people_index(self) -> list[dict[str, Any]] | None:
        """The index people wrote (accepted, public), or None when there is none."""
        ...

    def people(self, role: str) -> list[str]:
        """Names of the recording's people in ``role`` (narrator, interviewer...)."""
        ...

    def title(self) -> str:
        """The public title."""
        ...


@dataclass(frozen=True)
class Format:
    """A transcript exchange format; any of the three functions may be missing.

    ``loads(text, source)`` reads one (``import-transcript``, ``review --apply``),
    ``dumps(document)`` writes one, and ``export(source)`` writes one with what the archive
    knows beyond the cues (tags, words, people; see :class:`ExportSource`). ``export``
    falls back to ``dumps``.
    """

    extension: str  # ".vtt": the file name ending written and recognised
    description: str
    loads: Callable[[str, str | Path], TranscriptDocument] | None = None
    dumps: Callable[[TranscriptDocument], str] | None = None
    export: Callable[[ExportSource], str] | None = None
