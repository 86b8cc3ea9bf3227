"""Plain-text transcripts in the Baylor/Smithsonian style: one timecoded line per cue.

::

    # recording: 3
    # duration: 12.0

    [00:00:00] Ana Novak: Rodila sem se v Kranju.
    [00:00:04] Pa sem šla v šolo.
    [00:00:07] Interviewer: [hkrati] Kdaj?
    [00:00:12]

The speaker label (the name as given, then a colon) is written only when the speaker changes,
as a turn; a reader carries the speaker over until the next label. A cue ends where the next
timecode starts; a timecode line with no text marks an end without starting a cue (written
after the last cue and wherever a cue ends before the next one starts). Times are whole seconds
(``[HH:MM:SS]``) when every time in the document is, and ``[HH:MM:SS.mmm]`` otherwise, so a
round trip keeps them to the millisecond; ``milliseconds=True/False`` forces either.
A cue another voice talks over starts with ``[hkrati]`` ("at the same time"), after the label
when there is one; the reader takes the mark off and keeps the cue's ``overlap`` flag.

Limits: overlapping cues lose their ends; a cue without a speaker after one with a speaker
reads back with that speaker; an empty cue without a speaker reads back as an end mark; a
cue whose own text starts with ``[hkrati]`` reads back as overlapped.
"""

from __future__ import annotations

import re
from pathlib import Path

from livingmemory.errors import InputError
from livingmemory.formats._core import (
    Cue,
    TranscriptDocument,
    check_note_keys,
    escape_note,
    looks_like_label,
    mark_overlap,
    parse_timecode,
    split_lines,
    split_overlap,
    split_speaker,
    text_lines,
    timecode,
    unescape_note,
)
from livingmemory.formats.base import Format
from livingmemory.plugins import Register, hookimpl

LAST_CUE_SECONDS = 5.0  # length given to a last cue that has no end mark

_LINE_RE = re.compile(r"\[(\d+:\d{1,2}:\d{1,2}(?:[.,]\d{1,3})?|\d{1,2}:\d{1,2}(?:[.,]\d{1,3})?)\]")
_NOTE_RE = re.compile(r"#\s*([^\s:]+)\s*:(.*)")


def _whole_seconds(doc: TranscriptDocument) -> bool:
    return all(
        round(value * 1000) % 1000 == 0 for cue in doc.cues for value in (cue.start, cue.end)
    )


def dumps_text(doc: TranscriptDocument, *, milliseconds: bool | None = None) -> str:
    """The document as timecoded plain text (see the module docstring for the layout)."""
    check_note_keys(doc.notes, "text")
    if milliseconds is None:
        milliseconds = not _whole_seconds(doc)

    def stamp(seconds: float) -> str:
        if milliseconds:
            return f"[{timecode(seconds)}]"
        return f"[{timecode(float(round(seconds)))[:-4]}]"

    lines = [f"# {key}: {escape_note(value)}" for key, value in doc.notes.items()]
    if lines:
        lines.append("")
    cues = sorted(doc.cues, key=lambda cue: cue.start)
    previous: str | None = None
    for index, cue in enumerate(cues):
        body = [line.strip() for line in text_lines(cue.text)]
        first = body[0] if body else ""
        label = cue.speaker is not None and (
            cue.speaker != previous or not body or looks_like_label(first)
        )  # on a turn change, or where the text alone would read as a label/end mark
        first = mark_overlap(first, cue.overlap)
        if label and cue.speaker is not None:
            first = f"{' '.join(cue.speaker.split())}: {first}".rstrip()
        if cue.speaker is not None:
            previous = cue.speaker
        lines.append(f"{stamp(cue.start)} {first}".rstrip())
        lines.extend(body[1:])
        following = cues[index + 1] if index + 1 < len(cues) else None
        # An end mark only between cues: one past the next start (two voices at once) would
        # put the times out of order, and the file could not be read back.
        if following is None or (
            cue.end < following.start and stamp(cue.end) != stamp(following.start)
        ):
            lines.append(stamp(cue.end))
    return "\n".join(lines) + "\n" if lines else ""


def loads_text(text: str, source: str | Path = "<txt>") -> TranscriptDocument:
    """Parse timecoded plain text; :class:`InputError` names the line of anything malformed."""
    notes: dict[str, str] = {}
    # (line number, time, first-line text, further lines)
    entries: list[tuple[int, float, str, list[str]]] = []
    for lineno, line in enumerate(split_lines(text), 1):
        match = _LINE_RE.match(line)
        if match is not None:
            try:
                seconds = parse_timecode(match.group(1))
            except ValueError as error:
                raise InputError(source, f"line {lineno}: {error}") from None
            if entries and seconds < entries[-1][1]:
                raise InputError(
                    source,
                    f"line {lineno}: timecode {match.group(0)} comes before the one above it",
                )
            entries.append((lineno, seconds, line[match.end() :].strip(), []))
        elif entries:
            if line.strip():
                entries[-1][3].append(line.strip())
        elif line.strip():
            note = _NOTE_RE.fullmatch(line.strip())
            if note is not None:
                value = note.group(2)
                notes[note.group(1)] = unescape_note(value[1:] if value[:1] == " " else value)
            elif not line.lstrip().startswith("#"):
                raise InputError(
                    source,
                    f"line {lineno}: text before the first [HH:MM:SS] timecode "
                    f"(header lines start with '#')",
                )

    cues = []
    speaker: str | None = None
    for index, (_, start, first, more) in enumerate(entries):
        if not first and not more:
            continue  # an end mark
        label, first = split_speaker(first)
        if label is not None:
            speaker = label
        overlap, first = split_overlap(first)
        body = [first, *more] if first else more
        end = entries[index + 1][1] if index + 1 < len(entries) else start + LAST_CUE_SECONDS
        cues.append(
            Cue(start=start, end=end, text="\n".join(body), speaker=speaker, overlap=overlap)
        )
    return TranscriptDocument(cues=cues, notes=notes)


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(Format(".txt", "timecoded plain text", loads=loads_text, dumps=dumps_text), "txt")
