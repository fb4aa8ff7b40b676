"""Reading pipeline configuration files: YAML, TOML and JSON to one plain mapping.

YAML is read with the safe loader (so ``!!python/...`` tags are refused) and duplicate keys are errors in
every format. Problems raise :class:`~tympan.core.errors.PipelineConfigError` naming the file, line and
column; nothing in a configuration file is ever imported or run.

Example:
    >>> parse_config_text("version: 1\\nsteps:\\n  - mfcc: {n_mfcc: 13}\\n", "yaml")
    {'version': 1, 'steps': [{'mfcc': {'n_mfcc': 13}}]}
    >>> parse_config_text("a: 1\\na: 2\\n", "yaml")
    Traceback (most recent call last):
    ...
    tympan.core.errors.PipelineConfigError: invalid pipeline configuration <text>:
      line 2, column 1: duplicate key 'a' (first at line 1)
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from tympan.core.errors import PipelineConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["FORMATS", "config_format", "parse_config_text", "read_config_file"]

#: Configuration formats by file suffix.
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}


class _StrictSafeLoader(yaml.SafeLoader):
    """The safe loader, refusing duplicate mapping keys."""


def _construct_unique_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Hashable, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {first})", key_node.start_mark
            )
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_StrictSafeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = err.problem or str(err)
        if "could not determine a constructor" in problem:
            problem = problem.replace("could not determine a constructor for the tag", "tag not allowed:")
        raise PipelineConfigError([f"{where}{problem}"], source=source) from None
    except yaml.YAMLError as err:
        raise PipelineConfigError([str(err)], source=source) from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as err:
        raise PipelineConfigError([f"line {err.lineno}, column {err.colno}: {err.msg}"], source=source) from None
    except ValueError as err:
        raise PipelineConfigError([str(err)], source=source) from None


def _toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PipelineConfigError([str(err)], source=source) from None


_PARSERS = {"yaml": _yaml, "json": _json, "toml": _toml}


def config_format(path: str | os.PathLike[str]) -> str:
    """The configuration format of ``path`` from its suffix.

    Example:
        >>> config_format("pipe.yml"), config_format("pipe.toml")
        ('yaml', 'toml')
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise PipelineConfigError([f"unknown configuration suffix {suffix!r}; expected one of {known}"], str(path))
    return FORMATS[suffix]


def parse_config_text(text: str, format: str, source: str = "<text>") -> Any:
    """Parse configuration ``text`` in ``format`` (``"yaml"``, ``"toml"`` or ``"json"``).

    Example:
        >>> parse_config_text('{"steps": [{"mfcc": null}]}', "json")
        {'steps': [{'mfcc': None}]}
    """
    parser = _PARSERS.get(format)
    if parser is None:
        raise PipelineConfigError([f"unknown configuration format {format!r}; expected yaml, toml or json"], source)
    return parser(text, source)


def read_config_file(path: str | os.PathLike[str]) -> Any:
    """Read and parse a configuration file, choosing the format by its suffix.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "pipe.toml"
        >>> _ = path.write_text('version = 1\\n[[steps]]\\n"dsp:mfcc" = {n_mfcc = 13}\\n')
        >>> read_config_file(path)["steps"]
        [{'dsp:mfcc': {'n_mfcc': 13}}]
    """
    format = config_format(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineConfigError([f"cannot read: {err}"], source=os.fspath(path)) from None
    return parse_config_text(text, format, source=os.fspath(path))
