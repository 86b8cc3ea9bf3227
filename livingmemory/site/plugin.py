"""Datasette plugin: play a recording from the second a transcript segment starts.

Registered through the ``datasette`` entry point in ``pyproject.toml``. It adds:

* ``/-/audio/<name>``: the audio files of the published archive, served from the folder given
  by the plugin configuration (``plugins: {livingmemory: {audio_dir: /abs/path}}``) with HTTP
  Range support. Browsers seek in audio by asking for byte ranges; a server that answers every
  request with the whole file (Datasette's static files, datasette-media) leaves the player at
  0:00.
* A ``play`` cell (``/-/audio/3.opus#t=12.5``) rendered as a button that plays the recording
  from that second in one shared ``<audio>`` element (``static/player.js``).

Audio is served only to actors allowed ``view-instance`` (403 otherwise), and only audio
files directly inside ``audio_dir``: any name with a path separator, starting with a dot,
with another extension, or resolving (through a symlink) outside the folder is answered
with 404.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiofiles
from datasette import Forbidden, hookimpl
from datasette.utils.asgi import asgi_static
from markupsafe import Markup, escape

from livingmemory.search import PUBLIC_FTS_TABLES
from livingmemory.site import pages as site_pages
from livingmemory.site.guard import (  # noqa: F401  (login throttle, cookie, paths, memory)
    asgi_wrapper,
    handle_exception,
)
from livingmemory.timecodes import hms

PLUGIN_NAME = "livingmemory"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"

# Content types by extension; any other extension is not served.
AUDIO_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".webm": "audio/webm",
}

CHUNK_SIZE = 64 * 1024

PLAY_RE = re.compile(r"^(/-/audio/[A-Za-z0-9._-]+)#t=(\d+(?:\.\d+)?)$")
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)


# -- audio route ------------------------------------------------------------------------


class RangeNotSatisfiable(ValueError):
    """The Range header is malformed or asks for bytes past the end of the file."""


def _clip(digits: str) -> str:
    """A byte position as at most 19 digits: longer numbers are past any file anyway."""
    stripped = digits.lstrip("0") or ("0" if digits else "")
    return stripped if len(stripped) <= 19 else "9" * 19


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range ``(start, end)`` a ``Range`` header asks for.

    ``None`` means "send the whole file": no header, a unit other than bytes, or several
    ranges (which a server may ignore; browsers never ask for them). A malformed or
    unsatisfiable single range raises :class:`RangeNotSatisfiable`.
    """
    if header is None:
        return None
    header = header.strip()
    if not header.lower().startswith("bytes="):
        return None  # a unit we do not know (RFC 9110 14.2: ignore the header)
    if "," in header:
        return None
    match = _RANGE_RE.match(header)
    if not match:
        raise RangeNotSatisfiable(header)
    # Python refuses int() of more than 4,300 digits; no file has a 20-digit size.
    first, last = (_clip(g) for g in match.groups())
    if first:
        start = int(first)
        end = int(last) if last else size - 1
        if last and end < start:
            raise RangeNotSatisfiable(header)
        if start >= size:
            raise RangeNotSatisfiable(header)
        return start, min(end, size - 1)
    if last:  # bytes=-n: the last n bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    raise RangeNotSatisfiable(header)  # "bytes=-"


def audio_dir(datasette) -> Path | None:
    """The configured audio folder, resolved, or ``None`` when unset or not a folder."""
    config = datasette.plugin_config(PLUGIN_NAME) or {}
    configured = config.get("audio_dir")
    if not configured or not isinstance(configured, str):
        return None
    folder = Path(configured).expanduser().resolve()
    return folder if folder.is_dir() else None


def resolve_audio(datasette, raw_name: str) -> Path | None:
    """The file a ``/-/audio/<raw_name>`` request may serve, or ``None`` (answer 404)."""
    folder = audio_dir(datasette)
    if folder is None:
        return None
    name = unquote(raw_name)
    if (
        not name
        or name.startswith(".")
        or any(char in name for char in ("/", "\\", "\x00", ":"))
        or Path(name).suffix.lower() not in AUDIO_TYPES
    ):
        return None
    candidate = folder / name
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    # A symlink is followed only when it stays inside the folder.
    if folder not in resolved.parents:
        return None
    if not resolved.is_file() or resolved.suffix.lower() not in AUDIO_TYPES:
        return None
    return resolved


async def _send_head(send, status: int, headers: dict[str, str]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [[k.encode("latin-1"), v.encode("latin-1")] for k, v in headers.items()],
        }
    )


async def _send_small(send, status: int, headers: dict[str, str], body: bytes) -> None:
    headers = {**headers, "content-length": str(len(body))}
    await _send_head(send, status, headers)
    await send({"type": "http.response.body", "body": body})


# Long: the HTTP checks of RFC 9110 (method, permission, name, range) in the order a response must
# apply them.
async def serve_audio(request, send, datasette) -> None:
    """``GET``/``HEAD /-/audio/<name>`` with single-range support (RFC 9110 section 14).

    Plugin routes get no permission check of their own: an instance closed with ``allow``
    (the private archive) must close its audio too.
    """
    if not await datasette.permission_allowed(request.actor, "view-instance", default=True):
        raise Forbidden("You do not have permission to listen to these recordings")
    if request.method not in ("GET", "HEAD"):
        await _send_small(
            send,
            405,
            {"allow": "GET, HEAD", "content-type": "text/plain; charset=utf-8"},
            b"Method not allowed",
        )
        return
    path = resolve_audio(datasette, request.url_vars["name"])
    if path is None:
        await _send_small(
            send, 404, {"content-type": "text/plain; charset=utf-8"}, b"Audio file not found"
        )
        return
    size = path.stat().st_size
    headers = {
        "content-type": AUDIO_TYPES[path.suffix.lower()],
        "accept-ranges": "bytes",
        "x-content-type-options": "nosniff",
    }
    try:
        byte_range = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        await _send_small(
            send,
            416,
            {
                "content-type": "text/plain; charset=utf-8",
                "accept-ranges": "bytes",
                "content-range": f"bytes */{size}",
            },
            b"Range not satisfiable",
        )
        return
    if byte_range is None:
        status, start, end = 200, 0, size - 1
    else:
        status, (start, end) = 206, byte_range
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    length = end - start + 1
    headers["content-length"] = str(length)
    await _send_head(send, status, headers)
    if request.method == "HEAD" or length <= 0:
        await send({"type": "http.response.body", "body": b""})
        return
    # Stream in chunks: memory stays bounded however large the file or the range.
    async with aiofiles.open(path, mode="rb") as handle:
        await handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = await handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:  # the file shrank while being sent
                break
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if remaining > 0:
            await send({"type": "http.response.body", "body": b""})


# Full-text indexes and their shadow tables are search machinery, not data: their pages
# would show raw index pages (blobs of words) and let a query match rows the site no longer
# has (a withdrawal's words leave the index just after its rows, site/publish.py).
# Searches use them through SQL (the canned query, ``_search`` on segments), which this
# does not touch.
_INDEX_TABLE = re.compile(
    rf"(?:{'|'.join(map(re.escape, (*PUBLIC_FTS_TABLES, 'index_points_search')))})"
    r"(?:_data|_idx|_content|_docsize|_config)?"
)


@hookimpl
def permission_allowed(datasette, actor, action, resource):
    """Refuse every full-text index table's page (HTML, JSON, CSV) to everyone."""
    if (
        action == "view-table"
        and isinstance(resource, tuple)
        and len(resource) == 2
        and _INDEX_TABLE.fullmatch(str(resource[1]))
    ):
        return False
    return None


@hookimpl
def register_routes(datasette):
    from livingmemory.site import (
        workspace_pages as workspace_web,  # the team's pages; they refuse the public site
    )

    routes = [(r"^/-/audio/(?P<name>[^/]+)$", serve_audio), *site_pages.site_routes(datasette)]
    routes += workspace_web.routes()
    from livingmemory.site import publish_pages  # the workspace's "Objavi" page

    routes += publish_pages.routes()

    from livingmemory.site import workspace_index  # the index editor beside the player

    routes += workspace_index.routes()
    # Datasette mounts a plugin's static/ folder only when the entry point is a package (on
    # Python < 3.12 importlib.resources.files() rejects a module), so serve it here too.
    if STATIC_DIR.is_dir():
        routes.append(
            (
                rf"^/-/static-plugins/{PLUGIN_NAME}/(?P<path>[^/]+)$",
                asgi_static(STATIC_DIR),
            )
        )
    return routes


# -- play button ------------------------------------------------------------------------


def play_button(value: Any, datasette) -> Markup | None:
    """A play button for a ``/-/audio/<file>#t=<seconds>`` value, else ``None``."""
    if not isinstance(value, str):
        return None
    match = PLAY_RE.match(value)
    if not match:
        return None
    src, start = match.groups()
    src = datasette.urls.path(src) if datasette is not None else src
    return Markup(
        '<button type="button" class="lm-play" data-src="{}" data-start="{}" '
        'title="Play from {}">\u25b6 {}</button>'
    ).format(
        escape(src),
        escape(start),
        escape(hms(float(start))),
        escape(hms(float(start))),
    )


@hookimpl
def render_cell(value, column, datasette):
    if column != "play":
        return None
    return play_button(value, datasette)


DATASETTE_TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "datasette"


@hookimpl
def prepare_jinja2_environment(env, datasette):
    """Datasette's own pages (the researchers' tables, rows and queries) in Slovenian and in
    the site's look: ``templates/datasette/`` is searched before Datasette's templates (a
    module plug-in's ``templates`` folder is not found on Python < 3.12, as with static/)."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    env.loader = ChoiceLoader([FileSystemLoader(str(DATASETTE_TEMPLATES)), env.loader])


@hookimpl
def extra_js_urls(datasette):
    return [{"url": datasette.urls.static_plugins(PLUGIN_NAME, "player.js")}]


@hookimpl
def skip_csrf(datasette, scope):
    """Workspace uploads check their CSRF token themselves (see workspace_web.stream_form);
    OAI-PMH harvesters may POST their (read-only) requests, as the protocol allows."""
    from livingmemory.site.workspace_pages import checks_own_csrf

    return checks_own_csrf(datasette, scope) or scope.get("path") == "/oai"


@hookimpl(trylast=True)  # after Datasette's own escape_fts, which this one replaces
def prepare_connection(conn: Any) -> None:
    """SQL functions for the one search of :mod:`livingmemory.search` (tags, titles, any
    inflected form): ``lm_search(q[, options_json])`` returns the hits as JSON for the
    canned query; ``escape_fts(q)`` (the table search box) and ``lm_fts_query(q)`` return
    the full-text expression that finds the same segments."""
    from livingmemory.search import match_expression, search_json
    from livingmemory.site.guard import limit_connection

    limit_connection(conn)  # no query may build gigabyte values (zeroblob, randomblob...)

    def expression(query: str | None) -> str:
        try:
            return match_expression(conn, query or "")
        except Exception:  # an empty or punctuation-only query matches nothing
            return '""'

    def hits(query: str | None, options: str | None = None) -> str:
        try:
            return search_json(conn, query or "", options)
        except Exception:
            return "[]"

    conn.create_function("lm_search", 1, hits)
    conn.create_function("lm_search", 2, hits)
    conn.create_function("lm_fts_query", 1, expression)
    conn.create_function("escape_fts", 1, expression)
