"""Help and version: every command explains itself."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest
from conftest import REPO, run_cli

import livingmemory

# command -> words its help must contain (its purpose, in the words of its docstring)
PURPOSES = {
    "init": ["create", "archive"],
    "add": ["add", "recordings", "archive"],
    "list": ["list", "recordings"],
    "show": ["show", "recording"],
    "demo": ["demo", "archive"],
}


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def test_main_help_lists_commands() -> None:
    result = run_cli("--help")
    assert result.exit_code == 0, str(result)
    text = _words(result.stdout)
    assert "oral-history archive" in text
    for command in PURPOSES:
        assert command in text


def test_no_arguments_shows_help() -> None:
    result = run_cli()
    assert "livingmemory init" in _words(result.stdout + result.stderr)


@pytest.mark.parametrize("command", list(PURPOSES))
def test_command_help(command: str) -> None:
    result = run_cli(command, "--help")
    assert result.exit_code == 0, str(result)
    text = _words(result.stdout)
    assert f"livingmemory {command}" in text
    for word in PURPOSES[command]:
        assert word in text, f"{command} --help does not mention {word!r}"


def test_add_help_names_formats_and_options() -> None:
    text = _words(run_cli("add", "--help").stdout)
    for word in ("wav", "flac", "mp3", "--from-csv", "--narrator", "--embargo-until", "sidecar"):
        assert word.lower() in text


def test_version_flag_in_process() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"livingmemory {livingmemory.__version__}"


def test_python_m_livingmemory_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "livingmemory", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"livingmemory {livingmemory.__version__}"
    # The version the code reports is the version the package was installed as.
    assert livingmemory.__version__ == version("livingmemory")
