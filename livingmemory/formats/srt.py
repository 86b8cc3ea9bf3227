"""SubRip (.srt): numbered cues, ``HH:MM:SS,mmm`` times, the speaker as a ``Name: `` prefix.

SRT has no header, so a document's notes are dropped on writing, and its numbers are sequence
numbers, so cue ids are not kept either. On reading, a leading ``Name: `` of one to four
capitalised words is taken for the speaker; ``<i>``/``<b>``/``<u>``/``<font>`` markup is removed
and any other text (``<``, ``&``) is kept as it stands. A cue another voice talks over starts
with ``[hkrati]`` after the speaker (``Ana Novak: [hkrati] …``), read back as its ``overlap``.
"""

from __future__ import annotations

import re
from pathlib import Path

from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import (
    Cue,
    TranscriptDocument,
    check_cues,
    mark_overlap,
    parse_cue_timing,
    split_lines,
    split_overlap,
    split_speaker,
    text_lines,
    timecode,
)
from livingmemory.formats.base import Format
from livingmemory.plugins import Register, hookimpl

_FORMATTING_RE = re.compile(r"</?(?:i|b|u|font)(?:\s[^>]*)?>", re.IGNORECASE)


def dumps_srt(doc: TranscriptDocument) -> str:
    """The document as SubRip text (notes and cue ids are not representable)."""
    blocks = []
    for number, cue in enumerate(doc.cues, 1):
        body = text_lines(cue.text)
        if cue.overlap:  # another voice talks over it: "[hkrati]" before its words
            body = [mark_overlap(body[0] if body else "", True), *body[1:]]
        if cue.speaker is not None:
            label = " ".join(cue.speaker.split()) + ":"
            body = [f"{label} {body[0]}", *body[1:]] if body else [label]
        timing = f"{timecode(cue.start, ',')} --> {timecode(cue.end, ',')}"
        blocks.append("\n".join([str(number), timing, *body]))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _parse_timing(line: str, lineno: int, source: str | Path) -> tuple[float, float]:
    return parse_cue_timing(line, lineno, source, sep=",")


def loads_srt(text: str, source: str | Path = "<srt>") -> TranscriptDocument:
    """Parse SubRip text; :class:`InputError` names the line of anything malformed."""
    lines = split_lines(text)
    # A timing line follows a cue number or a blank line; "-->" inside cue text is just text.
    timings = [
        index
        for index, line in enumerate(lines)
        if "-->" in line
        and (index == 0 or not lines[index - 1].strip() or lines[index - 1].strip().isdigit())
    ]
    if not timings:
        if any(line.strip() for line in lines):
            raise InputError(
                source, "no cues found (expected 'HH:MM:SS,mmm --> HH:MM:SS,mmm' lines)"
            )
        return TranscriptDocument(cues=[], notes={})
    # Before the first cue there may only be blank lines and that cue's number.
    for index in range(timings[0]):
        line = lines[index].strip()
        if line and not (index == timings[0] - 1 and line.isdigit()):
            raise InputError(
                source,
                f"line {index + 1}: expected a cue number or a timing line, found {quoted(line)}",
            )
    cues = []
    for position, index in enumerate(timings):
        start, end = _parse_timing(lines[index], index + 1, source)
        stop = timings[position + 1] if position + 1 < len(timings) else len(lines)
        body = lines[index + 1 : stop]
        if position + 1 < len(timings) and body and body[-1].strip().isdigit():
            # The next cue's number sits just above its timing line.
            body.pop()
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        body = [_FORMATTING_RE.sub("", line.rstrip()) for line in body]
        speaker, overlap = None, False
        if body:
            speaker, body[0] = split_speaker(body[0])
            overlap, body[0] = split_overlap(body[0])
        cues.append(
            Cue(start=start, end=end, text="\n".join(body), speaker=speaker, overlap=overlap)
        )
    return TranscriptDocument(cues=check_cues(cues, source), notes={})


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(Format(".srt", "SubRip subtitles", loads=loads_srt, dumps=dumps_srt), "srt")
