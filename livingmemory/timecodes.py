"""Seconds as time codes: the one home of every way the package writes a time.

The formats, the published site, the volunteers' workspace, search and the CLI all show
times; each style below is what its readers expect, and each is written once:

- :func:`timecode` ``00:01:05.250``: exchange formats (WebVTT, SRT with ``sep=","``), exact
  to the millisecond, refusing negative or infinite times rather than writing nonsense;
- :func:`hms` ``00:01:05`` (``0:01:05`` with ``pad_hours=False``): search hits, the CLI,
  the play button, catalogue durations;
- :func:`clock` ``01:05``, ``1:01:05`` from an hour on: how a time is read aloud and cited;
- :func:`minutes_seconds` ``01:05`` (``75:00`` past an hour): the editor's short stamps.

A start time is rounded *down* (the words begin in that second: a link to it must not skip
them); a duration is rounded to the *nearest* second (``nearest=True``).
"""

from __future__ import annotations

import math


def hms_parts(seconds: float, *, nearest: bool = False) -> tuple[int, int, int]:
    """(hours, minutes, seconds) of ``seconds``, rounded down or to the nearest second."""
    whole = round(seconds) if nearest else int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs


def timecode(seconds: float, sep: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``sep=","`` for SRT); hours grow past 99 rather than wrap."""
    if not math.isfinite(seconds):
        raise ValueError(f"not a finite time: {seconds!r}")
    total_ms = round(seconds * 1000)
    if total_ms < 0:
        raise ValueError(f"negative time: {seconds!r}")
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{millis:03d}"


def hms(seconds: float, *, pad_hours: bool = True, nearest: bool = False) -> str:
    """``HH:MM:SS`` (or ``H:MM:SS`` with ``pad_hours=False``), whole seconds."""
    hours, minutes, secs = hms_parts(seconds, nearest=nearest)
    return f"{hours:{'02d' if pad_hours else 'd'}}:{minutes:02d}:{secs:02d}"


def clock(seconds: float | None, *, pad_minutes: bool = True, nearest: bool = False) -> str:
    """``mm:ss``, or ``h:mm:ss`` from an hour on (``m:ss`` with ``pad_minutes=False``)."""
    hours, minutes, secs = hms_parts(seconds or 0, nearest=nearest)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}" if pad_minutes else f"{minutes}:{secs:02d}"


def minutes_seconds(seconds: float) -> str:
    """``MM:SS`` with the minutes running on past an hour (``75:00``), rounded down."""
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"
