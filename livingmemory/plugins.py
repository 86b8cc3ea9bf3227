"""One plug-in mechanism for transcription engines, tagging languages and exchange formats.

Built on pluggy, as Datasette and llm are: a plug-in is a module with ``@hookimpl`` functions
that call ``register(thing, name)``::

    from livingmemory.formats.base import Format
    from livingmemory.plugins import hookimpl

    def dumps_upper(doc):
        return "\\n".join(cue.text.upper() for cue in doc.cues)

    @hookimpl
    def register_formats(register):
        register(Format(".upper.txt", "Shouting text", dumps=dumps_upper), "upper")

Outside packages declare the module as an entry point in the ``livingmemory`` group
(``[project.entry-points.livingmemory]`` in their pyproject.toml). The built-ins are plug-ins
too: the modules in :data:`DEFAULT_PLUGINS` register themselves through the same hooks, so a
built-in format is written exactly as an outside one, and works from a source checkout
without installed entry-point metadata.

Plug-ins load once per process, on first use. One that cannot be imported or that breaks
while registering is skipped with a one-line :class:`PluginWarning`; the rest still work.
A later registration of a name replaces an earlier one, so an outside plug-in may replace a
built-in (``livingmemory plugins`` shows who provides what).

This module stays light (no spaCy, NumPy or Whisper): the CLI loads plug-ins to list them in
its help.
"""

from __future__ import annotations

import importlib
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

import pluggy

PROJECT = "livingmemory"
ENTRY_POINT_GROUP = PROJECT  # [project.entry-points.livingmemory]

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# The built-ins, registered by the same hooks as outside plug-ins, in this order (listings and
# the format tables follow it). A new built-in engine, language or format is one line here.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "livingmemory.transcription.engines.faster_whisper",
    "livingmemory.transcription.engines.openai_whisper",
    "livingmemory.tagging.slovenian",
    "livingmemory.tagging.english",
    "livingmemory.tagging.generic",
    "livingmemory.formats.vtt",
    "livingmemory.formats.srt",
    "livingmemory.formats.text",
    "livingmemory.formats.jsonfmt",
    "livingmemory.formats.trs",
    "livingmemory.formats.ohms",
)

T = TypeVar("T")
#: ``register(thing, name)``: the callback each ``register_*`` hook receives.
Register = Callable[[T, str], None]


class PluginWarning(UserWarning):
    """A plug-in was skipped; the message is one line naming it and what went wrong."""


class Hookspecs:
    """The hooks a plug-in may implement (each optional)."""

    @hookspec
    def register_engines(self, register: Register[type]) -> None:
        """Call ``register(EngineClass, "name")`` for each transcription engine (a class
        satisfying :class:`livingmemory.transcription.engines.base.Engine`)."""

    @hookspec
    def register_languages(self, register: Register[Any]) -> None:
        """Call ``register(LanguageTagger(...), "xx")`` for each ISO language code tagged
        (:class:`livingmemory.tagging.base.LanguageTagger`)."""

    @hookspec
    def register_formats(self, register: Register[Any]) -> None:
        """Call ``register(Format(...), "name")`` for each exchange format
        (:class:`livingmemory.formats.base.Format`)."""


@dataclass(frozen=True)
class Registered(Generic[T]):
    """One registered engine, language or format, and the plug-in that registered it."""

    name: str
    value: T
    plugin: str


@dataclass
class Plugins:
    """What the loaded plug-ins registered, in registration order."""

    manager: pluggy.PluginManager
    engines: dict[str, Registered[Any]] = field(default_factory=dict)
    languages: dict[str, Registered[Any]] = field(default_factory=dict)
    formats: dict[str, Registered[Any]] = field(default_factory=dict)
    #: plug-in name -> "package version" for plug-ins from installed packages
    packages: dict[str, str] = field(default_factory=dict)
    #: one line per plug-in that was skipped
    problems: list[str] = field(default_factory=list)

    def describe(self) -> list[dict[str, Any]]:
        """One row per plug-in: its name, package (None for built-ins) and what it registers."""
        rows: dict[str, dict[str, Any]] = {}
        for name in self.plugin_names():
            rows[name] = {
                "name": name,
                "package": self.packages.get(name),
                "engines": [],
                "languages": [],
                "formats": [],
            }
        for kind in ("engines", "languages", "formats"):
            registry: dict[str, Registered[Any]] = getattr(self, kind)
            for item in registry.values():
                rows[item.plugin][kind].append(item.name)
        return list(rows.values())

    def plugin_names(self) -> list[str]:
        """Registered plug-ins: the built-ins in :data:`DEFAULT_PLUGINS` order, then others."""
        names = [self.manager.get_name(p) or "" for p in self.manager.get_plugins()]
        order = {name: i for i, name in enumerate(DEFAULT_PLUGINS)}
        return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _register_defaults(manager: pluggy.PluginManager, problems: list[str]) -> None:
    for name in DEFAULT_PLUGINS:
        try:
            manager.register(importlib.import_module(name), name=name)
        except (Exception, SystemExit) as error:  # a broken built-in must not stop the others
            problems.append(f"built-in plug-in {name} could not be loaded ({_one_line(error)})")


def _register_entry_points(
    manager: pluggy.PluginManager, packages: dict[str, str], problems: list[str]
) -> None:
    """Like pluggy's ``load_setuptools_entrypoints``, but one broken package is one line."""
    for distribution in metadata.distributions():
        for entry_point in distribution.entry_points:
            if entry_point.group != ENTRY_POINT_GROUP:
                continue
            if manager.get_plugin(entry_point.name) is not None:
                continue  # the same package found twice on sys.path
            package = f"{distribution.metadata['Name']} {distribution.version}"
            where = f"plug-in {entry_point.name!r} (package {package})"
            try:
                plugin = entry_point.load()
            except (Exception, SystemExit) as error:  # sys.exit() at import must not end us
                problems.append(f"{where} could not be loaded ({_one_line(error)})")
                continue
            try:
                manager.register(plugin, name=entry_point.name)
            except (ValueError, pluggy.PluginValidationError) as error:
                problems.append(f"{where} was refused ({_one_line(error)})")
                continue
            packages[entry_point.name] = package


# What each hook registers is checked by shape, not by class, so that this module imports no
# stage (the classes live with their stage: transcription.engines.base.Engine,
# tagging.base.LanguageTagger, formats.base.Format).
def _is_engine(value: Any) -> bool:
    return isinstance(value, type) and callable(getattr(value, "available", None))


def _is_language(value: Any) -> bool:
    return isinstance(getattr(value, "version", None), str) and callable(
        getattr(value, "build", None)
    )


def _is_format(value: Any) -> bool:
    return isinstance(getattr(value, "extension", None), str) and all(
        hasattr(value, f) for f in ("description", "loads", "dumps", "export")
    )


def _collect(
    plugins: Plugins,
    hook_name: str,
    registry: dict[str, Registered[Any]],
    expected: Callable[[Any], bool],
    what: str,
) -> None:
    """Call one ``register_*`` hook of every plug-in, in registration order."""
    hook = getattr(plugins.manager.hook, hook_name)
    for implementation in hook.get_hookimpls():
        plugin = implementation.plugin_name

        def register(value: Any, name: str, plugin: str = plugin) -> None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"register() needs a name, got {name!r}")
            if not expected(value):
                raise TypeError(f"{name!r} is not {what} but {type(value).__name__}")
            registry.pop(name, None)  # a later registration replaces (and moves) an earlier one
            registry[name] = Registered(name, value, plugin)

        before = dict(registry)
        try:
            implementation.function(register=register)
        except (Exception, SystemExit) as error:
            registry.clear()
            registry.update(before)  # all of that plug-in's registrations, or none
            plugins.problems.append(
                f"plug-in {plugin!r} failed in {hook_name} ({_one_line(error)})"
            )


def load() -> Plugins:
    """Load the built-in and installed plug-ins afresh (no cache, no warnings)."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(Hookspecs)
    plugins = Plugins(manager)
    _register_defaults(manager, plugins.problems)
    _register_entry_points(manager, plugins.packages, plugins.problems)
    while True:  # a hook name with a typo: that plug-in is refused whole, each one named
        try:
            manager.check_pending()
            break
        except pluggy.PluginValidationError as error:
            name = manager.get_name(error.plugin)
            manager.unregister(error.plugin)
            plugins.packages.pop(str(name), None)
            plugins.problems.append(f"plug-in {name!r} was refused ({_one_line(error)})")
    _collect(plugins, "register_engines", plugins.engines, _is_engine, "an engine class")
    _collect(
        plugins,
        "register_languages",
        plugins.languages,
        _is_language,
        "a LanguageTagger",
    )
    _collect(
        plugins,
        "register_formats",
        plugins.formats,
        _is_format,
        "a Format",
    )
    return plugins


_loaded: Plugins | None = None
_loading = threading.Lock()  # the web server's threads may ask at once


def get() -> Plugins:
    """The plug-ins of this process, loaded on first use; each problem is warned once."""
    global _loaded
    with _loading:
        if _loaded is None:
            _loaded = load()
            for problem in _loaded.problems:
                warnings.warn(problem, PluginWarning, stacklevel=2)
        return _loaded


def reload() -> Plugins:
    """Forget the loaded plug-ins and load them again (after installing one, in tests)."""
    global _loaded
    _loaded = None
    return get()
