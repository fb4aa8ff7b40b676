"""The YAML reader of configuration files: PyYAML's safe loader, bounded, with numbers read as they look.

- **Bounded**: nodes nest at most :data:`MAX_DEPTH` levels, and the document, with every alias expanded,
  holds at most :data:`MAX_NODES` nodes, counted while it is composed and before anything is constructed
  (a few hundred bytes of nested aliases cannot expand to billions of values). An alias may not refer to a
  node that contains it. Integers have at most :data:`MAX_DIGITS` digits.
- **Numbers as they look** (the YAML 1.2 core schema): ``8:32`` is the text ``"8:32"``, not YAML 1.1's
  sexagesimal 512; ``015`` is 15 and ``0o17`` octal; ``1e5`` is a float; dates stay text. Booleans keep
  YAML 1.1's spellings (``yes``/``no``, ``on``/``off``).
- **Typed errors**: duplicate or unhashable keys, malformed tagged values (``!!int abc``, ``!!timestamp
  tomorrow``) and bad escapes are :class:`yaml.YAMLError` with the line and column of the node.

Example:
    >>> load_yaml("n_fft: 8:32\\nrate: 1e5\\nsmall: 015\\nflag: yes\\n")
    {'n_fft': '8:32', 'rate': 100000.0, 'small': 15, 'flag': True}
    >>> load_yaml("a: &a [1, 1]\\nb: &b [*a, *a]\\nc: [*b, *b]\\n")["c"]
    [[[1, 1], [1, 1]], [[1, 1], [1, 1]]]
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from typing import Any, cast

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import BaseResolver, Resolver

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_NODES", "ConfigLoader", "load_yaml"]

#: How deeply mappings and sequences may nest.
MAX_DEPTH = 50
#: How many nodes a document may hold with its aliases expanded.
MAX_NODES = 20_000
#: How many digits an integer may have.
MAX_DIGITS = 40

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_REPLACED = {_INT, _FLOAT, "tag:yaml.org,2002:timestamp"}
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_SPECIAL_FLOATS = {".inf": float("inf"), ".nan": float("nan")}


def _problem(node: yaml.Node, message: str) -> ConstructorError:
    mark: Any = node.start_mark
    return ConstructorError(None, None, message, mark)


_CParser: Any
try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _Loader(Composer, _CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml's parser (scanning in C, several times faster) under PyYAML's composer and safe
        constructor, so that composition can be bounded here."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader  # type: ignore[misc, assignment]


class ConfigLoader(_Loader):
    """``yaml.SafeLoader`` with the bounds, number rules and typed errors of the module docstring.

    Example:
        >>> yaml.load("a: &x [&y [1, 2], *y]\\nb: [*x, *x]", Loader=ConfigLoader)["b"][1]
        [[1, 2], [1, 2]]
        >>> bomb = "&a0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"
        >>> for level in range(1, 6):
        ...     bomb = f"&a{level} [{bomb}" + f", *a{level - 1}" * 9 + "]"
        >>> try:
        ...     yaml.load(bomb, Loader=ConfigLoader)
        ... except yaml.YAMLError as err:
        ...     print(err.problem)
        the document holds more than 20000 nodes (aliases expanded)
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class attribute, replaced
        first: [(tag, pattern) for tag, pattern in resolvers if tag not in _REPLACED]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0
        self._sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        """Compose one node, refusing too deep a nesting and too many nodes with aliases expanded."""
        alias = self.check_event(yaml.AliasEvent)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _problem_at(self.peek_event(), f"nested deeper than {MAX_DEPTH} levels")
            node = cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1
        self._composed += not alias
        if self._composed > MAX_NODES or self._size(node, alias) > MAX_NODES:
            raise _problem(node, f"the document holds more than {MAX_NODES} nodes (aliases expanded)")
        return node

    def _size(self, node: yaml.Node, alias: bool) -> int:
        """How many nodes ``node`` holds with aliases expanded (its children were composed, so counted)."""
        if alias:
            if id(node) not in self._sizes:
                raise _problem(node, "an alias refers to a node that contains it")
            return self._sizes[id(node)]
        if isinstance(node, yaml.SequenceNode):
            size = 1 + sum(self._sizes[id(item)] for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            size = 1 + sum(self._sizes[id(key)] + self._sizes[id(value)] for key, value in node.value)
        else:
            size = 1
        self._sizes[id(node)] = size
        return size

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Construct one node; a malformed value of a known tag becomes a ``ConstructorError`` at the node."""
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise _problem(node, f"cannot read {_shown(node)} as {node.tag.rsplit(':', 1)[-1]}: {exc}") from None

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return super().construct_document(node)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise _problem(node, f"cannot read the document: {type(exc).__name__}: {exc}") from None


def _problem_at(event: Any, message: str) -> ConstructorError:
    return ConstructorError(None, None, message, getattr(event, "start_mark", None))


def _shown(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else f"a {getattr(node, 'id', 'node')}"
    text = repr(value) if isinstance(node, yaml.ScalarNode) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _construct_int(loader: ConfigLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(digits[:2].lower(), 10)
    body = digits[2:] if base != 10 else digits
    if len(body) > MAX_DIGITS:
        raise _problem(node, f"an integer of {len(body)} digits (at most {MAX_DIGITS} are read)")
    try:
        return sign * int(body, base)
    except ValueError:
        raise _problem(node, f"{_shown(node)} is not an integer") from None


def _construct_float(loader: ConfigLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    sign = -1.0 if text.startswith("-") else 1.0
    special = _SPECIAL_FLOATS.get(text.lstrip("+-"))
    if special is not None:
        return sign * special
    try:
        return float(text)
    except ValueError:
        raise _problem(node, f"{_shown(node)} is not a number") from None


def _construct_mapping(loader: ConfigLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    """A mapping whose keys are hashable and, among those written (not merged with ``<<``), unique."""
    seen: dict[Hashable, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise _problem(key_node, f"a key must be a scalar, not a {type(key).__name__}") from None
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise _problem(key_node, f"duplicate key {_shown(key_node)} (first at line {first})")
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


ConfigLoader.add_implicit_resolver(_INT, _CORE_INT, list("-+0123456789"))
ConfigLoader.add_implicit_resolver(_FLOAT, _CORE_FLOAT, list("-+0123456789."))
ConfigLoader.add_constructor(_INT, _construct_int)  # type: ignore[type-var]
ConfigLoader.add_constructor(_FLOAT, _construct_float)  # type: ignore[type-var]
ConfigLoader.add_constructor(BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)  # type: ignore[type-var]


def load_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`ConfigLoader`; raises ``yaml.YAMLError`` on every problem.

    Example:
        >>> load_yaml("steps: [{mfcc: {n_mfcc: 13}}]")
        {'steps': [{'mfcc': {'n_mfcc': 13}}]}
    """
    return yaml.load(text, Loader=ConfigLoader)
