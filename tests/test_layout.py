"""The package tree is the pipeline: a stage imports only the stages below it.

ARCHITECTURE.md draws the floors. This test reads every module's imports (with ``ast``, nothing
is executed) and fails when a module reaches a stage it may not: a new arrow upwards is how
a tidy layout decays, one convenient import at a time. Imports inside functions count too,
except where a stage is allowed to call a later one on purpose (listed in ``LATE``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "livingmemory"

# stage -> the stages its modules may import at module level (errors, words and timecodes
# are leaves)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "words": set(),
    "timecodes": set(),
    "archive": {"errors"},
    "ingest": {"archive", "errors"},
    "search": {"archive", "errors", "timecodes", "words"},
    "transcription": {"archive", "errors", "ingest", "speakers"},
    "speakers": {"archive", "errors", "transcription"},
    "tagging": {"archive", "errors", "transcription", "words"},
    "formats": {"archive", "errors", "timecodes"},
    "review": {"archive", "errors", "formats", "ingest", "tagging", "transcription"},
    # site reads formats for the public downloads (site/downloads.py: the format registry)
    "site": {"archive", "errors", "formats", "ingest", "review", "search", "tagging", "timecodes"},
}
# the top: the public API, the CLI and the demo may use every stage
TOP = {"__init__", "__main__", "cli", "demo", "plugins"}
# plugins.py is also what every stage registers into (its hook markers and the registry): it
# imports no stage at run time, only loads the built-in plug-ins by name, so any stage may
# import it, as any stage may import errors.
EVERYWHERE = {"plugins"}


def stage_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text("utf-8"))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "livingmemory":
                found += [(node.lineno, f"livingmemory.{a.name}") for a in node.names]
            elif node.module.startswith("livingmemory."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.startswith("livingmemory.")
            ]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_stage_is_known():
    stages = {
        stage_of("livingmemory." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts))
        for p in MODULES
    }
    assert stages - TOP <= set(ALLOWED), "a new stage: add it to ALLOWED and ARCHITECTURE.md"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_arrow_runs_upwards(path: Path):
    here = stage_of("livingmemory." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    if here in TOP:
        return
    wrong = [
        f"line {line}: {target}"
        for line, target in imports(path)
        if (there := stage_of(target)) != here
        and there not in ALLOWED[here] | EVERYWHERE
        and there != "__version__"
    ]
    assert not wrong, f"{here} may import only {sorted(ALLOWED[here])}: " + "; ".join(wrong)
