"""Transcriber (.trs) XML, read only: the format of many Slovenian speech corpora.

::

    <Trans audio_filename="…"><Speakers><Speaker id="spk1" name="Artur"/></Speakers>
      <Episode><Section startTime="0" endTime="1174.632">
        <Turn speaker="spk1" startTime="0" endTime="45.846">
          <Sync time="0"/>Zadnjič sem si …<Sync time="4.152"/>Film sem si …
        </Turn>

Each ``<Sync>`` starts a cue that ends at the next ``<Sync>`` or at the turn's ``endTime``;
speaker ids become names from the ``<Speakers>`` table; ``<Event>``, ``<Comment>`` and
``<Background>`` are dropped with the text around them kept; whitespace is collapsed and empty
cues (pauses, noise) are skipped. A turn of several speakers is Transcriber's overlapped speech:
``<Who nb="2"/>`` switches the speaker (both parts keep the Sync's times) and every cue of the
turn is marked ``overlap``. Notes: ``audio_filename``, ``scribe``, ``language``
and ``duration`` (the last section's ``endTime``) where the file has them.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import Cue, TranscriptDocument, check_cues
from livingmemory.formats.base import Format
from livingmemory.plugins import Register, hookimpl

_DECLARATION_RE = re.compile(r"\s*<\?xml[^>]*\?>")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _time(element: ET.Element, name: str, source: str | Path) -> float | None:
    value = element.get(name)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds):
        raise InputError(source, f"<{element.tag} {name}={quoted(value)}> is not a time")
    return seconds


def _turn_cues(
    turn: ET.Element, speakers: dict[str, str], source: str | Path
) -> list[tuple[float, float, str, str | None, bool]]:
    """(start, end, text, speaker, overlapped?) of each stretch of the turn; a turn that
    names several speakers is where Transcriber writes voices talking at once."""
    names = [speakers.get(ident, ident) for ident in (turn.get("speaker") or "").split()]
    turn_start = _time(turn, "startTime", source)
    turn_end = _time(turn, "endTime", source)
    # (start, speaker index, text pieces) for each stretch between Sync/Who marks.
    parts: list[tuple[float | None, int, list[str]]] = [(turn_start, 0, [turn.text or ""])]
    for child in turn:
        if child.tag == "Sync":
            parts.append((_time(child, "time", source), 0, []))
        elif child.tag == "Who":
            try:
                who = max(int(child.get("nb", "1")) - 1, 0)
            except ValueError:
                raise InputError(
                    source, f"<Who nb={quoted(child.get('nb', ''))}> is not a number"
                ) from None
            parts.append((parts[-1][0], who, []))
        parts[-1][2].append(child.tail or "")
    cues = []
    for index, (start, who, pieces) in enumerate(parts):
        text = " ".join("".join(pieces).split())
        if not text:
            continue
        if start is None:
            raise InputError(
                source, f"text {quoted(text)} has no start time (no Sync or startTime)"
            )
        end = next((later[0] for later in parts[index + 1 :] if later[0] != start), turn_end)
        if end is None:
            raise InputError(source, f"text {quoted(text)} has no end time (no Sync or endTime)")
        speaker = names[who] if who < len(names) else (names[-1] if names else None)
        cues.append((start, end, text, speaker, len(names) > 1))
    return cues


def loads_trs(text: str, source: str | Path = "<trs>") -> TranscriptDocument:
    """Parse Transcriber XML text (already decoded; its encoding declaration is ignored)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    declaration = _DECLARATION_RE.match(text)
    if declaration is not None:
        text = text[declaration.end() :]
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise InputError(source, f"not well-formed XML: {error}") from None
    if root.tag != "Trans":
        raise InputError(source, f"not a Transcriber file: the root element is <{root.tag}>")
    speakers = {
        speaker.get("id", ""): speaker.get("name") or speaker.get("id") or ""
        for speaker in root.iter("Speaker")
    }
    cues = [
        Cue(start=start, end=end, text=cue_text, speaker=speaker, overlap=overlap)
        for turn in root.iter("Turn")
        for start, end, cue_text, speaker, overlap in _turn_cues(turn, speakers, source)
    ]
    notes = {}
    for attribute, key in (("audio_filename", "audio_filename"), ("scribe", "scribe")):
        if root.get(attribute):
            notes[key] = root.get(attribute, "")
    if root.get(_XML_LANG):
        notes["language"] = root.get(_XML_LANG, "")
    sections = [section.get("endTime") for section in root.iter("Section")]
    if sections and sections[-1]:
        notes["duration"] = sections[-1]
    return TranscriptDocument(cues=check_cues(cues, source), notes=notes)


@hookimpl
def register_formats(register: Register[Format]) -> None:
    register(Format(".trs", "Transcriber XML (read only)", loads=loads_trs), "trs")
