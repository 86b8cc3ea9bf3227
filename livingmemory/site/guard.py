"""Guards around every Datasette site this package serves (public and private).

An ASGI wrapper, registered through the package's Datasette plugin, that

* **throttles the login**: after :data:`MAX_FAILURES` failed ``POST /-/login`` from one
  client address within :data:`WINDOW_SECONDS`, further attempts get ``429 Too Many
  Requests`` (with ``Retry-After``) until the oldest failure ages out; a success clears the
  count. The password hash is PBKDF2 with 480,000 rounds, so the limit also keeps one client
  from tying up the server's CPUs.
* **makes the actor cookie HttpOnly** (``ds_actor``: a script on the page, however it got
  there, cannot read the team's session) and ``SameSite=Lax``.
* **closes pages that give away the server or cost CPU for nothing**: ``/-/password-tool``
  (hashes any password, anonymously) everywhere; on the public site also ``/-/databases``
  (absolute file paths) and ``/-/metadata`` (the plugin configuration). These answer 404.

* **checks the team's session on every request** (private site): once volunteers have
  accounts (``users.yml``), a ``ds_actor`` cookie counts only for a name that is still an
  account, so removing an account ends its sessions at once, and the shared password's
  ``archive`` session (Datasette's ``/-/login``) no longer opens anything; ``POST /-/login``
  itself is then refused (403), and counts as a failed login.

It also bounds every database connection (:func:`limit_connection`): no string or blob may
exceed :data:`MAX_VALUE_BYTES`, so ``zeroblob()``, ``randomblob()``, ``printf('%.*c')`` or
``group_concat`` cannot allocate gigabytes through a query; and the server process's SQLite
heap as a whole (:func:`limit_sqlite_heap`, ``PRAGMA hard_heap_limit``): a query that
would pass it fails with "out of memory" and the memory is freed. SQLite has no ceiling per
connection; the site has at most ``num_sql_threads`` (3) query connections, so the one
process-wide ceiling is what one request can never exceed.

The client address the throttle counts is the connection's own: uvicorn (Datasette's server)
replaces it with ``X-Forwarded-For`` only from the proxies named in ``FORWARDED_ALLOW_IPS``,
which :func:`livingmemory.site.serve.serve` sets to the administrator's ``--trusted-proxy``
addresses, none by default (uvicorn's own default trusts 127.0.0.1: any local process could
then claim a new address per try).

The counts live in the server process (one Datasette process per site); a restart clears
them, which is acceptable for a team of volunteers, not for a bank.
"""

from __future__ import annotations

import ctypes
import importlib
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from datasette import hookimpl

from livingmemory.archive.sqlite import sqlite3

MAX_VALUE_BYTES = 20 * 1024 * 1024  # far above any transcript value, far below the RAM
# The SQLite heap of one site's process (every connection together); measured in
# benchmarks/request_memory.py. plugins.livingmemory.sqlite_heap_limit_mb overrides it.
SQLITE_HEAP_LIMIT_MB = 256
MAX_FAILURES = 5
WINDOW_SECONDS = 600.0
LOGIN_PATH = "/-/login"
# The volunteers' workspace has its own login page (livingmemory.site.workspace_pages): same
# throttle.
LOGIN_PATHS = (LOGIN_PATH, "/-/workspace/login")
ACTOR_COOKIE = b"ds_actor="
CLOSED_EVERYWHERE = ("/-/password-tool",)
CLOSED_ON_PUBLIC_SITE = ("/-/databases", "/-/metadata")

Scope = dict[str, Any]
ASGIApp = Callable[[Scope, Callable, Callable], Awaitable[None]]


class LoginThrottle:
    """Failed logins per client address in a sliding window."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures[client]
        now = self.clock()
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(client, None)
            return deque()
        return failures

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        failures = self._recent(client)
        if len(failures) < self.max_failures:
            return 0
        return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failed(self, client: str) -> None:
        self._recent(client)
        self._failures[client].append(self.clock())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _closed(path: str, private: bool) -> bool:
    paths = CLOSED_EVERYWHERE if private else CLOSED_EVERYWHERE + CLOSED_ON_PUBLIC_SITE
    return any(path == p or path.startswith((p + ".", p + "/")) for p in paths)


async def _plain(send: Callable, status: int, text: str, headers: list | None = None) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                [b"content-type", b"text/plain; charset=utf-8"],
                [b"content-length", str(len(body)).encode()],
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _harden_cookies(headers: list) -> list:
    """``ds_actor`` cookies get ``HttpOnly`` (and ``SameSite=Lax`` when they lack one)."""
    hardened = []
    for name, value in headers:
        if name.lower() == b"set-cookie" and value.startswith(ACTOR_COOKIE):
            lowered = value.lower()
            if b"httponly" not in lowered:
                value += b"; HttpOnly"
            if b"samesite" not in lowered:
                value += b"; SameSite=Lax"
        hardened.append([name, value])
    return hardened


class Accounts:
    """Who may still be logged in on the private site: the volunteers' accounts in
    ``users.yml`` (re-read when the file changes), the same rule as the workspace's login
    (:func:`livingmemory.review.workspace.check_login`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._seen: tuple[int, int, int] | None = None
        self._names: frozenset[str] = frozenset()

    def names(self) -> frozenset[str]:
        """The account names; empty when there are none (the shared password is then used)."""
        from livingmemory.errors import LivingMemoryError
        from livingmemory.review.workspace import load_users, users_path

        try:
            stat = users_path(self.root).stat()
        except OSError:
            self._seen, self._names = None, frozenset()
            return self._names
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._seen:
            try:
                self._names = frozenset(load_users(self.root))
            except LivingMemoryError:  # a broken file: nobody's session counts
                self._names = frozenset({""})
            self._seen = key
        return self._names


def _cookie_parts(headers: list) -> list[tuple[str, str]]:
    parts = []
    for name, value in headers:
        if name.lower() == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, data = part.strip().partition("=")
                parts.append((key, data))
    return parts


def _without_actor(scope: Scope) -> Scope:
    """``scope`` with the ``ds_actor`` cookie taken out of its Cookie headers."""
    headers = [pair for pair in scope.get("headers", []) if pair[0].lower() != b"cookie"]
    kept = "; ".join(
        f"{k}={v}" for k, v in _cookie_parts(scope.get("headers", [])) if k != "ds_actor"
    )
    if kept:
        headers.append((b"cookie", kept.encode("latin-1")))
    return {**scope, "headers": headers}


class Sessions:
    """The private site's check of each request's ``ds_actor`` session against the accounts
    (:class:`Accounts`): with accounts, only a name that is still one counts."""

    def __init__(self, datasette: Any, accounts: Accounts) -> None:
        self.datasette = datasette
        self.accounts = accounts

    def valid(self, scope: Scope) -> bool:
        """Whether the request's session (if it has one) may still be used."""
        names = self.accounts.names()
        if not names:
            return True
        for key, value in _cookie_parts(scope.get("headers", [])):
            if key != "ds_actor":
                continue
            try:
                actor = self.datasette.unsign(value, "actor").get("a") or {}
            except Exception:  # not signed by this server: Datasette ignores it anyway
                continue
            if not isinstance(actor, dict) or actor.get("id") not in names:
                return False
        return True


def sessions_for(datasette: Any) -> Sessions | None:
    """The session check of the private site; ``None`` on the public one (no sessions)."""
    config = datasette.plugin_config("livingmemory") or {}
    archive = config.get("workspace_archive")
    if not config.get("private") or not archive:
        return None
    return Sessions(datasette, Accounts(Path(archive).parent))


def guard(
    app: ASGIApp,
    *,
    private: bool,
    throttle: LoginThrottle | None = None,
    sessions: Sessions | None = None,
) -> ASGIApp:
    """Wrap a Datasette ASGI app with the guards described in the module docstring."""
    throttle = throttle or LoginThrottle()

    async def guarded(scope: Scope, receive: Callable, send: Callable) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        if _closed(path, private):
            await _plain(send, 404, "Ni najdeno / Not found")
            return
        client = _client(scope)
        is_login = path in LOGIN_PATHS and scope.get("method") == "POST"
        if is_login:
            wait = throttle.retry_after(client)
            if wait:
                await _plain(
                    send,
                    429,
                    f"Preveč neuspelih prijav; poskusite znova čez {wait} s. / "
                    f"Too many failed logins; try again in {wait} s.",
                    [[b"retry-after", str(wait).encode()]],
                )
                return
        if is_login and path == LOGIN_PATH and sessions and sessions.accounts.names():
            # Volunteers have accounts: the shared password (Datasette's login) is retired.
            throttle.failed(client)
            await _plain(
                send,
                403,
                "Prijava z osebnim računom: /-/workspace/login / "
                "Log in with your own account: /-/workspace/login",
            )
            return
        if sessions is not None and not sessions.valid(scope):
            scope = _without_actor(scope)  # a removed account: the request is anonymous
        outcome: dict[str, int] = {}

        async def guarded_send(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                outcome["status"] = message.get("status", 500)
                message = {**message, "headers": _harden_cookies(list(message.get("headers", [])))}
            await send(message)

        try:
            await app(scope, receive, guarded_send)
        except TypeError as error:
            # asgi-csrf compares tokens with secrets.compare_digest, which raises on text
            # that is not ASCII (a token field, header or cookie of "\x80"): that is a wrong
            # token, 403, not a 500 with a traceback.
            if "status" in outcome or "non-ASCII" not in str(error):
                raise
            await _plain(send, 403, "403: napačen žeton CSRF / CSRF token does not match")
            return
        if is_login and "status" in outcome:
            # Both logins redirect on success; on failure datasette-auth-passwords shows its
            # form again (200) and the workspace answers 403 with its form.
            if 300 <= outcome["status"] < 400:
                throttle.succeeded(client)
            elif outcome["status"] in (200, 403):
                throttle.failed(client)

    return guarded


SQLITE_LIMIT_LENGTH = 0  # sqlite3.h: the largest string or blob, in bytes


def limit_connection(conn: sqlite3.Connection) -> None:
    """Refuse any string or blob larger than :data:`MAX_VALUE_BYTES` on this connection.

    Python's own ``sqlite3`` (3.11+) offers SQLite's per-connection limits as ``setlimit``;
    ``pysqlite3`` (archive/sqlite.py) does not, so there ``sqlite3_limit()`` of the library
    it bundles is called on the connection's handle (the first field after the object
    header, in every pysqlite connection since Python 2.5). Checked after: a value one byte
    over the limit must be refused, or the site does not start."""
    setlimit = getattr(conn, "setlimit", None)
    if setlimit is not None:
        setlimit(SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    else:
        library = ctypes.CDLL(importlib.import_module(f"{sqlite3.__name__}._sqlite3").__file__)
        library.sqlite3_limit.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        library.sqlite3_limit.restype = ctypes.c_int
        handle = ctypes.c_void_p.from_address(id(conn) + object.__basicsize__).value
        library.sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    try:
        conn.execute("SELECT zeroblob(?)", [MAX_VALUE_BYTES + 1]).fetchone()
    except sqlite3.Error:
        return
    raise RuntimeError("SQLite's value limit could not be set on this connection")


def limit_sqlite_heap(megabytes: int) -> int | None:
    """Set SQLite's hard heap limit for this process (every connection of the library in
    use, archive/sqlite.py) to ``megabytes``, and the soft limit (SQLite frees cache pages
    first) to three quarters of it. Returns the limit now in force in bytes, or ``None``
    where this SQLite has no such limit (before 3.31).

    Through the pragmas, which act on the library the connection belongs to: a call into
    Python's own ``_sqlite3`` would bound a library Datasette no longer uses. The hard
    pragma only ever lowers the limit, so a query cannot raise it."""
    limit = max(0, int(megabytes)) * 1024 * 1024
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA soft_heap_limit = {limit * 3 // 4}")
        row = conn.execute(f"PRAGMA hard_heap_limit = {limit}").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return int(row[0]) if row else None


def is_private_site(datasette: Any) -> bool:
    config = datasette.plugin_config("livingmemory") or {}
    return bool(config.get("private"))


def quiet_datasette_errors() -> None:
    """Datasette 0.65's error handler prints the traceback with rich *after* the except
    block; rich 15 then raises ("Value for 'trace' required"), so every 404 that goes through
    it (``/x/y/z/w``) became a 500 with a traceback in the log. The rich printer also logs
    local variables (cookies, SQL parameters). Without it Datasette answers with the intended
    status, and real 500s still log a plain traceback. (Imported here, not at the top: that
    module loads the plugins, this one among them.)"""
    import datasette.handle_exception

    datasette.handle_exception.rich = None


@hookimpl(tryfirst=True)
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    """A query stopped by the SQLite heap ceiling (``sqlite3`` raises ``MemoryError`` for
    SQLITE_NOMEM) is the client's request being too big, like a query over the time limit:
    400 and one line, not a 500 with a traceback in the log."""
    if not isinstance(exception, MemoryError):
        return None
    from datasette.utils.asgi import Response

    return Response.text(
        "400: poizvedba potrebuje preveč pomnilnika / the query needs too much memory",
        status=400,
    )


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[ASGIApp], ASGIApp]:
    quiet_datasette_errors()
    heap_mb = (datasette.plugin_config("livingmemory") or {}).get("sqlite_heap_limit_mb")
    if heap_mb:  # set by `livingmemory serve` (see livingmemory.site.serve), not in tests
        limit_sqlite_heap(int(heap_mb))

    def wrap(app: ASGIApp) -> ASGIApp:
        return guard(app, private=is_private_site(datasette), sessions=sessions_for(datasette))

    return wrap
