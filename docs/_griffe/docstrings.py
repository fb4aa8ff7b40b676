"""Griffe extension used by the documentation build: reads tympan's docstring conventions.

tympan's docstrings are Google style with two conventions the Google parser does not know:

- an ``Example:`` section holding doctest blocks (the parser knows ``Examples:``, plural); it is read as
  an examples section, so the doctests render as Python console blocks;
- Sphinx roles (``:class:`~tympan.core.errors.PluginLoadError```) and literal-block markers
  (``text::``); roles become optional cross-references (a link where the target is documented, plain
  code otherwise) and ``::`` becomes ``:``.

The source files are not changed; only the text handed to the docstring parser is.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$")
_LITERAL = re.compile(r"^(?P<text>\s*\S.*?)::\s*$")
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`(?P<tilde>~?)(?P<target>[\w.]+)`")


def _exists(collection: Any, path: str) -> Any:
    try:
        return collection[path]
    except Exception:  # any lookup failure means "not there"
        return None


def _target(obj: griffe.Object, collection: Any, name: str) -> str:
    """The documented path ``name`` most likely refers to, seen from ``obj``."""
    scopes: list[str] = [""]
    node: Any = obj
    while node is not None:
        scopes.append(node.path + ".")
        node = node.parent
    scopes.sort(key=len, reverse=True)
    for scope in [*scopes[:-1], ""]:
        found = _exists(collection, scope + name)
        if found is not None:
            try:
                return str(found.canonical_path)
            except Exception:  # an alias that cannot be resolved
                return scope + name
    return name


def _role(obj: griffe.Object, collection: Any, match: re.Match[str]) -> str:
    name = match["target"]
    shown = name.rsplit(".", 1)[-1] if match["tilde"] else name
    identifier = _target(obj, collection, name)
    return f'<autoref identifier="{identifier}" optional><code>{shown}</code></autoref>'


def _rewrite(obj: griffe.Object, collection: Any) -> None:
    docstring = obj.docstring
    if docstring is None:
        return
    lines = []
    for line in docstring.value.split("\n"):
        stripped = line.lstrip()
        if not stripped.startswith((">>>", "...")):
            line = _EXAMPLE.sub(r"\1Examples:", line)
            literal = _LITERAL.match(line)
            if literal:
                line = literal["text"] + ":"
            line = _ROLE.sub(lambda m: _role(obj, collection, m), line)
        lines.append(line)
    docstring.value = "\n".join(lines)


class TympanDocstrings(griffe.Extension):
    """Rewrites ``Example:`` sections, Sphinx roles and ``::`` markers once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        collection = loader.modules_collection
        seen: set[int] = set()

        def visit(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            _rewrite(obj, collection)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)

        visit(pkg)
