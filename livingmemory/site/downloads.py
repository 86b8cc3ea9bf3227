"""What a researcher takes away from the public site: transcripts and search results as files.

* ``/intervju/<id>/prepis.<ext>``: the interview's transcript in every export format of the
  format registry (WebVTT, SRT, text, JSON, OHMS XML and any plug-in's), written by the
  format's own ``export``/``dumps`` over :class:`PublicExportContext`, the redacted
  :class:`~livingmemory.formats.exports.ExportContext` read from the *public* database. The
  public database holds only what publishing let through (no restricted or embargoed
  recording, no segment a redaction touches, no tag in one, no hidden speaker name), so a
  download can carry nothing the page itself does not show. The file is named after the
  interview's title.
* ``/iskanje.json`` and ``/iskanje.csv``: the search page's hits (same ``q``, filters and
  ``od`` paging as ``/iskanje``) as data, each with the interview's stable, time-coded URL.

The public site serves ``public.db`` only, so these read it through Datasette's database
handle (``pages._db_call``): a publish that updates the file in place is seen at once.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

from livingmemory.archive.sqlite import sqlite3
from livingmemory.archive.store import Archive
from livingmemory.formats import Cue, TranscriptDocument, export_formats, registered_formats
from livingmemory.formats.exports import ExportContext
from livingmemory.site import pages
from livingmemory.timecodes import clock
from livingmemory.words import fold

# Content types of the built-in formats' files; any other extension is sent as plain text.
CONTENT_TYPES = {
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
}

# How the interview page names each format (Slovenian, English); others by their description.
FORMAT_LABELS: dict[str, tuple[str, str]] = {
    "vtt": ("WebVTT (podnapisi)", "WebVTT (captions)"),
    "srt": ("SRT (podnapisi)", "SRT (subtitles)"),
    "txt": ("besedilo s časi", "text with times"),
    "json": ("JSON (z oznakami)", "JSON (with tags)"),
    "ohms": ("OHMS XML (kazalo)", "OHMS XML (index)"),
}

SEARCH_FIELDS = (
    "recording_id", "title", "narrators", "recorded_date", "place", "language",
    "start", "end", "clock", "speaker", "text", "url",
)  # fmt: skip


def slug(text: str, fallback: str = "intervju") -> str:
    """A file name stem from a title: folded to ASCII, words joined by hyphens, bounded."""
    stem = re.sub(r"[^a-z0-9]+", "-", fold(text or "")).strip("-")[:80].strip("-")
    return stem or fallback


def downloadable_formats() -> dict[str, tuple[str, str]]:
    """Extension (without the dot) -> (format name, extension) of every export format; the
    first format registered for an extension wins."""
    found: dict[str, tuple[str, str]] = {}
    formats = registered_formats()
    for name in export_formats():
        extension = formats[name].extension
        found.setdefault(extension.lstrip(".").lower(), (name, extension))
    return found


def format_label(name: str, lang: str) -> str:
    labels = FORMAT_LABELS.get(name)
    if labels:
        return labels[pages.lang_index(lang)]
    return registered_formats()[name].description


# -- the redacted export context over the public database ---------------------------------


@dataclass(frozen=True)
class PublicExportContext(ExportContext):
    """:class:`ExportContext` whose every method reads the public database ``conn``.

    Formats call only the methods (their contract), so the archive is not needed here; the
    public database has already left out restricted recordings and redacted passages with
    their tags. Word timings are not published, so :meth:`words` is empty.
    """

    conn: sqlite3.Connection | None = field(default=None, compare=False)

    def _conn(self) -> sqlite3.Connection:
        assert self.conn is not None
        return self.conn

    def entities(self) -> list[dict[str, Any]]:
        return pages._rows(
            self._conn(),
            "SELECT e.segment_id, e.label, e.text, e.canonical, e.value, e.start_seconds, "
            "e.confidence, e.method AS source, p.latitude, p.longitude FROM entities e "
            "LEFT JOIN places p ON p.id = e.place_id WHERE e.recording_id = ? "
            "ORDER BY e.start_seconds, e.id",
            [self.recording["id"]],
        )

    def words(self) -> dict[int, list[dict[str, Any]]]:
        return {}

    def index_points(self) -> list[dict[str, Any]]:
        """No machine-made stretches here: the public download carries only the index people
        wrote (:meth:`people_index`)."""
        return []

    def people_index(self) -> list[dict[str, Any]] | None:
        """The published index points (the ``index_points`` table) in OHMS's keys, or None
        when the interview has none."""
        points = published_index_points(self._conn(), self.recording["id"])
        if not points:
            return None
        return [
            {
                "time": point["at"],
                "title": point["title"] or "",
                "partial_transcript": point["partial_transcript"] or "",
                "synopsis": point["synopsis"] or "",
                "keywords": point["keywords"],
                "subjects": point["subjects"],
                "gps": f"{point['lat']}, {point['lon']}" if point["lat"] is not None else None,
                "gps_text": point["place"],
                "links": point["links"],
            }
            for point in points
        ]

    def people(self, role: str) -> list[str]:
        return [
            row["name"]
            for row in pages._rows(
                self._conn(),
                "SELECT p.name FROM recording_people rp JOIN people p ON p.id = rp.person_id "
                "WHERE rp.recording_id = ? AND rp.role = ? ORDER BY rp.rowid",
                [self.recording["id"], role],
            )
        ]

    def title(self) -> str:
        return str(self.recording.get("title") or f"Posnetek {self.recording['id']}")


def _json_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    try:
        items = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return [str(value)]
    return [str(item) for item in items] if isinstance(items, list) else [str(items)]


def published_index_points(conn: sqlite3.Connection, recording_id: int) -> list[dict[str, Any]]:
    """The recording's index points from the public ``index_points`` table, in time order;
    none while the public database has no such table (an archive published before index
    points existed)."""
    if not pages.has_table(conn, "index_points"):
        return []
    points = pages._rows(
        conn,
        "SELECT id, at, title, partial_transcript, synopsis, keywords, subjects, place, lat, "
        "lon, links FROM index_points WHERE recording_id = ? ORDER BY at, id",
        [recording_id],
    )
    for point in points:
        for key in ("keywords", "subjects", "links"):
            point[key] = _json_list(point[key])
    return points


def public_context(conn: sqlite3.Connection, recording_id: int) -> PublicExportContext | None:
    """The export context of a published recording with a transcript, else ``None``."""
    found = pages._rows(
        conn,
        "SELECT id, title, recorded_date, place, language, duration, audio_url "
        "FROM recordings WHERE id = ?",
        [recording_id],
    )
    if not found:
        return None
    recording = found[0]
    segments = pages._rows(
        conn,
        f"SELECT id, start, end, speaker, text, {pages.overlap_column(conn)} FROM segments "
        "WHERE recording_id = ? ORDER BY start, id",
        [recording_id],
    )
    if not segments:
        return None
    document = TranscriptDocument(
        cues=[
            Cue(s["start"], s["end"], s["text"], s["speaker"], f"seg-{s['id']}", bool(s["overlap"]))
            for s in segments
        ],
        notes={
            "recording": str(recording_id),
            "duration": f"{recording['duration'] or 0:.3f}",
            "title": recording["title"] or f"Posnetek {recording_id}",
        },
    )
    # The archive is not needed: every method of the context reads ``conn``.
    return PublicExportContext(cast(Archive, None), recording, document, conn=conn)


def export_public(conn: sqlite3.Connection, recording_id: int, name: str) -> str | None:
    """The recording's transcript in format ``name``, or ``None`` when it has none."""
    context = public_context(conn, recording_id)
    if context is None:
        return None
    format_ = registered_formats()[name]
    if format_.export is not None:
        return format_.export(context)
    assert format_.dumps is not None
    return format_.dumps(context.document)


def transcript_links(recording: dict[str, Any], lang: str) -> list[dict[str, str]]:
    """The interview page's download links: URL path, file name and label per format."""
    stem = slug(recording.get("title") or "", f"intervju-{recording['id']}")
    return [
        {
            "path": f"/intervju/{recording['id']}/prepis.{ext}",
            "filename": f"{stem}.{ext}",
            "label": format_label(name, lang),
            "ext": ext,
        }
        for ext, (name, _) in downloadable_formats().items()
    ]


def _attachment(filename: str) -> str:
    return f'attachment; filename="{filename}"'


async def transcript_view(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    await pages._allowed(datasette, request)
    page = pages.Page(datasette, request)
    recording_id = min(int(request.url_vars["id"]), 2**62)
    chosen = downloadable_formats().get(request.url_vars["ext"].lower())
    if chosen is None:
        return pages._not_found(page)
    name, extension = chosen

    def load(conn: sqlite3.Connection) -> tuple[str | None, str]:
        row = conn.execute("SELECT title FROM recordings WHERE id = ?", [recording_id]).fetchone()
        body = export_public(conn, recording_id, name) if row else None
        return body, (row[0] if row else "") or ""

    body, title = await pages._db_call(datasette, load)
    if body is None:
        return pages._not_found(page)
    response = Response(
        body, content_type=CONTENT_TYPES.get(extension.lower(), "text/plain; charset=utf-8")
    )
    stem = slug(title, f"intervju-{recording_id}")
    response.headers["content-disposition"] = _attachment(f"{stem}{extension}")
    # IIIF viewers on other sites fetch the WebVTT of the manifest's annotation.
    response.headers["access-control-allow-origin"] = "*"
    return response


# -- search results as data ---------------------------------------------------------------


def search_rows(
    conn: sqlite3.Connection, query: str, filters: dict[str, str], offset: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the search page's hits, in rank order, with their interview's fields;
    and whether another page follows."""
    hits = (
        pages.run_search(conn, query, **filters, limit=pages.PAGE_SIZE + 1, offset=offset)
        if query
        else []
    )
    more = len(hits) > pages.PAGE_SIZE
    hits = hits[: pages.PAGE_SIZE]
    recordings = pages.recordings_by_id(conn, [h["recording_id"] for h in hits])
    rows = []
    for hit in hits:
        recording = recordings.get(hit["recording_id"])
        if recording is None:
            continue
        rows.append(
            {
                "recording_id": hit["recording_id"],
                "title": recording["title"],
                "narrators": recording["narrators"],
                "recorded_date": recording["recorded_date"],
                "place": recording["place"],
                "language": recording["language"],
                "start": hit["start"],
                "end": hit["end"],
                "clock": clock(hit["start"] or 0),
                "speaker": hit["speaker"],
                "text": hit["text"],
            }
        )
    return rows, more


async def search_data_view(datasette: Any, request: Any) -> Any:
    from datasette.utils.asgi import Response

    await pages._allowed(datasette, request)
    page = pages.Page(datasette, request)
    query, chosen, filters, offset = pages.search_request(request)
    rows, more = await pages._db_call(
        datasette, lambda conn: search_rows(conn, query, filters, offset)
    )
    for row in rows:
        row["url"] = page.absolute(f"/intervju/{row['recording_id']}") + (
            f"#t={int(row['start'] or 0)}"
        )
    args = [(p, chosen[n]) for p, n in pages.FILTERS.items() if chosen[n]]
    ext = request.url_vars["ext"]

    def link(start: int) -> str:
        return page.absolute(f"/iskanje.{ext}") + "?" + urlencode([("q", query), *args,
                                                                    ("od", start)])  # fmt: skip

    if ext == "json":
        response = Response.json(
            {
                "query": query,
                "filters": {p: chosen[n] for p, n in pages.FILTERS.items() if chosen[n]},
                "offset": offset,
                "count": len(rows),
                "next": link(offset + pages.PAGE_SIZE) if more else None,
                "previous": link(max(0, offset - pages.PAGE_SIZE)) if offset else None,
                "page": page.absolute("/iskanje") + "?" + urlencode([("q", query), *args]),
                "hits": rows,
            }
        )
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=SEARCH_FIELDS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        response = Response(out.getvalue(), content_type="text/csv; charset=utf-8")
        response.headers["content-disposition"] = _attachment(f"iskanje-{slug(query, 'vse')}.csv")
        if more:  # the next page, as a link header (RFC 8288), for scripts that page on
            response.headers["link"] = f'<{link(offset + pages.PAGE_SIZE)}>; rel="next"'
    response.headers["access-control-allow-origin"] = "*"
    return response


def search_data_links(page: Any, request: Any) -> dict[str, str]:
    """The search page's links to the same results as JSON and CSV."""
    args = [(k, v) for k in request.args if k != "lang" for v in request.args.getlist(k)]
    suffix = "?" + urlencode(args) if args else ""
    return {ext: page.url(f"/iskanje.{ext}") + suffix for ext in ("json", "csv")}
