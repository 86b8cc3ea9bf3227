"""Transcript exchange formats: WebVTT, SRT, timecoded text, JSON, Transcriber, OHMS, DC CSV.

Plain functions over two dataclasses, with no archive or database access::

    doc = TranscriptDocument(cues=[Cue(0.0, 4.2, "Rodila sem se v Kranju.", "Ana")], notes={})
    text = dumps(doc, "vtt")
    assert loads(text, "vtt") == doc
    doc = read_file(Path("interview.trs"))

Malformed input raises :class:`livingmemory.errors.InputError` with a one-line message naming
the source (``"<vtt>"`` or the file) and, where it can, the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from livingmemory.errors import InputError
from livingmemory.formats._core import Cue, TranscriptDocument, parse_timecode, timecode
from livingmemory.formats.dublincore import dublin_core_csv, parse_dublin_core_csv
from livingmemory.formats.jsonfmt import dumps_json, loads_json
from livingmemory.formats.ohms import ohms_xml, parse_ohms
from livingmemory.formats.srt import dumps_srt, loads_srt
from livingmemory.formats.text import dumps_text, loads_text
from livingmemory.formats.trs import loads_trs
from livingmemory.formats.vtt import dumps_vtt, loads_vtt

__all__ = [
    "FORMATS",
    "WRITABLE_FORMATS",
    "Cue",
    "TranscriptDocument",
    "detect_format",
    "dublin_core_csv",
    "dumps",
    "dumps_json",
    "dumps_srt",
    "dumps_text",
    "dumps_vtt",
    "loads",
    "loads_json",
    "loads_srt",
    "loads_text",
    "loads_trs",
    "loads_vtt",
    "ohms_xml",
    "parse_dublin_core_csv",
    "parse_ohms",
    "parse_timecode",
    "read_file",
    "timecode",
]

FORMATS = ("vtt", "srt", "txt", "json", "trs")  # readers
WRITABLE_FORMATS = ("vtt", "srt", "txt", "json")

_READERS = {
    "vtt": loads_vtt,
    "srt": loads_srt,
    "txt": loads_text,
    "json": loads_json,
    "trs": loads_trs,
}
_WRITERS = {"vtt": dumps_vtt, "srt": dumps_srt, "txt": dumps_text, "json": dumps_json}
_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _format_name(fmt: str) -> str:
    return fmt.strip().lower().lstrip(".")


def dumps(doc: TranscriptDocument, fmt: str) -> str:
    """The document as text in ``fmt`` (one of :data:`WRITABLE_FORMATS`)."""
    name = _format_name(fmt)
    if name not in _WRITERS:
        raise InputError(
            f"<{fmt}>", f"cannot write this format (writable: {', '.join(WRITABLE_FORMATS)})"
        )
    return _WRITERS[name](doc)


def loads(text: str, fmt: str, source: str | Path | None = None) -> TranscriptDocument:
    """Parse ``text`` in ``fmt`` (one of :data:`FORMATS`); errors name ``source`` or ``<fmt>``."""
    name = _format_name(fmt)
    if name not in _READERS:
        raise InputError(
            source or f"<{fmt}>", f"unknown transcript format (readable: {', '.join(FORMATS)})"
        )
    return _READERS[name](text, source or f"<{name}>")


def detect_format(path: Path) -> str:
    """The format name from the file extension (``.vtt .srt .txt .json .trs``)."""
    name = _format_name(Path(path).suffix)
    if name not in _READERS:
        raise InputError(
            path,
            f"unknown transcript file type {Path(path).suffix or '(no extension)'!r} "
            f"(expected {', '.join('.' + f for f in FORMATS)})",
        )
    return name


def read_file(path: Path) -> TranscriptDocument:
    """Detect the format and parse a UTF-8 file (``.trs`` in the encoding it declares)."""
    path = Path(path)
    fmt = detect_format(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as error:
        raise InputError(path, f"cannot read the file ({error.strerror or error})") from None
    encoding = "utf-8-sig"
    if fmt == "trs":
        declared = _ENCODING_RE.match(data.removeprefix(b"\xef\xbb\xbf"))
        if declared is not None:
            name = declared.group(1).decode("ascii")
            if name.lower().replace("_", "-") not in ("utf-8", "utf8"):
                encoding = name
    try:
        text = data.decode(encoding)
    except LookupError:
        raise InputError(
            path, f"unknown text encoding {encoding!r} in its XML declaration"
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(
            path,
            f"not valid {encoding.removesuffix('-sig').upper()} text "
            f"(byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8",
        ) from None
    return loads(text, fmt, source=path)
