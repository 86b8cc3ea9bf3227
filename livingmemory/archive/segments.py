"""A decoded transcript's segments and words: the one type engines make and stages share.

Engines (``transcription/engines``) produce them, "who speaks" (``speakers/``) splits them at
turns and names them, the pipeline stores them. They sit on the ground floor so those stages
share the type without leaning on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SAMPLE_RATE = 16_000


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    word: str
    probability: float
    speaker: str | None = None  # set by diarization (livingmemory.speakers)


@dataclass(frozen=True)
class Segment:
    """One decoded stretch of speech, with the numbers needed to judge how far to trust it."""

    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    temperature: float = 0.0
    words: tuple[Word, ...] = ()
    speaker: str | None = None  # set by diarization (livingmemory.speakers)

    def clamped(self, duration: float) -> Segment:
        """This segment with every time inside ``[0, duration]``.

        Whisper pads its last window and can time the final words past the end of the
        audio (measured: a segment ending at 7.0 s in a 5.8 s recording); stored times must
        be real positions in the recording, or players, exports and re-imports disagree.
        A segment that starts at or after the end keeps a sliver before the end, so its
        text stays visible (and flagged) rather than silently lost.
        """
        if (
            self.end <= duration
            and self.start >= 0
            and all(w.start >= 0 and w.end <= duration for w in self.words)
        ):
            return self
        start = min(max(self.start, 0.0), max(duration - 0.1, 0.0))
        end = min(max(self.end, start), duration)
        if end <= start:
            end = min(start + 0.1, duration) if duration > start else start
        words = tuple(
            replace(w, start=min(max(w.start, start), end), end=min(max(w.end, start), end))
            for w in self.words
        )
        return replace(self, start=start, end=end, words=words)
