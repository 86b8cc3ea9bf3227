"""Serving the archive with Datasette: the public site, or the full archive behind a password.

The public site serves ``public/public.db`` read-only but *not* immutable, with the archive's
``metadata.yml``, the audio plugin pointed at the published audio folder, and nothing else:
``publish`` changes the file in place in one WAL transaction, so the very next request sees
the new database (an immutable file would be cached, and a renamed one never seen). While
it serves, a background thread publishes what is due without anyone asking: withdrawals
and embargoes that ended (:func:`livingmemory.site.live.publish_due`). ``--private`` serves
the full archive for the archive team, only behind datasette-auth-passwords; never by default.

The private site (the entry point for team tools built on it):

* :func:`site_metadata` with ``private=True`` closes the whole instance with
  ``allow: {id: archive}``: every page, JSON endpoint and ``/-/audio/`` file needs the actor
  ``archive``, which only ``/-/login`` hands out, for the password in ``LIVINGMEMORY_PASSWORD``
  (hashed here and passed to Datasette in ``LIVINGMEMORY_PASSWORD_HASH``, never on the
  command line). ``plugins.livingmemory.private`` is ``true`` so plugins can tell the sites
  apart (:func:`livingmemory.site.guard.is_private_site`).
* :func:`datasette_command` opens ``archive.db`` itself, read-only (Datasette's ``mode=ro``),
  *without* ``--nolock``: the archive is in WAL mode, and SQLite cannot read a WAL database
  without its locks ("unable to open database file"). Writers (``add``, ``transcribe``) go on
  working while the site is up.
* :mod:`livingmemory.site.guard` throttles failed logins and makes the session cookie HttpOnly.

Both sites: the client address is the connection's own unless it comes from a proxy the
administrator names (``trusted_proxies``, ``--trusted-proxy``): only then does uvicorn take
the address from ``X-Forwarded-For`` (the login throttle counts per address). The process's
SQLite heap is capped at ``sqlite_heap_limit_mb``
(:data:`livingmemory.site.guard.SQLITE_HEAP_LIMIT_MB` unless the archive's ``metadata.yml``
sets another under ``plugins: livingmemory:``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from livingmemory.archive.access import AUDIO_DIR, PUBLIC_DB, public_dir
from livingmemory.archive.store import METADATA_FILE, Archive
from livingmemory.errors import LivingMemoryError, MissingDependencyError, quoted

PASSWORD_ENV = "LIVINGMEMORY_PASSWORD"
# uvicorn reads the proxies it trusts from here (default "127.0.0.1"); serve always sets it.
PROXIES_ENV = "FORWARDED_ALLOW_IPS"
UPLOAD_ENV = "LIVINGMEMORY_UPLOAD_MB"
# Bounds on what one request may cost (both sites). Custom SQL is also off on the public
# site (see site_metadata), and every connection refuses values over
# livingmemory.site.guard.MAX_VALUE_BYTES, so zeroblob(2e9) cannot take the server's memory.
SITE_SETTINGS: dict[str, int | str] = {
    "default_page_size": 50,
    "max_returned_rows": 1000,
    "sql_time_limit_ms": 3000,
    "facet_time_limit_ms": 500,
    "max_csv_mb": 50,
    "num_sql_threads": 3,
}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep merge of two metadata mappings; ``override`` wins, mappings merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def site_metadata(archive: Archive, *, private: bool = False) -> dict[str, Any]:
    """The archive's metadata.yml plus what serving needs (audio folder, authentication)."""
    path = archive.root / METADATA_FILE
    template = resources.files("livingmemory") / "templates" / METADATA_FILE
    defaults = yaml.safe_load(template.read_text(encoding="utf-8"))
    if path.is_file():
        try:
            metadata = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            raise LivingMemoryError(f"{path}: not valid YAML ({problem})") from None
    else:
        metadata = {}
    # The shipped template supplies what the archive's own file does not say (canned queries
    # and descriptions added by newer releases reach archives made by older ones).
    if not isinstance(metadata, dict):
        raise LivingMemoryError(f"{path}: must be a mapping of settings (key: value)")
    metadata = merge(defaults, metadata)
    if not isinstance(metadata.get("plugins"), dict):  # "plugins:" with nothing under it
        metadata["plugins"] = {}
    plugins = metadata["plugins"]
    if not isinstance(plugins.get("livingmemory"), dict):
        plugins["livingmemory"] = {}
    plugins["livingmemory"]["audio_dir"] = str((public_dir(archive) / AUDIO_DIR).resolve())
    plugins["livingmemory"]["private"] = private
    # Datasette's own map view (datasette-cluster-map) uses the site's tile server too.
    tiles = (plugins["livingmemory"].get("map") or {}).get("tiles")
    if tiles:
        cluster_map = plugins.setdefault("datasette-cluster-map", {})
        cluster_map.setdefault("tile_layer", tiles)
        attribution = (plugins["livingmemory"].get("map") or {}).get("attribution")
        if attribution:
            cluster_map.setdefault("tile_layer_options", {"attribution": str(attribution)})
    if not private:
        # Visitors use the pages and the canned queries; arbitrary SQL is off unless the
        # archive's metadata.yml turns it on (``allow_sql: true``), and then bounded.
        metadata.setdefault("allow_sql", False)
    if private:
        # The full archive: the team only. Its metadata describes the public database.
        metadata.pop("databases", None)
        plugins["livingmemory"]["audio_dir"] = str(archive.recordings_dir.resolve())
        plugins["datasette-auth-passwords"] = {
            "archive_password_hash": {"$env": "LIVINGMEMORY_PASSWORD_HASH"},
            "actors": {"archive": {"id": "archive", "team": "livingmemory"}},
        }
        # The volunteers' workspace (livingmemory.site.workspace_pages) edits this archive.
        plugins["livingmemory"]["workspace_archive"] = str(archive.path.resolve())
        plugins["livingmemory"]["upload_limit_mb"] = int(os.environ.get(UPLOAD_ENV) or 2048)
        metadata["allow"] = {"team": "livingmemory"}
        metadata["title"] = f"{metadata.get('title', 'Living Memory')} (private archive)"
    return metadata


def datasette_command(
    archive: Archive, metadata_path: Path, *, host: str, port: int, private: bool
) -> list[str]:
    if private:
        # Not --nolock: SQLite cannot open a WAL database without its lock (shm) file.
        database = [str(archive.path)]
    else:
        public = public_dir(archive) / PUBLIC_DB
        if not public.is_file():
            raise LivingMemoryError(f"{public} does not exist: run 'livingmemory publish' first")
        database = [str(public)]  # not -i: publish changes it in place (see the docstring)
    settings = [
        arg for name, value in SITE_SETTINGS.items() for arg in ("--setting", name, str(value))
    ]
    return [
        sys.executable, "-m", "datasette", "serve", *database, "--metadata", str(metadata_path),
        "--host", host, "--port", str(port), *settings,
    ]  # fmt: skip


def proxy_addresses(values: Sequence[str]) -> list[str]:
    """The trusted proxies as addresses or networks (``10.0.0.5``, ``10.0.0.0/24``); anything
    else is refused here, where uvicorn would take it silently as a name no client has."""
    import ipaddress

    addresses = []
    for value in values:
        text = value.strip()
        try:
            addresses.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise LivingMemoryError(
                f"--trusted-proxy {quoted(value)} is not an IP address or network"
            ) from None
    return addresses


def _no_announcement(url: str) -> None:
    pass


def serve(
    archive: Archive,
    *,
    host: str = "127.0.0.1",
    port: int = 8001,
    private: bool = False,
    announce: Callable[[str], None] = _no_announcement,
    start_worker: bool = True,
    trusted_proxies: Sequence[str] = (),
) -> int:
    """Run Datasette in the foreground until interrupted; returns its exit status.

    ``trusted_proxies``: the addresses of reverse proxies whose ``X-Forwarded-For`` names
    the real client; from anyone else (127.0.0.1 included) the header is ignored.
    """
    try:
        import datasette  # noqa: F401
    except ImportError:
        raise MissingDependencyError("pip install 'livingmemory[publish]' to serve") from None
    from livingmemory.site.guard import SQLITE_HEAP_LIMIT_MB

    env = dict(os.environ)
    env[PROXIES_ENV] = ",".join(proxy_addresses(trusted_proxies))
    worker = None
    if private:
        from livingmemory.review.workspace import load_users

        password = os.environ.get(PASSWORD_ENV)
        if not password and not load_users(archive.root):
            raise LivingMemoryError(
                f"--private serves restricted interviews: set {PASSWORD_ENV} to the team's "
                "password, or give each volunteer an account with 'livingmemory user NAME'"
            )
        from datasette_auth_passwords.utils import hash_password

        env["LIVINGMEMORY_PASSWORD_HASH"] = hash_password(password) if password else ""
    metadata = site_metadata(archive, private=private)
    metadata["plugins"]["livingmemory"].setdefault("sqlite_heap_limit_mb", SQLITE_HEAP_LIMIT_MB)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(metadata, handle, ensure_ascii=False)
    # `kill PID` (SIGTERM, as service managers stop things) must stop the site like Ctrl-C
    # does: the Datasette child and the worker stop too, and the temporary file goes.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    stop = threading.Event()
    site: subprocess.Popen[bytes] | None = None
    try:
        command = datasette_command(
            archive, Path(handle.name), host=host, port=port, private=private
        )
        if private and start_worker:
            # Uploads queue for transcription; this worker works the queue beside the site.
            worker = subprocess.Popen(
                [sys.executable, "-m", "livingmemory", "worker", "--archive", str(archive.path)],
                env=env,
            )
        announce(f"http://{host}:{port}/")
        site = subprocess.Popen(command, env=env)
        # Withdrawals and embargoes that ended reach the public site without anyone acting.
        from livingmemory.site.live import due_loop

        due = threading.Thread(target=due_loop, args=(archive.path, stop), daemon=True)
        due.start()
        return site.wait()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (below): a normal way to stop serving
        return 0
    finally:
        stop.set()
        signal.signal(signal.SIGTERM, previous)
        for child in (site, worker):
            _stop(child)
        os.unlink(handle.name)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop(child: subprocess.Popen[bytes] | None) -> None:
    """Stop a child process politely, then firmly; nothing is left running."""
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
