"""WebVTT: the captions format browsers play, and the transcript inside an OHMS record.

Written as::

    WEBVTT

    NOTE livingmemory recording=3
    NOTE livingmemory sha256=…

    seg-1
    00:00:01.500 --> 00:00:04.000
    <v Ana Novak>Rodila sem se v Kranju &amp; …

Notes travel as ``NOTE livingmemory key=value`` lines (value escaped with ``\\n``, ``\\r``,
``\\\\``). The reader takes cues with or without hours and ids, multi-line text, CRLF and a BOM;
it skips STYLE and REGION blocks and other NOTE blocks, and drops markup other than ``<v>``.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import (
    Cue,
    TranscriptDocument,
    check_cues,
    check_note_keys,
    escape_note,
    parse_cue_timing,
    split_lines,
    text_lines,
    timecode,
    unescape_note,
)
from livingmemory.formats.base import Format
from livingmemory.plugins import Register, hookimpl

NOTE_PREFIX = "livingmemory"

_HEADER_RE = re.compile(r"WEBVTT(?:[ \t].*)?")
_VOICE_RE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_TAG_RE = re.compile(r"<[^>]*>")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _note_value(value: str) -> str:
    # "-->" may not appear inside a NOTE block.
    return escape_note(value).replace("-->", "--\\>")


def dumps_vtt(doc: TranscriptDocument) -> str:
    """The document as WebVTT text (ends with a newline)."""
    check_note_keys(doc.notes, "WebVTT")
    blocks = ["WEBVTT"]
    if doc.notes:
        blocks.append(
            "\n".join(
                f"NOTE {NOTE_PREFIX} {key}={_note_value(value)}" for key, value in doc.notes.items()
            )
        )
    for cue in doc.cues:
        lines = []
        if cue.id is not None:
            cue_id = " ".join(cue.id.split())
            if not cue_id or "-->" in cue_id:
                raise ValueError(f"cue id {cue.id!r} cannot be written to WebVTT")
            lines.append(cue_id)
        lines.append(f"{timecode(cue.start)} --> {timecode(cue.end)}")
        body = [_escape(line) for line in text_lines(cue.text)]
        if cue.speaker is not None:
            # Two voices at once: the cue's voice span carries the class "overlap"
            # (WebVTT's <v.class name>), so players can style it and readers see it.
            kind = "v.overlap" if cue.overlap else "v"
            voice = f"<{kind} {_escape(' '.join(cue.speaker.split()))}>"
            body = [voice + body[0], *body[1:]] if body else [voice]
        lines.extend(body)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _cue_text(payload: list[str]) -> tuple[str | None, str, bool]:
    """(speaker, plain text, overlapped?) from cue payload lines: markup stripped, entities
    decoded; overlapped when the voice span has the class ``overlap``."""
    raw = "\n".join(payload)
    voice = _VOICE_RE.search(raw)
    speaker = None
    if voice is not None:
        speaker = html.unescape(voice.group(1)).strip() or None
    overlapped = bool(re.search(r"<v(?:\.[^\s>.]+)*\.overlap[\s.>]", raw))
    return speaker, html.unescape(_TAG_RE.sub("", raw)), overlapped


def _parse_timing(line: str, lineno: int, source: str | Path) -> tuple[float, float]:
    return parse_cue_timing(line, lineno, source)


def _parse_notes(block: list[tuple[int, str]], notes: dict[str, str], source: str | Path) -> None:
    """``NOTE livingmemory key=value`` lines (or ``NOTE livingmemory`` then ``key=value``)."""
    listing = False
    for index, (lineno, line) in enumerate(block):
        content = line.strip()
        if index == 0:
            content = content[4:].strip()  # drop "NOTE"
            if content == NOTE_PREFIX:
                listing = True
                continue
        elif content.startswith("NOTE ") or content.startswith("NOTE\t"):
            content = content[5:].strip()
        if content.startswith(NOTE_PREFIX + " ") or content.startswith(NOTE_PREFIX + "\t"):
            pair = content[len(NOTE_PREFIX) :].strip()
        elif listing:
            pair = content
        else:
            continue
        key, equals, value = pair.partition("=")
        if not equals or not key or any(ch.isspace() for ch in key):
            raise InputError(
                source, f"line {lineno}: livingmemory note {quoted(pair)} is not key=value"
            )
        notes[key] = unescape_note(value)


def loads_vtt(text: str, source: str | Path = "<vtt>") -> TranscriptDocument:
    """Parse WebVTT text; :class:`InputError` names the line of anything malformed."""
    lines = split_lines(text)
    if _HEADER_RE.fullmatch(lines[0].rstrip()) is None:
        raise InputError(
            source, f"line 1: a WebVTT file must start with 'WEBVTT', found {quoted(lines[0])}"
        )
    # The header runs to the first blank line (it may carry "Kind:"/"Language:" lines).
    position = 1
    while position < len(lines) and lines[position].strip() and "-->" not in lines[position]:
        position += 1
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for lineno, line in enumerate(lines[position:], position + 1):
        if line.strip():
            current.append((lineno, line.rstrip()))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)

    notes: dict[str, str] = {}
    cues: list[Cue] = []
    for block in blocks:
        first = block[0][1].strip()
        keyword = first.split(maxsplit=1)[0]
        if "-->" in block[0][1]:
            cue_id, timing, payload = None, block[0], block[1:]
        elif len(block) > 1 and "-->" in block[1][1]:
            cue_id, timing, payload = first, block[1], block[2:]
        elif keyword == "NOTE":
            _parse_notes(block, notes, source)
            continue
        elif keyword in ("STYLE", "REGION"):
            continue
        else:
            lineno, line = block[1] if len(block) > 1 else block[0]
            raise InputError(
                source,
                f"line {lineno}: expected a cue timing 'HH:MM:SS.mmm --> HH:MM:SS.mmm', "
                f"found {quoted(line)}",
            )
        start, end = _parse_timing(timing[1], timing[0], source)
        speaker, cue_text, overlapped = _cue_text([line for _, line in payload])
        cues.append(
            Cue(start=start, end=end, text=cue_text, speaker=speaker, id=cue_id,
                overlap=overlapped)
        )  # fmt: skip
    return TranscriptDocument(cues=check_cues(cues, source), notes=notes)


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(Format(".vtt", "WebVTT captions", loads=loads_vtt, dumps=dumps_vtt), "vtt")
