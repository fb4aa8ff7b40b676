"""Reading pipeline configuration files: YAML, TOML and JSON to one plain mapping.

YAML is read with :class:`~tympan.pipeline.yaml_loader.ConfigLoader` (PyYAML's safe loader: ``!!python/...``
tags are refused; numbers read as they look; aliases bounded) and duplicate keys are errors in every format.
Every format is held to the same bounds: at most :data:`~tympan.pipeline.yaml_loader.MAX_DEPTH` levels of
nesting, :data:`~tympan.pipeline.yaml_loader.MAX_NODES` values and integers of
:data:`~tympan.pipeline.yaml_loader.MAX_DIGITS` digits. Problems raise
:class:`~tympan.core.errors.PipelineConfigError` naming the file, line and column; nothing in a
configuration file is ever imported or run.

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
from pathlib import Path
from typing import Any

import yaml

from tympan.core.errors import PipelineConfigError
from tympan.core.rendering import cut
from tympan.pipeline.yaml_loader import MAX_DEPTH, MAX_DIGITS, MAX_NODES, load_yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["FORMATS", "check_structure", "config_format", "parse_config_text", "read_config_file"]

#: Configuration formats by file suffix.
FORMATS = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".json": "json"}
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def _yaml(text: str, source: str) -> Any:
    try:
        return load_yaml(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = err.problem or str(err)
        if "could not determine a constructor" in problem:
            problem = problem.replace("could not determine a constructor for the tag", "tag not allowed:")
        raise PipelineConfigError([f"{where}{cut(problem, 300)}"], source=source) from None
    except yaml.YAMLError as err:
        raise PipelineConfigError([cut(str(err), 300)], source=source) from None
    except RecursionError:
        raise PipelineConfigError([_TOO_DEEP], source=source) from None


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {cut(repr(key), 80)}")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS} are read)")
    return int(text)


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates, parse_int=_bounded_int)
    except json.JSONDecodeError as err:
        raise PipelineConfigError([f"line {err.lineno}, column {err.colno}: {err.msg}"], source=source) from None
    except ValueError as err:
        raise PipelineConfigError([cut(str(err), 300)], source=source) from None
    except RecursionError:
        raise PipelineConfigError([_TOO_DEEP], source=source) from None


def _toml(text: str, source: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PipelineConfigError([str(err)], source=source) from None
    except ValueError as err:  # an integer past Python's conversion limit
        raise PipelineConfigError([cut(str(err), 300)], source=source) from None
    except RecursionError:
        raise PipelineConfigError([_TOO_DEEP], source=source) from None


_PARSERS = {"yaml": _yaml, "json": _json, "toml": _toml}


def check_structure(data: Any, source: str | None = None) -> None:
    """Refuse parsed configuration ``data`` nested deeper than ``MAX_DEPTH`` levels, holding more than
    ``MAX_NODES`` values (shared values counted each time they appear) or integers of more than
    ``MAX_DIGITS`` digits; every format's reader calls it.

    Example:
        >>> check_structure({"steps": [{"mfcc": {"n_mfcc": 13}}]})
        >>> deep = 0
        >>> for _ in range(60):
        ...     deep = [deep]
        >>> check_structure({"steps": deep})
        Traceback (most recent call last):
        ...
        tympan.core.errors.PipelineConfigError: invalid pipeline configuration:
          nested deeper than 50 levels
    """
    pending: list[tuple[Any, int]] = [(data, 0)]
    count = 0
    while pending:
        value, depth = pending.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise PipelineConfigError([_TOO_DEEP], source)
        if count > MAX_NODES:
            raise PipelineConfigError([f"more than {MAX_NODES} values"], source)
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * MAX_DIGITS:
            raise PipelineConfigError([f"an integer of more than {MAX_DIGITS} digits"], source)


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
    """Parse configuration ``text`` in ``format`` (``"yaml"``, ``"toml"`` or ``"json"``), within the bounds
    of :func:`check_structure`.

    Example:
        >>> parse_config_text('{"steps": [{"mfcc": null}]}', "json")
        {'steps': [{'mfcc': None}]}
    """
    parser = _PARSERS.get(format)
    if parser is None:
        raise PipelineConfigError([f"unknown configuration format {format!r}; expected yaml, toml or json"], source)
    data = parser(text, source)
    check_structure(data, source)
    return data


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
