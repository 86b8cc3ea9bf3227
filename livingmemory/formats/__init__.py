"""Transcript exchange formats: WebVTT, SRT, timecoded text, JSON, Transcriber, OHMS, DC CSV.

Plain functions over two dataclasses, with no archive or database access::

    doc = TranscriptDocument(cues=[Cue(0.0, 4.2, "Rodila sem se v Kranju.", "Ana")], notes={})
    text = dumps(doc, "vtt")
    assert loads(text, "vtt") == doc
    doc = read_file(Path("interview.trs"))

Malformed input raises :class:`livingmemory.errors.InputError` with a one-line message naming
the source (``"<vtt>"`` or the file) and, where it can, the line.

Which formats exist is up to the plug-ins (:mod:`livingmemory.plugins`): each built-in format
module registers a :class:`~livingmemory.formats.base.Format` through the ``register_formats`` hook,
as an outside package would, and every function here reads that registry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from livingmemory import plugins
from livingmemory.errors import InputError, quoted
from livingmemory.formats._core import Cue, TranscriptDocument, parse_timecode, timecode
from livingmemory.formats.dublincore import dublin_core_csv, parse_dublin_core_csv
from livingmemory.formats.jsonfmt import dumps_json, loads_json
from livingmemory.formats.ohms import ohms_xml, parse_ohms
from livingmemory.formats.srt import dumps_srt, loads_srt
from livingmemory.formats.text import dumps_text, loads_text
from livingmemory.formats.trs import loads_trs
from livingmemory.formats.vtt import dumps_vtt, loads_vtt

if TYPE_CHECKING:
    from livingmemory.formats.base import Format

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
    "export_formats",
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
    "readable_formats",
    "registered_formats",
    "timecode",
    "writable_formats",
]


def registered_formats() -> dict[str, Format]:
    """Every registered format by name, in registration order (built-ins first)."""
    return {name: item.value for name, item in plugins.get().formats.items()}


def readable_formats() -> tuple[str, ...]:
    """Formats that can be read (``import-transcript``, ``review --apply``)."""
    return tuple(name for name, f in registered_formats().items() if f.loads is not None)


def writable_formats() -> tuple[str, ...]:
    """Formats a bare :class:`TranscriptDocument` can be written in."""
    return tuple(name for name, f in registered_formats().items() if f.dumps is not None)


def export_formats() -> tuple[str, ...]:
    """Formats a recording can be exported in (``export --format``)."""
    return tuple(
        name for name, f in registered_formats().items() if f.export or f.dumps is not None
    )


def __getattr__(name: str) -> tuple[str, ...]:
    # The tuples of earlier versions, now read from the plug-ins on each access.
    if name == "FORMATS":
        return readable_formats()
    if name == "WRITABLE_FORMATS":
        return writable_formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _format_name(fmt: str) -> str:
    return fmt.strip().lower().lstrip(".")


def dumps(doc: TranscriptDocument, fmt: str) -> str:
    """The document as text in ``fmt`` (one of :func:`writable_formats`)."""
    writer = registered_formats().get(_format_name(fmt))
    if writer is None or writer.dumps is None:
        raise InputError(
            f"<{fmt}>", f"cannot write this format (writable: {', '.join(writable_formats())})"
        )
    return writer.dumps(doc)


def loads(text: str, fmt: str, source: str | Path | None = None) -> TranscriptDocument:
    """Parse ``text`` in ``fmt`` (one of :func:`readable_formats`); errors name ``source`` or
    ``<fmt>``."""
    name = _format_name(fmt)
    reader = registered_formats().get(name)
    if reader is None or reader.loads is None:
        raise InputError(
            source or f"<{fmt}>",
            f"unknown transcript format (readable: {', '.join(readable_formats())})",
        )
    return reader.loads(text, source or f"<{name}>")


def detect_format(path: Path) -> str:
    """The readable format whose file name ending ``path`` has (the longest that fits)."""
    filename = Path(path).name.lower()
    endings = {name: f.extension.lower() for name, f in registered_formats().items() if f.loads}
    fits = [
        (len(ending), name)
        for name, ending in endings.items()
        if filename.endswith(ending) and len(filename) > len(ending)
    ]
    if not fits:
        raise InputError(
            path,
            f"unknown transcript file type {quoted(Path(path).suffix or '(no extension)')} "
            f"(expected {', '.join(dict.fromkeys(endings.values()))})",
        )
    return max(fits)[1]


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
            path, f"unknown text encoding {quoted(encoding)} in its XML declaration"
        ) from None
    except UnicodeDecodeError as error:
        raise InputError(
            path,
            f"not valid {encoding.removesuffix('-sig').upper()} text "
            f"(byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8",
        ) from None
    return loads(text, fmt, source=path)
