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
    "speakers": {"archive", "errors", "words"},
    "tagging": {"archive", "errors", "transcription", "words"},
    "formats": {"archive", "errors", "timecodes"},
    "review": {"archive", "errors", "formats", "ingest", "tagging", "transcription"},
    # site reads formats for the public downloads (site/downloads.py: the format registry)
    "site": {
        "archive",
        "errors",
        "formats",
        "ingest",
        "review",
        "search",
        "speakers",
        "tagging",
        "timecodes",
        "words",
    },
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


def module_name(path: Path) -> str:
    parts = ("livingmemory", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_level_imports(path: Path) -> set[str]:
    """Package modules imported at module level, ``if TYPE_CHECKING:`` blocks included.

    An import inside a function is a late call into another module (the plug-in loading
    routes, publish refreshing the site's browse index) and does not tie the two modules'
    loading together; one at module level, even for types only, does.
    """
    tree = ast.parse(path.read_text("utf-8"))
    nodes: list[ast.stmt] = []
    for node in tree.body:
        nodes.append(node)
        if isinstance(node, ast.If):  # if TYPE_CHECKING: ...
            nodes.extend(node.body)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("livingmemory"):
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("livingmemory.")}
    return found


def module_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports at module level.

    The top package (``livingmemory/__init__.py``, a lazy public API) is left out: every
    ``from livingmemory import x`` names the submodule ``x``, which is what counts.
    """
    names = {module_name(p): p for p in MODULES}
    return {
        name: {
            d for d in module_level_imports(path) if d in names and d not in (name, "livingmemory")
        }
        for name, path in names.items()
    }


def test_no_two_modules_lean_on_each_other():
    """No import cycle between modules at module level, type-only imports included: each
    module can be read, tested and replaced from the bottom up. (``formats/exports.py`` and
    ``plugins.py`` once imported each other for types; what a plug-in registers now lives
    with its stage.)"""
    graph = module_graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_plugins_knows_no_stage():
    """The plug-in mechanism imports no stage, not even for types: every stage may import it."""
    stages = {stage_of(t) for _line, t in imports(PACKAGE / "plugins.py")}
    assert not stages - {"errors"}, f"plugins.py imports {sorted(stages)}"


def test_one_sqlite_library():
    """Every module takes ``sqlite3`` from archive/sqlite.py, the library Datasette and
    sqlite-utils use too: two SQLite libraries in one process do not catch each other's
    errors, and a search index with secure-delete is unreadable to an older one."""
    direct = []
    for path in MODULES:
        if path == PACKAGE / "archive" / "sqlite.py":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            named = []
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                named = [node.module]
            if any(name.split(".")[0] in ("sqlite3", "pysqlite3") for name in named):
                direct.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not direct, "import sqlite3 from livingmemory.archive.sqlite: " + ", ".join(direct)
