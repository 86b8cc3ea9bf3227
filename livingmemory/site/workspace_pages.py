"""The volunteers' workspace in the browser: Datasette plugin routes over the full archive.

Active only when ``serve --private`` serves the archive (the plugin configuration then names
it as ``workspace_archive``); on the public site every route answers 404. Pages:

* ``/-/workspace/login``: name and password (a ``users.yml`` account, or the team password
  under the volunteer's own name); never open without a password.
* ``/-/workspace``: the interviews and each one's state, with transcription progress.
* ``/-/workspace/upload``: audio files and a metadata form, streamed to disk, added with the
  same checks as ``add``, then queued for the worker.
* ``/-/workspace/<id>``: edit metadata and access; the history of edits.
* ``/-/workspace/<id>/editor``: the transcript editor (``static/editor.js``), with its
  autosaved draft (``…/draft``), the waveform's peaks (``…/peaks.json``) and passages
  withheld from publishing (``…/redact``); ``/-/workspace/settings``: each volunteer's keys.

Every message is said in plain Slovenian with English below (``site/workspace_messages.py``).

Every page needs a logged-in team actor; every POST goes through Datasette's CSRF check
(asgi-csrf: a form field, or the ``x-csrftoken`` header for the editor's JSON); templates are
autoescaped. Archive work runs in a thread with its own connection (SQLite connections stay
in the thread that opened them).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from datasette.utils.asgi import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from livingmemory.archive.store import Archive, open_archive
from livingmemory.errors import LivingMemoryError
from livingmemory.ingest.metadata import ACCESS_LEVELS, SIDECAR_SUFFIXES, Person, RecordingMetadata
from livingmemory.review import editor as drafts
from livingmemory.review import workspace as ws
from livingmemory.site import speaker_suggestions
from livingmemory.site import workspace_messages as msg
from livingmemory.site.live import edit_and_publish
from livingmemory.site.live import preview as live_preview
from livingmemory.timecodes import hms, minutes_seconds

PLUGIN_NAME = "livingmemory"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "workspace"
DEFAULT_UPLOAD_MB = 2048
MAX_FIELD_BYTES = 64 * 1024
MAX_JSON_BYTES = 8 * 1024 * 1024
ROOT = "/-/workspace"

ACCESS_LABELS = {
    "public": ("javno", "public"),
    "restricted": ("omejeno", "restricted"),
    "embargoed": ("embargo", "embargoed"),
}
REVIEW_LABELS = {
    "pending": "čaka · pending",
    "in_progress": "v delu · in progress",
    "ready_for_qc": "za kontrolo · ready for QC",
    "complete": "končano · complete",
}
UPLOAD_FIELDS = ("title", "narrator", "interviewer", "date", "place", "language", "access",
                 "embargo_until", "consent", "notes")  # fmt: skip

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["duration"] = lambda s: "" if s is None else hms(s, pad_hours=False)
_env.filters["when"] = msg.typed_time
_env.filters["timecode"] = minutes_seconds
_env.filters["typed_date"] = msg.typed_date
_env.filters["field_value"] = lambda value, field: msg.field_value(field, value)
_env.filters["humane"] = msg.humane
_env.globals["plural"] = msg.plural

T = TypeVar("T")
# Templates (in templates/workspace/) included in the editor's side panel after its tools, each
# with the editor's context; their scripts use window.LMEditor (seek, time, lines, onTime).
EDITOR_PANELS: list[str] = ["_index_editor.html"]  # the interview index (site/workspace_index.py)


class TooLarge(Exception):
    """The upload is bigger than the configured limit."""


class BadToken(Exception):
    """The upload's CSRF token is missing, comes after a file, or does not match."""


CSRF_COOKIE = "ds_csrftoken"


def checks_own_csrf(datasette, scope: dict[str, Any]) -> bool:
    """Uploads skip asgi-csrf's multipart check and verify the token while streaming.

    asgi-csrf 0.11 cannot parse multipart bodies with python-multipart >= 0.0.13 (a
    ``FileClass`` argument was removed), and it would buffer the files it reads past. The
    upload route instead demands the ``csrftoken`` field first and compares it with the
    signed cookie before a single byte of a file is written.
    """
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return False
    if archive_path(datasette) is None:
        return False
    headers = dict(scope.get("headers") or [])
    multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
    return multipart and scope.get("path") == datasette.urls.path(f"{ROOT}/upload")


def expected_token(request, datasette) -> str | None:
    """The signed CSRF cookie, when it is one this server signed."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie:
        return None
    try:
        datasette.unsign(cookie, "csrftoken")
    except Exception:  # itsdangerous.BadSignature and friends
        return None
    return cookie


# -- plumbing ---------------------------------------------------------------------------------


def _config(datasette) -> dict[str, Any]:
    return datasette.plugin_config(PLUGIN_NAME) or {}


def archive_path(datasette) -> Path | None:
    """The archive the workspace edits, or ``None`` on the public site."""
    configured = _config(datasette).get("workspace_archive")
    return Path(configured) if configured else None


def upload_limit(datasette) -> int:
    return int(_config(datasette).get("upload_limit_mb") or DEFAULT_UPLOAD_MB) * 1024 * 1024


async def in_archive(datasette, work: Callable[[Archive], T]) -> T:
    """Run ``work`` with an open archive in a worker thread."""
    path = archive_path(datasette)
    assert path is not None  # the workspace routes check archive_path first

    def run() -> T:
        with open_archive(path) as archive:
            return work(archive)

    return await asyncio.to_thread(run)


def team_actor(request) -> dict[str, Any] | None:
    actor = request.actor
    if isinstance(actor, dict) and actor.get("team") == ws.TEAM and actor.get("id"):
        return actor
    return None


def _not_found() -> Response:
    return Response.html("<h1>404</h1>", status=404)


async def render(
    datasette, request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    actor = team_actor(request)
    html = _env.get_template(template).render(
        {
            **context,
            "csrftoken": request.scope["csrftoken"](),
            "actor": actor,
            "root": datasette.urls.path(ROOT),
            "static": datasette.urls.path(f"/-/static-plugins/{PLUGIN_NAME}/"),
            "audio_base": datasette.urls.path("/-/audio/"),
            "states": ws.STATES,
            "access_labels": ACCESS_LABELS,
            "review_labels": REVIEW_LABELS,
        }
    )
    return Response.html(
        html,
        status=status,
        headers={
            "x-frame-options": "DENY",
            "referrer-policy": "same-origin",
            "cache-control": "no-store",
        },
    )


def guarded(handler):
    """Workspace only on the private archive; everything but login needs a team actor.

    A GET without login goes to the login page; anything else is refused (403) and changes
    nothing.
    """

    async def wrapper(request, datasette):
        if archive_path(datasette) is None:
            return _not_found()
        if team_actor(request) is None:
            if request.method == "GET":
                login = datasette.urls.path(f"{ROOT}/login")
                return Response.redirect(f"{login}?next={quote(request.path)}")
            return Response.text("403: najprej se prijavite / log in first", status=403)
        return await handler(request, datasette)

    return wrapper


# -- login -------------------------------------------------------------------------------------


def _safe_next(value: str | None, datasette) -> str:
    root = datasette.urls.path(ROOT)
    if value and value.startswith(root) and "//" not in value and "\\" not in value:
        return value
    return root


async def login(request, datasette):
    if archive_path(datasette) is None:
        return _not_found()
    error = None
    name = ""
    next_url = _safe_next(request.args.get("next"), datasette)
    if request.method == "POST":
        form = await request.post_vars()
        name = form.get("name", "")
        next_url = _safe_next(form.get("next"), datasette)
        auth = datasette.plugin_config("datasette-auth-passwords") or {}
        root = archive_path(datasette).parent
        actor = await asyncio.to_thread(
            ws.check_login,
            root,
            auth.get("archive_password_hash"),
            form.get("name", ""),
            form.get("password", ""),
        )
        if actor:
            response = Response.redirect(next_url)
            response.set_cookie(
                "ds_actor", datasette.sign({"a": actor}, "actor"), httponly=True, samesite="lax"
            )
            return response
        error = msg.LOGIN_FAILED
    return await render(
        datasette,
        request,
        "login.html",
        {"error": error, "next": next_url, "name": name},
        status=403 if error else 200,
    )


async def logout(request, datasette):
    if archive_path(datasette) is None or request.method != "POST":
        return _not_found()
    response = Response.redirect(datasette.urls.path(f"{ROOT}/login"))
    response.set_cookie("ds_actor", "", expires=0, httponly=True, samesite="lax")
    return response


# -- interviews --------------------------------------------------------------------------------


def _interviews(archive: Archive) -> list[dict[str, Any]]:
    """The interviews, each marked ``pending`` when the public site shows it otherwise than
    the archive says (new, withdrawn or changed since the last publish)."""
    rows = ws.interviews(archive)
    pending = live_preview(archive, warnings=False).pending
    for row in rows:
        row["pending"] = row["id"] in pending
    return rows


@guarded
async def index(request, datasette):
    rows = await in_archive(datasette, _interviews)
    busy = any(r["state"] == "transcribing" for r in rows)
    return await render(datasette, request, "index.html", {"rows": rows, "busy": busy})


@guarded
async def status_json(request, datasette):
    rows = await in_archive(datasette, ws.interviews)
    return Response.json(
        [
            {k: r[k] for k in ("id", "state", "state_sl", "state_en", "progress", "suspect")}
            for r in rows
        ]
    )


def _interview(archive: Archive, recording_id: int) -> dict[str, Any]:
    record = archive.recording(recording_id)
    row = ws.interviews(archive, limit=1, recording_id=recording_id)[0]
    revisions = list(
        archive.db.query(
            "SELECT author, created_at, old_text, new_text, note FROM revisions "
            "WHERE recording_id = ? ORDER BY id DESC LIMIT 20",
            [recording_id],
        )
    )
    people = {
        role: "; ".join(p["name"] for p in record["people"] if p["role"] == role)
        for role in ("narrator", "interviewer")
    }
    tags = ws.recording_tags(archive, recording_id)
    labels = {"PER": "oseba", "LOC": "kraj", "ORG": "organizacija", "DATE": "datum",
              "TOPIC": "tema"}  # fmt: skip
    try:
        from livingmemory.tagging.pipeline import topics

        topic_names = {key: value["label"] for key, value in topics().items()}
    except ImportError:  # tagging not installed: show the stored names
        topic_names = {}
    for tag in tags:
        if tag["label"] == "TOPIC":
            tag["name"] = topic_names.get(tag["name"], tag["name"])
        tag["kind"] = labels.get(tag["label"], tag["label"])
    return {
        "record": record,
        "row": row,
        "people": people,
        "history": ws.edit_history(archive, recording_id),
        # index point changes (issue 25): ws.history has them, edit_history only metadata
        "index_history": [
            h for h in ws.history(archive, recording_id) if h["what"].startswith("index ")
        ],
        "revisions": revisions,
        "tags": tags,
        "audio": Path(record["file_path"]).name,
        "suggestions": speaker_suggestions.suggestions(archive, recording_id),  # issue 23
    }


async def _recording_id(request) -> int:
    return int(request.url_vars["id"])


@guarded
async def interview(request, datasette):
    recording_id = await _recording_id(request)
    actor = team_actor(request)
    message: msg.Message | None = None
    error: msg.Message | None = None
    form: dict[str, str] = {}
    if request.method == "POST":
        posted = await request.post_vars()
        # A field the form leaves out keeps its value; only a field sent empty clears it.
        changes = {name: posted[name] for name in ws.EDITABLE if name in posted}
        form = changes
        try:
            # A withdrawal (or a lifted embargo) reaches the public site at once.
            done, published = await in_archive(
                datasette,
                lambda a: edit_and_publish(
                    a, recording_id, changes, author=actor["id"], source="web"
                ),
            )
            message = msg.saved_changes(len(done)) if done else msg.NOTHING_CHANGED
            if published is not None and recording_id not in published.recordings:
                message = message.then(msg.REMOVED_FROM_PUBLIC)
            form = {}
        except LivingMemoryError as problem:
            error = msg.humane(problem)
    try:
        context = await in_archive(datasette, lambda a: _interview(a, recording_id))
    except LivingMemoryError:
        return _not_found()
    return await render(
        datasette,
        request,
        "interview.html",
        {
            **context,
            "message": message,
            "error": error,
            "form": form,
            "editable": ws.EDITABLE,
            "access_levels": ACCESS_LEVELS,
        },
        status=400 if error else 200,
    )


@guarded
async def queue(request, datasette):
    if request.method != "POST":
        return _not_found()
    recording_id = await _recording_id(request)
    actor = team_actor(request)
    await in_archive(datasette, lambda a: ws.queue_transcription(a, [recording_id], actor["id"]))
    return Response.redirect(datasette.urls.path(f"{ROOT}/{recording_id}"))


# -- editor ------------------------------------------------------------------------------------


def _editor(archive: Archive, recording_id: int, author: str) -> dict[str, Any]:
    from livingmemory.archive.access import redaction_spans

    record = archive.recording(recording_id)
    settings = drafts.load_settings(archive, author)
    base = drafts.current_transcript_id(archive, recording_id)
    seen = drafts.save_draft(archive, recording_id, author, None, base)  # opening is a sign of life
    return {
        "record": record,
        "lines": ws.editor_lines(archive, recording_id),
        "names": archive.people_names(recording_id),
        "audio": Path(record["file_path"]).name,
        "base": base,
        "draft": drafts.load_draft(archive, recording_id, author),
        "presence": {k: seen[k] for k in ("editing", "drafting")},
        "settings": settings,
        "actions": drafts.ACTIONS,
        "redactions": redaction_spans(archive, recording_id),
        "panels": EDITOR_PANELS,
    }


@guarded
async def editor(request, datasette):
    recording_id = await _recording_id(request)
    actor = team_actor(request)
    try:
        context = await in_archive(datasette, lambda a: _editor(a, recording_id, actor["id"]))
    except LivingMemoryError:
        return _not_found()
    return await render(datasette, request, "editor.html", context)


async def _json_body(request) -> Any:
    """The editor's JSON body; a :class:`msg.Message` error response when it is not one."""
    body = await request.post_body()
    if len(body) > MAX_JSON_BYTES:
        return Response.json({"ok": False, **msg.TOO_LARGE.as_json()}, status=413)
    try:
        data = json.loads(body)
    except ValueError:
        return Response.json({"ok": False, **msg.BAD_REQUEST.as_json()}, status=400)
    if not isinstance(data, dict):
        return Response.json({"ok": False, **msg.BAD_REQUEST.as_json()}, status=400)
    return data


def _refused(problem: LivingMemoryError, status: int = 400) -> Response:
    return Response.json({"ok": False, **msg.humane(problem).as_json()}, status=status)


def _base(data: dict[str, Any]) -> int | None:
    base = data.get("base")
    return base if isinstance(base, int) and not isinstance(base, bool) else None


@guarded
async def save(request, datasette):
    if request.method != "POST":
        return _not_found()
    recording_id = await _recording_id(request)
    actor = team_actor(request)
    data = await _json_body(request)
    if isinstance(data, Response):
        return data
    try:
        lines = ws.parse_lines(data.get("lines"))
    except LivingMemoryError as problem:
        return _refused(problem)

    def work(archive: Archive) -> dict[str, Any]:
        other = drafts.check_base(archive, recording_id, _base(data))
        if other is not None:  # saved by someone else meanwhile: keep this as a draft
            drafts.save_draft(archive, recording_id, actor["id"], data.get("lines"), _base(data))
            return {"conflict": other}
        result = ws.save_transcript(
            archive, recording_id, lines, author=actor["id"], note=data.get("note") or None
        )
        drafts.discard_draft(archive, recording_id, actor["id"])
        result["lines_data"] = ws.editor_lines(archive, recording_id)
        result["base"] = result["transcript_id"]
        return result

    try:
        result = await in_archive(datasette, work)
    except LivingMemoryError as problem:
        return _refused(problem)
    if "conflict" in result:
        return Response.json(
            {"ok": False, "conflict": True, **msg.conflict(result["conflict"]).as_json()},
            status=409,
        )
    return Response.json({"ok": True, **result})


@guarded
async def draft(request, datasette):
    """Autosave: the editor's unsaved lines (or, with no ``lines``, a sign of life);
    ``DELETE``-like ``discard: true`` throws the draft away."""
    if request.method != "POST":
        return _not_found()
    recording_id = await _recording_id(request)
    actor = team_actor(request)
    data = await _json_body(request)
    if isinstance(data, Response):
        return data

    def work(archive: Archive) -> dict[str, Any]:
        if data.get("discard"):
            drafts.discard_draft(archive, recording_id, actor["id"])
            return drafts.presence(archive, recording_id, actor["id"], _base(data))
        return drafts.save_draft(archive, recording_id, actor["id"], data.get("lines"), _base(data))

    try:
        result = await in_archive(datasette, work)
    except LivingMemoryError as problem:
        return _refused(problem)
    return Response.json({"ok": True, **result})


_PEAKS: dict[tuple[str, float], list[float]] = {}


@guarded
async def peaks(request, datasette):
    """The recording's waveform: the loudest sample of each short stretch, 0..1, for the
    editor's canvas (``static/waveform.js``); computed once per file and kept in memory."""
    recording_id = await _recording_id(request)

    def work(archive: Archive) -> list[float]:
        record = archive.recording(recording_id)
        path = Path(record["file_path"])
        path = path if path.is_absolute() else archive.root / path
        key = (str(path), path.stat().st_mtime)
        if key not in _PEAKS:
            if len(_PEAKS) >= 32:  # a few recordings' worth (80 kB an hour each)
                _PEAKS.clear()
            _PEAKS[key] = drafts.waveform_peaks(path, record["duration"] or 0)
        return _PEAKS[key]

    try:
        values = await in_archive(datasette, work)
    except (LivingMemoryError, OSError):
        return _not_found()
    return Response.json({"peaks": values})


@guarded
async def redact(request, datasette):
    """Withhold a passage from everything published, as ``livingmemory redact`` does (the
    same library function, so the same rules: it takes effect at the next publish)."""
    from livingmemory.archive.access import redaction_spans
    from livingmemory.site.publish import redact as mark_passage

    if request.method != "POST":
        return _not_found()
    recording_id = await _recording_id(request)
    data = await _json_body(request)
    if isinstance(data, Response):
        return data
    try:
        start, end = float(data.get("start")), float(data.get("end"))
    except (TypeError, ValueError):
        return Response.json({"ok": False, **msg.BAD_REQUEST.as_json()}, status=400)
    reason = str(data.get("reason") or "").strip() or None

    def work(archive: Archive) -> list[Any]:
        mark_passage(archive, recording_id, start, end, reason)
        return redaction_spans(archive, recording_id)

    try:
        spans = await in_archive(datasette, work)
    except LivingMemoryError as problem:
        return _refused(problem)
    return Response.json({"ok": True, "redactions": spans})


@guarded
async def settings(request, datasette):
    """The volunteer's own keys and seconds for the editor."""
    actor = team_actor(request)
    message: msg.Message | None = None
    error: msg.Message | None = None
    form: dict[str, str] = {}
    if request.method == "POST":
        posted = await request.post_vars()
        form = {k: v for k, v in posted.items() if k != "csrftoken"}
        if posted.get("reset"):
            wanted: dict[str, Any] = {
                "keys": {action: "" for action in drafts.ACTIONS},
                **{k: drafts.DEFAULT_SETTINGS[k] for k in ("skip_seconds", "rewind_seconds")},
            }
        else:
            wanted = {
                "keys": {a: posted.get(f"key_{a}", "") for a in drafts.ACTIONS},
                "skip_seconds": posted.get("skip_seconds", ""),
                "rewind_seconds": posted.get("rewind_seconds", ""),
            }
        try:
            await in_archive(datasette, lambda a: drafts.save_settings(a, actor["id"], wanted))
            message, form = msg.SETTINGS_SAVED, {}
        except LivingMemoryError as problem:
            error = msg.humane(problem)
    current = await in_archive(datasette, lambda a: drafts.load_settings(a, actor["id"]))
    return await render(
        datasette,
        request,
        "settings.html",
        {
            "settings": current,
            "actions": drafts.ACTIONS,
            "form": form,
            "message": message,
            "error": error,
        },
        status=400 if error else 200,
    )


# -- upload ------------------------------------------------------------------------------------


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    name = re.sub(r"[\x00-\x1f]", "", name)
    return name[:200] or "posnetek"


# Long: the multipart parser's callbacks share the upload's state (open file, token check, size), so
# they live together.
async def stream_form(
    request, folder: Path, limit: int, token: str | None
) -> tuple[dict[str, str], list[Path]]:
    """Parse a multipart upload, writing files to ``folder`` as they arrive.

    Memory stays bounded whatever the size: file parts go straight to disk in the chunks the
    server receives, and reading stops as soon as the body passes ``limit`` bytes. The
    ``csrftoken`` field must come before any file and equal ``token`` (:class:`BadToken`).
    """
    import secrets

    from python_multipart.multipart import MultipartParser, parse_options_header

    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise LivingMemoryError(str(msg.NOT_AN_UPLOAD))
    fields: dict[str, str] = {}
    files: list[Path] = []
    state: dict[str, Any] = {}

    def on_part_begin() -> None:
        state.update(headers={}, field=b"", value=b"", name=None, handle=None, buffer=b"")

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["field"].lower()] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(state["headers"].get(b"content-disposition", b""))
        state["name"] = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        if filename is not None:
            if not state.get("verified"):
                raise BadToken
            name = _safe_filename(filename.decode("utf-8", "replace"))
            if not filename:
                return  # an empty file input
            target = folder / name
            stem, suffix, number = target.stem, target.suffix, 1
            while target.exists():
                number += 1
                target = folder / f"{stem}-{number}{suffix}"
            state["handle"] = target.open("wb")
            files.append(target)

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["handle"] is not None:
            state["handle"].write(data[start:end])
        elif len(state["buffer"]) < MAX_FIELD_BYTES:
            state["buffer"] += data[start:end]

    def on_part_end() -> None:
        if state["handle"] is not None:
            state["handle"].close()
        elif state["name"]:
            fields[state["name"]] = state["buffer"].decode("utf-8", "replace")
            if state["name"] == "csrftoken":
                given = fields["csrftoken"]
                state["verified"] = bool(token) and secrets.compare_digest(given, token or "")

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    received = 0
    try:
        while True:
            message = await request.receive()
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise TooLarge
            if chunk:
                parser.write(chunk)
            if not message.get("more_body"):
                break
        parser.finalize()
    finally:
        if state.get("handle") is not None and not state["handle"].closed:
            state["handle"].close()
    if not state.get("verified"):
        raise BadToken
    return fields, files


def add_uploads(
    archive: Archive, fields: dict[str, str], files: list[Path], author: str
) -> list[dict[str, Any]]:
    """Add uploaded files like ``add`` does (sidecars among them are used), queue them."""
    from livingmemory.ingest.add import add_recording

    def people(value: str | None) -> tuple[Person, ...]:
        return tuple(Person(n.strip()) for n in (value or "").split(";") if n.strip())

    metadata = RecordingMetadata(
        title=fields.get("title") or None,
        narrators=people(fields.get("narrator")),
        interviewers=people(fields.get("interviewer")),
        recorded_date=fields.get("date") or None,
        place=fields.get("place") or None,
        language=fields.get("language") or None,
        access=fields.get("access") or None,
        embargo_until=fields.get("embargo_until") or None,
        consent_notes=fields.get("consent") or None,
        notes=fields.get("notes") or None,
        added_by=author,
    )
    results: list[dict[str, Any]] = []
    audio = [f for f in files if f.suffix.lower() not in SIDECAR_SUFFIXES]
    if not audio:
        raise LivingMemoryError(str(msg.CHOOSE_AUDIO))
    for path in audio:
        entry: dict[str, Any] = {"file": path.name, "status": "failed", "id": None}
        try:
            from livingmemory.ingest.metadata import find_sidecar, read_sidecar

            sidecar = find_sidecar(path)
            effective = read_sidecar(sidecar).merged(metadata) if sidecar else metadata
            ws.require_consent(effective.validate(path.name), path.name)
            result = add_recording(archive, path, metadata, source=path.name)
            entry.update(status=result.status, id=result.recording_id, message=result.message)
            if result.status not in ("added", "duplicate"):
                entry["message"] = msg.humane(result.message or "")
            entry["sidecar"] = sidecar.name if sidecar else None
            if result.status == "added":
                with archive.db.atomic():
                    archive.db.execute(
                        "UPDATE recordings SET source_path = ? WHERE id = ?",
                        [f"upload:{path.name}", result.recording_id],
                    )
        except LivingMemoryError as problem:
            entry["message"] = msg.humane(problem)
        results.append(entry)
    added = [r["id"] for r in results if r["status"] == "added"]
    ws.queue_transcription(archive, added, author)
    return results


@guarded
async def upload(request, datasette):
    actor = team_actor(request)
    limit = upload_limit(datasette)
    context: dict[str, Any] = {"limit_mb": limit // (1024 * 1024), "results": None,
                               "error": None, "form": {}}  # fmt: skip
    if request.method != "POST":
        return await render(datasette, request, "upload.html", context)
    declared = int(request.headers.get("content-length") or 0)
    status = 200
    root = archive_path(datasette).parent
    folder = Path(tempfile.mkdtemp(prefix=".upload-", dir=root))
    try:
        if declared > limit:
            raise TooLarge
        token = expected_token(request, datasette)
        fields, files = await stream_form(request, folder, limit, token)
        context["form"] = {k: v for k, v in fields.items() if k in UPLOAD_FIELDS}
        context["results"] = await in_archive(
            datasette, lambda a: add_uploads(a, fields, files, actor["id"])
        )
        if all(r["status"] == "failed" for r in context["results"]):
            status = 400
    except TooLarge:
        context["error"] = msg.upload_too_large(context["limit_mb"])
        status = 413
    except BadToken:
        shutil.rmtree(folder, ignore_errors=True)
        return Response.text(f"403: {msg.FORM_EXPIRED}", status=403)
    except LivingMemoryError as problem:
        context["error"] = msg.humane(problem)
        status = 400
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return await render(datasette, request, "upload.html", context, status=status)


def routes() -> list[tuple[str, Any]]:
    """The workspace's routes, for ``datasette_plugin.register_routes``."""
    from livingmemory.site.trail_workspace import routes as trail_routes

    return [
        *trail_routes(),
        (rf"^{ROOT}/?$", index),
        (rf"^{ROOT}/login$", login),
        (rf"^{ROOT}/logout$", logout),
        (rf"^{ROOT}/status\.json$", status_json),
        (rf"^{ROOT}/upload$", upload),
        (rf"^{ROOT}/(?P<id>\d+)$", interview),
        (rf"^{ROOT}/(?P<id>\d+)/editor$", editor),
        (rf"^{ROOT}/(?P<id>\d+)/transcript$", save),
        (rf"^{ROOT}/(?P<id>\d+)/queue$", queue),
        (rf"^{ROOT}/(?P<id>\d+)/speakers$", guarded(speaker_suggestions.confirm)),  # issue 23
        (rf"^{ROOT}/(?P<id>\d+)/draft$", draft),
        (rf"^{ROOT}/(?P<id>\d+)/peaks\.json$", peaks),
        (rf"^{ROOT}/(?P<id>\d+)/redact$", redact),
        (rf"^{ROOT}/settings$", settings),
    ]
