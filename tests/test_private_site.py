"""``livingmemory serve --private``: it starts, refuses every page without the password, and
works with it; failed logins are throttled; the session cookie is HttpOnly.

The site runs as a real subprocess (``python -m livingmemory serve --private``) on a free
port, against an archive in WAL mode with a restricted recording whose title is a marker.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from support import REPO, insert_recording

from livingmemory.archive.store import open_archive
from livingmemory.site.guard import LoginThrottle, _harden_cookies

pytest.importorskip("datasette_auth_passwords")

PASSWORD = "Kranj-1954-geslo"
SECRET_TITLE = "Zaupno QX71 pričevanje"
AUDIO_NAME = "zaupno-qx71.wav"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        body: str | None = None,
        cookies: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, list[str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            found: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                found.setdefault(name.lower(), []).append(value)
            return response.status, found, response.read()
        finally:
            conn.close()

    def login(self, password: str) -> tuple[int, dict[str, list[str]], dict[str, str]]:
        """POST the login form (with its CSRF token); returns status, headers, cookies."""
        _, headers, page = self.request("/-/login")
        token = re.search(rb'name="csrftoken" value="([^"]+)"', page)
        assert token, page[:500]
        cookies = dict(c.split(";")[0].split("=", 1) for c in headers.get("set-cookie", []))
        body = urlencode(
            {"username": "archive", "password": password, "csrftoken": token.group(1).decode()}
        )
        status, headers, _ = self.request("/-/login", method="POST", body=body, cookies=cookies)
        for cookie in headers.get("set-cookie", []):
            name, value = cookie.split(";")[0].split("=", 1)
            cookies[name] = value
        return status, headers, cookies


@pytest.fixture(scope="module")
def private_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("private") / "archive"
    from livingmemory.archive.store import init_archive

    archive_db = init_archive(folder / "archive.db").archive
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title=SECRET_TITLE)
        archive.db.execute(
            "UPDATE recordings SET file_path = ? WHERE id = ?",
            [f"recordings/{AUDIO_NAME}", recording_id],
        )
        archive.db.conn.commit()
    (folder / "recordings" / AUDIO_NAME).write_bytes(b"RIFF" + b"\0" * 100)
    # A writer keeps the archive open in WAL mode while the site runs (a volunteer adding).
    writer = open_archive(archive_db)
    port = _free_port()
    env = {
        **os.environ,
        "LIVINGMEMORY_PASSWORD": PASSWORD,
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", "serve", "--private", "--port", str(port),
         "--archive", str(archive_db)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    site = Site(port)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(f"serve --private exited with {process.returncode}:\n{output}")
            try:
                site.request("/-/login")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("serve --private did not answer within 60 s")
                time.sleep(0.2)
        yield site
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        writer.close()


PAGES = [
    "/",
    "/archive",
    "/archive/recordings",
    "/archive/recordings.json",
    "/archive/recordings/1",
    "/archive/recording_status",
    "/archive.json?sql=select+title+from+recordings",
    "/archive.db",
    "/-/metadata.json",
    "/-/databases.json",
    "/-/plugins.json",
    "/-/versions.json",
    "/-/settings.json",
    "/-/actor.json",
    "/-/threads.json",
    f"/-/audio/{AUDIO_NAME}",
]


def test_every_page_is_refused_without_the_password(private_site: Site) -> None:
    for page in PAGES:
        status, _, body = private_site.request(page)
        assert status in (401, 403, 404), (page, status)
        assert b"QX71" not in body and b"qx71" not in body, page


def test_a_wrong_password_gets_nothing(private_site: Site) -> None:
    status, _headers, cookies = private_site.login("napačno geslo")
    assert status == 200  # the form again, with an error
    assert "ds_actor" not in cookies
    status, _, _ = private_site.request("/archive/recordings.json", cookies=cookies)
    assert status == 403


def test_the_password_opens_every_page_with_an_httponly_cookie(private_site: Site) -> None:
    status, headers, cookies = private_site.login(PASSWORD)
    assert status == 302
    actor_cookie = next(c for c in headers["set-cookie"] if c.startswith("ds_actor="))
    assert "httponly" in actor_cookie.lower()
    assert "samesite=lax" in actor_cookie.lower()
    for page in PAGES:
        status, _, body = private_site.request(page, cookies=cookies)
        if page == "/archive.db":
            assert status == 403, status  # Datasette never offers a live archive for download
            continue
        assert status == 200, (page, status, body[:300])
    _, _, body = private_site.request("/archive/recordings.json", cookies=cookies)
    assert b"QX71" in body


def test_failed_logins_are_throttled(private_site: Site) -> None:
    statuses = [private_site.login(f"ugibam-{n}")[0] for n in range(5)]
    assert statuses == [200] * 5
    status, headers, cookies = private_site.login(PASSWORD)  # even the right one, for now
    assert status == 429
    assert int(headers["retry-after"][0]) > 0
    assert "ds_actor" not in cookies


def test_the_password_tool_is_closed(private_site: Site) -> None:
    status, _, _ = private_site.request("/-/password-tool")
    assert status == 404


def test_throttle_window_slides() -> None:
    now = [1000.0]
    throttle = LoginThrottle(max_failures=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("a") == 0
        throttle.failed("a")
    assert throttle.retry_after("a") > 0
    assert throttle.retry_after("b") == 0  # another client is not affected
    now[0] += 61
    assert throttle.retry_after("a") == 0
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.retry_after("a") == 0


def test_actor_cookie_gets_httponly_other_cookies_untouched() -> None:
    headers = [
        [b"set-cookie", b"ds_actor=abc; Path=/"],
        [b"set-cookie", b"ds_csrftoken=x; Path=/; SameSite=Lax"],
    ]
    hardened = _harden_cookies(headers)
    assert hardened[0][1] == b"ds_actor=abc; Path=/; HttpOnly; SameSite=Lax"
    assert hardened[1][1] == headers[1][1]


def test_private_serve_command_opens_the_archive_with_its_locks(tmp_path: Path) -> None:
    from livingmemory.archive.store import init_archive
    from livingmemory.site.serve import datasette_command

    archive_db = init_archive(tmp_path / "archive.db").archive
    with open_archive(archive_db) as archive:
        command = datasette_command(
            archive, tmp_path / "m.json", host="127.0.0.1", port=1, private=True
        )
    assert "--nolock" not in command
    assert str(archive_db) in command
