"""The service files shipped in docs/deploy/ (issue 21): each systemd unit's command line is one
the CLI accepts, and ``systemd-analyze verify`` passes the unit (where systemd is installed)."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from livingmemory.cli import app

DEPLOY = Path(__file__).resolve().parents[1] / "docs" / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(path, encoding="utf-8")
    return parser


def test_both_services_are_shipped() -> None:
    assert [p.name for p in UNITS] == [
        "livingmemory-site.service",
        "livingmemory-workspace.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_execstart_is_a_command_line_the_cli_accepts(path: Path) -> None:
    command = shlex.split(unit(path)["Service"]["ExecStart"])
    assert command[1:4] == ["-m", "livingmemory", "serve"]
    group = typer.main.get_command(app)
    with group.make_context("livingmemory", ["serve", "--help"], resilient_parsing=True) as ctx:
        serve = group.get_command(ctx, "serve")  # type: ignore[attr-defined]
        assert serve is not None
        parsed = serve.make_context("serve", command[4:])  # raises on an unknown option
    assert parsed.params["host"] == "127.0.0.1"  # only the reverse proxy is in the open
    assert parsed.params["private"] == ("--private" in command)
    assert parsed.params["archive_path"] == Path("/srv/livingmemory/archive.db")
    service = unit(path)["Service"]
    assert service["KillSignal"] == "SIGTERM" and service["ReadWritePaths"] == "/srv/livingmemory"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd is not installed")
@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_analyze_verifies_the_unit(path: Path, tmp_path: Path) -> None:
    # The unit as installed here: this Python instead of /opt/..., the folder in tmp_path.
    text = path.read_text("utf-8").replace("/opt/livingmemory/venv/bin/python", sys.executable)
    installed = tmp_path / path.name
    installed.write_text(text.replace("/srv/livingmemory", str(tmp_path)), "utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(installed)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_caddyfile_proxies_both_services_to_localhost() -> None:
    text = (DEPLOY / "Caddyfile").read_text("utf-8")
    ports = set()
    for path in UNITS:
        command = shlex.split(unit(path)["Service"]["ExecStart"])
        ports.add(command[command.index("--port") + 1])
    assert len(ports) == 2
    for port in ports:
        assert f"reverse_proxy 127.0.0.1:{port}" in text
