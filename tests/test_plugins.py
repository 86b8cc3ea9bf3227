"""Plug-ins: an outside package adds an export format, a tagging language and an engine, the
way a user would install one (a module plus a ``*.dist-info`` with an entry point in the
``livingmemory`` group, found on ``sys.path``); a broken package is one line, not a traceback.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support import REPO, insert_recording, insert_transcript, run_cli

from livingmemory import plugins
from livingmemory.archive.store import open_archive
from livingmemory.errors import LivingMemoryError
from livingmemory.formats import detect_format, export_formats, readable_formats
from livingmemory.formats.exports import export_recording
from livingmemory.tagging.base import language_codes, pipeline_version
from livingmemory.tagging.gazetteer import load_gazetteer
from livingmemory.transcription.engines import engine_names, get_engine

# A whole outside plug-in package: one module, three hooks.
TOY_PLUGIN = '''
from livingmemory.formats.base import Format
from livingmemory.plugins import hookimpl
from livingmemory.tagging.language import LanguageTagger


def dumps_shout(doc):
    return "".join(f"{cue.start:07.2f} {cue.text.upper()}\\n" for cue in doc.cues)


def export_shout(context):
    """Uses what only an export knows: the public title and the tags."""
    tags = sorted({e["canonical"] for e in context.entities()})
    return f"# {context.title()} | {', '.join(tags)}\\n" + dumps_shout(context.document)


def loads_shout(text, source):
    from livingmemory.formats import Cue, TranscriptDocument

    cues = []
    for line in text.splitlines():
        start, _, words = line.partition(" ")
        cues.append(Cue(float(start), float(start) + 1.0, words.lower()))
    return TranscriptDocument(cues)


def build(language, gazetteer):
    import spacy

    nlp = spacy.blank("xx")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([
        {"label": "LOC", "pattern": [{"LOWER": "zgornja"}, {"LOWER": "mišja"}, {"LOWER": "vas"}]},
        {"label": "PER", "pattern": [{"LOWER": "toni"}, {"LOWER": "kralj"}]},
    ])
    return nlp


class ToyEngine:
    name = "toy"
    formats = ()
    compute_type = "none"

    @classmethod
    def version(cls):
        return "0.1"

    @classmethod
    def available(cls):
        return True


class MissingEngine(ToyEngine):
    name = "toy-missing"

    @classmethod
    def available(cls):
        return False


@hookimpl
def register_formats(register):
    register(
        Format(".shout.txt", "Shouted text", loads=loads_shout, dumps=dumps_shout,
               export=export_shout),
        "shout",
    )


@hookimpl
def register_languages(register):
    register(LanguageTagger("toy-ruler", "7", build), "fr")


@hookimpl
def register_engines(register):
    register(ToyEngine, "toy")
    register(MissingEngine, "toy-missing")
'''

BROKEN_PLUGIN = """
raise RuntimeError("this plug-in needs a newer\\nversion of something")
"""

Install = Callable[[str, str], Path]


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Install]:
    """``install(module_name, source)``: a package on ``sys.path`` declaring ``module_name`` as
    a ``livingmemory`` plug-in, then the plug-ins loaded afresh. The previous plug-ins come
    back after the test."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(plugins, "_loaded", None)  # restored by monkeypatch afterwards
    names: list[str] = []

    def _install(module: str, source: str) -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        dist_info = site / f"{module}-0.1.dist-info"
        dist_info.mkdir()
        package = module.replace("_", "-")
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {package}\nVersion: 0.1\n", encoding="utf-8"
        )
        (dist_info / "entry_points.txt").write_text(
            f"[livingmemory]\n{package} = {module}\n", encoding="utf-8"
        )
        names.append(module)
        return site

    yield _install
    for module in names:
        sys.modules.pop(module, None)


def _archive_with_tagged_transcript(archive_db: Path) -> int:
    with open_archive(archive_db) as archive:
        recording_id = insert_recording(archive, title="Pri Kraljevih")
        _, segments = insert_transcript(
            archive, recording_id, ["Rodil sem se v Zgornji vasi.", "Oče je bil kovač."]
        )
        archive.db["entities"].insert(
            {
                "recording_id": recording_id,
                "segment_id": segments[0],
                "label": "LOC",
                "text": "Zgornji vasi",
                "canonical": "Zgornja vas",
                "start_seconds": 1.0,
                "confidence": 0.9,
                "source": "machine",
            }
        )
        archive.db.conn.commit()
    return recording_id


def test_an_installed_plugin_adds_a_format_a_language_and_an_engine(
    install: Install, archive_db: Path, tmp_path: Path
) -> None:
    assert "shout" not in export_formats() and "toy" not in engine_names()
    install("toy_livingmemory", TOY_PLUGIN)
    loaded = plugins.reload()
    assert loaded.problems == []
    assert loaded.packages == {"toy-livingmemory": "toy-livingmemory 0.1"}
    row = next(r for r in loaded.describe() if r["name"] == "toy-livingmemory")
    assert row["formats"] == ["shout"] and row["languages"] == ["fr"]
    assert row["engines"] == ["toy", "toy-missing"]
    # The built-ins are still there beside it.
    assert {"vtt", "srt", "txt", "json", "ohms", "shout"} <= set(export_formats())
    assert {"sl", "en", "de", "hr", "fr"} <= set(language_codes())

    # (a) the new format through the normal export function and the CLI
    recording_id = _archive_with_tagged_transcript(archive_db)
    with open_archive(archive_db) as archive:
        text = export_recording(archive, recording_id, "shout")
    assert text.splitlines() == [
        "# Pri Kraljevih | Zgornja vas",
        "0000.00 RODIL SEM SE V ZGORNJI VASI.",
        "0005.00 OČE JE BIL KOVAČ.",
    ]
    result = run_cli("export", recording_id, "--format", "shout", "--archive", archive_db)
    assert result.exit_code == 0, str(result)
    assert result.stdout == text
    # ... and as a readable format, found by its two-part file ending
    assert "shout" in readable_formats()
    assert detect_format(Path("tape.SHOUT.txt")) == "shout"
    assert detect_format(Path("tape.txt")) == "txt"

    # (b) the new language through the `entities` command (the normal tagging path)
    source = tmp_path / "besedilo.txt"
    source.write_text("Toni Kralj je živel v Zgornja Mišja Vas.\n", encoding="utf-8")
    result = run_cli("entities", source, "--language", "fr", "--no-topics", "--json")
    assert result.exit_code == 0, str(result)
    assert "generic" not in result.stderr  # no fallback warning: the language is known
    entities = json.loads(result.stdout)["entities"]
    assert [(e["label"], e["text"]) for e in entities] == [
        ("PER", "Toni Kralj"),
        ("LOC", "Zgornja Mišja Vas"),
    ]
    assert pipeline_version("fr", load_gazetteer()).startswith("7+gaz.")

    # (c) the fake engine, visible to get_engine; a missing one is one clear error
    engine = get_engine("toy")
    assert engine.name == "toy" and engine.available()
    assert "toy" in engine_names()
    with pytest.raises(LivingMemoryError, match=r"toy-missing.*toy-livingmemory"):
        get_engine("toy-missing")


def test_unknown_names_list_what_is_registered(install: Install, archive_db: Path) -> None:
    install("toy_livingmemory", TOY_PLUGIN)
    plugins.reload()
    recording_id = _archive_with_tagged_transcript(archive_db)
    result = run_cli("export", recording_id, "--format", "docx", "--archive", archive_db)
    assert result.exit_code == 1 and result.exception is None, str(result)
    [line] = result.stderr.strip().splitlines()
    assert "unknown format 'docx'" in line and "shout" in line and "ohms" in line
    with pytest.raises(LivingMemoryError, match=r"unknown engine 'whisperx'.*faster-whisper.*toy"):
        get_engine("whisperx")


def test_a_plugin_that_fails_to_import_is_one_line(install: Install) -> None:
    install("broken_plugin", BROKEN_PLUGIN)
    with pytest.warns(plugins.PluginWarning) as caught:
        loaded = plugins.reload()
    [warning] = [w for w in caught if issubclass(w.category, plugins.PluginWarning)]
    message = str(warning.message)
    assert "\n" not in message
    assert "'broken-plugin' (package broken-plugin 0.1)" in message
    assert "RuntimeError: this plug-in needs a newer version of something" in message
    # Everything else still loads.
    assert {"vtt", "ohms"} <= set(export_formats()) and "faster-whisper" in loaded.engines


def test_a_plugin_that_registers_the_wrong_thing_is_refused_whole(install: Install) -> None:
    install(
        "muddled_plugin",
        """
        from livingmemory.formats.base import Format
        from livingmemory.plugins import hookimpl

        @hookimpl
        def register_formats(register):
            register(Format(".ok", "fine", dumps=str), "fine")
            register({"dumps": str}, "muddled")
        """,
    )
    with pytest.warns(plugins.PluginWarning, match=r"'muddled' is not a Format but dict"):
        plugins.reload()
    assert "fine" not in export_formats() and "muddled" not in export_formats()
    assert "vtt" in export_formats()


def test_a_broken_plugin_is_one_line_in_the_cli(install: Install) -> None:
    site = install("broken_plugin", BROKEN_PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    result = subprocess.run(
        [sys.executable, "-m", "livingmemory", "export", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Warning: plug-in 'broken-plugin'") and "RuntimeError" in line
    assert "vtt" in result.stdout  # the built-ins are still listed


def test_plugins_command_lists_built_ins_and_what_they_register() -> None:
    result = run_cli("plugins", "--json")
    assert result.exit_code == 0, str(result)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["livingmemory.formats.ohms"] == {
        "name": "livingmemory.formats.ohms",
        "package": None,
        "engines": [],
        "languages": [],
        "formats": ["ohms"],
    }
    assert rows["livingmemory.tagging.generic"]["languages"] == ["de", "hr"]
    assert rows["livingmemory.transcription.engines.faster_whisper"]["engines"] == [
        "faster-whisper"
    ]


def _modules_with_hooks() -> set[str]:
    """Package modules that define a ``register_*`` hook implementation (read, not imported)."""
    found = set()
    for path in (REPO / "livingmemory").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name in (
                "register_engines",
                "register_languages",
                "register_formats",
            ):
                module = path.relative_to(REPO).with_suffix("").as_posix().replace("/", ".")
                found.add(module)
    return found


def test_every_built_in_plugin_is_listed_once_and_registers_something() -> None:
    """A new built-in is its module plus its line in DEFAULT_PLUGINS: a module whose line was
    forgotten, or a line whose module registers nothing, fails here."""
    assert len(set(plugins.DEFAULT_PLUGINS)) == len(plugins.DEFAULT_PLUGINS)
    assert _modules_with_hooks() == set(plugins.DEFAULT_PLUGINS)
    loaded = plugins.load()
    assert loaded.problems == []
    for row in loaded.describe():
        assert row["engines"] or row["languages"] or row["formats"], row["name"]


def test_plugins_load_without_spacy_numpy_or_whisper() -> None:
    """Listing plug-ins (every CLI start) stays light, and works on a core install."""
    code = (
        "import sys; from livingmemory import plugins; plugins.load(); "
        "print(sorted(m for m in ('spacy', 'numpy', 'torch', 'faster_whisper') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_misspelt_hooks_and_sys_exit_refuse_only_their_plugin(install: Install) -> None:
    typo = """
        from livingmemory.formats.base import Format
        from livingmemory.plugins import hookimpl

        @hookimpl
        def register_format(register):  # the hook is register_formats
            pass

        @hookimpl
        def register_formats(register):
            register(Format(".{ext}", "typo", dumps=str), "{ext}")
        """
    install("typo_one", typo.format(ext="typoone"))
    install("typo_two", typo.format(ext="typotwo"))
    install("exiting_plugin", "import sys\nsys.exit(3)\n")
    with pytest.warns(plugins.PluginWarning) as caught:
        loaded = plugins.reload()
    messages = " ".join(str(w.message) for w in caught)
    assert "'typo-one' was refused" in messages and "'typo-two' was refused" in messages
    assert "'exiting-plugin'" in messages and "SystemExit" in messages
    # Refused whole: none of their formats; everything else loads.
    assert not {"typoone", "typotwo"} & set(export_formats())
    assert "vtt" in export_formats() and "faster-whisper" in loaded.engines
