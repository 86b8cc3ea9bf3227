"""One line for every mistake a volunteer can make on the command line.

``test_bad_input.py`` covers ``add``; this module covers the rest: Typer's own usage errors
(which it would draw as a boxed panel), errors raised before a progress bar starts (which
left an empty line above them), unknown engines and languages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_cli, snapshot


@pytest.mark.parametrize(
    "args, problem",
    [
        (["show", "abc"], "valid integer"),
        (["serve", "--port", "99999"], "65535"),
        (["nonsense"], "No such command"),
        (["add", "--narator", "Marija"], "--narrator"),
        (["vocab", "nonsense"], "No such command"),
    ],
)
def test_usage_errors_are_one_line_with_the_way_to_help(
    archive_dir: Path, args: list[str], problem: str
) -> None:
    before = snapshot(archive_dir)
    result = run_cli(*args)
    assert result.exit_code == 2, str(result)
    assert result.exception is None, str(result)
    assert len(result.lines) == 1, str(result)
    [line] = result.error_lines
    assert line.startswith("Error:") and problem in line and "--help" in line, line
    assert snapshot(archive_dir) == before


@pytest.mark.parametrize(
    "args, problem",
    [
        (["tag", "99"], "no recording #99"),
        (["tag", "--cluster", "nonsense"], "--cluster 'nonsense'"),
        (["transcribe", "--engine", "nope"], "unknown engine 'nope'"),
        (["speakers", "99"], "no recording #99"),
    ],
)
def test_errors_before_the_work_starts_are_one_line(
    archive_db: Path, make_interview, args: list[str], problem: str
) -> None:
    make_interview(["Rodila sem se v Kranju."])
    with_archive = [*args, "--archive", archive_db]
    if args[0] == "transcribe":
        with_archive.append("--force")  # a recording to transcribe, so the engine is checked
    result = run_cli(*with_archive)
    assert result.exit_code == 1, str(result)
    assert result.stderr.startswith("Error:"), repr(result.stderr)  # no empty line, no bar
    assert len(result.lines) == 1 and problem in result.stderr, str(result)


def test_entities_refuses_what_is_not_a_language(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Rodila sem se v Kranju.\n", encoding="utf-8")
    result = run_cli("entities", text, "--language", "klingonx")
    assert result.exit_code == 1 and len(result.lines) == 1, str(result)
    assert "unknown language 'klingonx'" in result.stderr
    # A real language without a pipeline of its own: one warning line, then the results.
    italian = run_cli("entities", text, "--language", "it", "--json")
    assert italian.exit_code == 0, str(italian)
    assert italian.stderr.count("\n") == 1 and italian.stderr.startswith("Warning:")
    assert "generic" in italian.stderr and ".py" not in italian.stderr


def test_speakers_of_a_recording_never_diarized_says_how(archive_db: Path, make_interview) -> None:
    recording_id = make_interview(["Rodila sem se v Kranju."])
    result = run_cli("speakers", recording_id, "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert "transcribe it first" not in result.stdout
    assert f"livingmemory transcribe {recording_id} --force --diarize" in result.stdout


def test_bare_command_shows_the_help_and_no_error() -> None:
    result = run_cli()
    assert "Usage" in result.stdout and "Error" not in result.stdout + result.stderr
