"""``livingmemory serve`` stops cleanly when a service manager stops it (SIGTERM), not only on
Ctrl-C: the Datasette child goes with it, and so does the temporary metadata file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from support import run_cli

psutil = pytest.importorskip("psutil")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_sigterm_stops_the_site_and_its_child(archive_db: Path) -> None:
    assert run_cli("publish", "--archive", archive_db).exit_code == 0
    port = _free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "livingmemory", "serve", "--archive", str(archive_db),
         "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/", serve)
        children = psutil.Process(serve.pid).children(recursive=True)
        assert children, "serve runs Datasette as a child process"
        metadata = [
            Path(arg)
            for child in children
            for before, arg in zip(child.cmdline(), child.cmdline()[1:], strict=False)
            if before == "--metadata"
        ]
        assert metadata and all(path.exists() for path in metadata)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"left running: {[p.pid for p in alive]}"
        assert not any(path.exists() for path in metadata), "temporary metadata left behind"
    finally:
        if serve.poll() is None:
            serve.kill()
