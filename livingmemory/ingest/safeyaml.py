"""YAML from volunteers (sidecars, vocabulary files), read safely.

``yaml.safe_load`` builds no Python objects, but it still

* lets a 400-byte file of anchors and aliases stand for gigabytes ("billion laughs": PyYAML
  shares the aliased nodes, and the first ``str()`` or walk over the value expands them),
* recurses once per nesting level (``[[[[...]]]]`` 5,000 deep is a ``RecursionError``),
* turns an unquoted ``1950-02-30`` into a ``ValueError`` from ``datetime.date`` that escapes
  as a traceback and ends a whole batch.

:func:`load` refuses aliases, files over :data:`MAX_BYTES` and nesting deeper than
:data:`MAX_DEPTH`, and keeps dates as text (the metadata parser checks them and says what
is wrong with one line). Every problem is an :class:`~livingmemory.errors.InputError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from livingmemory.errors import InputError

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32


class _Refused(Exception):
    pass


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without aliases, without timestamps, and with a nesting limit."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _Refused("anchors and aliases (&name, *name) are not allowed")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# Dates stay text: "1950-02-30" reaches the date parser, which explains what is wrong.
StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


MAX_INT_DIGITS = 30


def _int_or_text(loader: StrictLoader, node: yaml.ScalarNode) -> Any:
    """An unquoted number stays a number, unless it is too long for one: ``title:`` followed
    by 5,000 digits is that text (``int()`` refuses more than 4,300 digits, with a traceback)."""
    value = loader.construct_scalar(node)
    if len(str(value)) > MAX_INT_DIGITS:
        return str(value)
    return loader.construct_yaml_int(node)


StrictLoader.add_constructor("tag:yaml.org,2002:int", _int_or_text)


def loads(text: str, source: str | Path) -> Any:
    """Parse ``text`` (from ``source``, named in errors) with the limits above."""
    if len(text) > MAX_BYTES:
        raise InputError(source, f"too large for a YAML file ({len(text)} characters)")
    try:
        return yaml.load(text, Loader=StrictLoader)
    except _Refused as error:
        raise InputError(source, f"not accepted: {error}") from None
    except RecursionError:
        raise InputError(source, "not accepted: nested too deeply") from None
    except yaml.YAMLError as error:
        first_line = str(error).splitlines()[0]
        raise InputError(source, f"not valid YAML ({first_line})") from None


def load(path: Path) -> Any:
    """Read and parse a YAML file; unreadable, non-UTF-8 or oversized files are one line."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(path, f"too large for a YAML file ({size} bytes)")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as error:
        raise InputError(path, f"cannot be read ({error.strerror or error})") from None
    return loads(text, path)
