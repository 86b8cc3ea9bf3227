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

It also bounds every database connection (:func:`limit_connection`): no string or blob may
exceed :data:`MAX_VALUE_BYTES`, so ``zeroblob()``, ``randomblob()``, ``printf('%.*c')`` or
``group_concat`` cannot allocate gigabytes through a query.

The counts live in the server process (one Datasette process per site); a restart clears
them, which is acceptable for a team of volunteers, not for a bank.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from datasette import hookimpl

MAX_VALUE_BYTES = 20 * 1024 * 1024  # far above any transcript value, far below the RAM
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


def guard(app: ASGIApp, *, private: bool, throttle: LoginThrottle | None = None) -> ASGIApp:
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
        outcome: dict[str, int] = {}

        async def guarded_send(message: dict[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                outcome["status"] = message.get("status", 500)
                message = {**message, "headers": _harden_cookies(list(message.get("headers", [])))}
            await send(message)

        await app(scope, receive, guarded_send)
        if is_login and "status" in outcome:
            # Both logins redirect on success; on failure datasette-auth-passwords shows its
            # form again (200) and the workspace answers 403 with its form.
            if 300 <= outcome["status"] < 400:
                throttle.succeeded(client)
            elif outcome["status"] in (200, 403):
                throttle.failed(client)

    return guarded


def limit_connection(conn: sqlite3.Connection) -> None:
    """Refuse any string or blob larger than :data:`MAX_VALUE_BYTES` on this connection."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


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


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[ASGIApp], ASGIApp]:
    quiet_datasette_errors()

    def wrap(app: ASGIApp) -> ASGIApp:
        return guard(app, private=is_private_site(datasette))

    return wrap
