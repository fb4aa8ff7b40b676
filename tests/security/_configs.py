"""Crafted pipeline configurations: alias bombs, deep nesting, huge numbers, bad tags and timestamps,
unhashable keys, empty or non-mapping documents, and values YAML 1.1 or lax coercion would misread.

Every one must end in :class:`~tympan.core.errors.PipelineConfigError`, quickly and with a bounded message,
read as text (``Pipeline.from_text``) or from a file (``validate_config``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from _harness import Attack

FAMILY = "configs"
SUFFIX = {"yaml": ".yaml", "json": ".json", "toml": ".toml"}


def _wrap(value: str) -> str:
    """A YAML pipeline whose mfcc step's ``n_mfcc`` is ``value``."""
    return f"version: 1\nsample_rate: 16000\nsteps:\n  - mfcc: {{n_mfcc: {value}}}\n"


def alias_bomb(levels: int, width: int, where: str = "value") -> str:
    """An inline anchor of ``levels`` nested lists, each holding ``width`` aliases of the one inside it
    (about ``width ** levels`` nodes when expanded, in a few hundred bytes)."""
    bomb = "&a0 [x, x, x, x, x, x, x, x, x]"
    for level in range(1, levels + 1):
        bomb = f"&a{level} [{bomb}" + f", *a{level - 1}" * (width - 1) + "]"
    if where == "value":
        return _wrap(bomb)
    if where == "steps":
        return f"steps: {bomb}\n"
    return f"steps:\n  - lfilter: {{a_coeffs: {bomb}, b_coeffs: *a{levels}}}\n"


def nested(format: str, depth: int, kind: str = "list") -> str:
    """A parameter value nested ``depth`` levels deep (lists or mappings)."""
    if format == "json":
        inner = "[" * depth + "1" + "]" * depth if kind == "list" else '{"a": ' * depth + "1" + "}" * depth
        return f'{{"steps": [{{"mfcc": {{"n_mfcc": {inner}}}}}]}}'
    if format == "toml":
        inner = "[" * depth + "1" + "]" * depth if kind == "list" else "{a = " * depth + "1" + "}" * depth
        return f"[[steps]]\nmfcc = {{n_mfcc = {inner}}}\n"
    inner = "[" * depth + "1" + "]" * depth if kind == "list" else "{a: " * depth + "1" + "}" * depth
    return _wrap(inner)


def block_nested(depth: int) -> str:
    """Block-style YAML mappings nested ``depth`` levels deep."""
    lines = ["steps:", "  - mfcc:", "      n_mfcc:"]
    lines += [" " * (8 + 2 * level) + "a:" for level in range(depth)]
    return "\n".join(lines) + " 1\n"


def huge_integer(format: str, digits: int, sign: str = "") -> str:
    number = sign + "9" * digits
    if format == "json":
        return f'{{"steps": [{{"mfcc": {{"n_mfcc": {number}}}}}]}}'
    if format == "toml":
        return f"[[steps]]\nmfcc = {{n_mfcc = {number}}}\n"
    return _wrap(number)


#: Integers of thousands of digits in each base YAML 1.1 reads (read plainly and under ``!!int``).
HUGE_INTEGERS = {
    "decimal": "7" * 6000,
    "hex": "0x" + "f" * 6000,
    "binary": "0b" + "1" * 30000,
    "octal": "0" + "7" * 8000,
}

YAML_VALUES = {
    # bad timestamps (they match YAML 1.1's timestamp pattern)
    "timestamp-month-13": "2001-13-01",
    "timestamp-feb-30": "2001-02-30",
    "timestamp-hour-99": "2001-12-14 99:59:43",
    "timestamp-zone-99": "2001-12-14t21:59:43.10-99:99",
    "timestamp-year-0": "0000-01-01",
    "timestamp-day-0": "2001-01-00",
    "timestamp-tagged-text": "!!timestamp tomorrow",
    # good timestamps are not numbers
    "timestamp-valid": "2001-12-14",
    "timestamp-valid-time": "2001-12-14T21:59:43.10Z",
    # explicit tags
    "int-tag-text": "!!int abc",
    "int-tag-empty": "!!int ''",
    "int-tag-octal-text": "!!int 0o9",
    "int-tag-binary-text": "!!int 0b2",
    "int-tag-hex-text": "!!int 0xg",
    "int-tag-sexagesimal": "!!int 1:2:x",
    "float-tag-text": "!!float abc",
    "float-tag-empty": "!!float ''",
    "bool-tag-text": "!!bool maybe",
    "binary-tag-bad": "!!binary '###'",
    "binary-tag": "!!binary aGVsbG8=",
    "null-tag-text": "!!null nope",
    "set-tag": "!!set {a, b}",
    "omap-tag-scalar": "!!omap 5",
    "omap-tag-bad": "!!omap [1, 2]",
    "pairs-tag-bad": "!!pairs [1]",
    "python-object": "!!python/object:os.system [echo]",
    "python-name": "!!python/name:os.system",
    "python-apply": "!!python/object/apply:os.system [echo hi]",
    "local-tag": "!custom 5",
    "verbatim-tag": "!<tag:example.com,2000:x> 5",
    # lax or YAML 1.1 readings a strict parameter must refuse
    "sexagesimal": "8:32",
    "sexagesimal-float": "1:30.5",
    "sexagesimal-huge": "1" + ":59" * 3000,
    "quoted-number": "'13'",
    "bool-true": "true",
    "bool-yes": "yes",
    "float-fraction": "13.5",
    "float-nan": ".nan",
    "float-inf": ".inf",
    "float-huge-text": "1" * 5000 + ".0",
    "float-exponent": "1e99999",
    "underscore-huge": "1" + "_0" * 5000,
    "list": "[13]",
    "mapping": "{a: 13}",
    "string": "thirteen",
    "empty-string": "''",
    "null": "null",
    **{f"int-tag-huge-{base}": "!!int " + digits for base, digits in HUGE_INTEGERS.items()},
    **{f"{base}-huge": digits for base, digits in HUGE_INTEGERS.items()},
}

YAML_DOCUMENTS = {
    "empty": "",
    "whitespace": "   \n\t\n",
    "comment-only": "# nothing here\n",
    "document-marker": "---\n",
    "document-end": "...\n",
    "null-root": "null\n",
    "tilde-root": "~\n",
    "scalar-root": "13\n",
    "string-root": "hello\n",
    "list-root": "- mfcc: {}\n",
    "two-documents": "steps: [{mfcc: {}}]\n---\nsteps: [{mfcc: {}}]\n",
    "unhashable-list-key": "? [a, b]\n: 1\nsteps: [{mfcc: {}}]\n",
    "unhashable-map-key": "? {a: 1}\n: 1\nsteps: [{mfcc: {}}]\n",
    "unhashable-flow-key": "{[1, 2]: 3, steps: [{mfcc: {}}]}\n",
    "unhashable-step-key": "steps:\n  - ? [mfcc]\n    : {}\n",
    "unhashable-param-key": "steps:\n  - mfcc: {? [n_mfcc] : 13}\n",
    "unhashable-set-member": "steps: [{mfcc: {n_mfcc: !!set {? [1] }}}]\n",
    "integer-keys": "1: 2\nsteps: [{mfcc: {}}]\n",
    "null-key": "~: 2\nsteps: [{mfcc: {}}]\n",
    "bool-param-key": "steps: [{mfcc: {true: 13}}]\n",
    "int-param-key": "steps: [{mfcc: {13: 13}}]\n",
    "duplicate-keys": "steps: [{mfcc: {}}]\nsteps: [{mfcc: {}}]\n",
    "merge-scalar": "base: &b {n_mfcc: 13}\nsteps: [{mfcc: {<<: 5}}]\n",
    "merge-list-of-scalars": "steps: [{mfcc: {<<: [1, 2]}}]\n",
    "merge-unhashable": "steps: [{mfcc: {<<: {? [1] : 2}}}]\n",
    "recursive-anchor-list": "steps: &s [*s]\n",
    "recursive-anchor-map": "steps: [{mfcc: &m {n_mfcc: *m}}]\n",
    "undefined-alias": "steps: [{mfcc: {n_mfcc: *nothing}}]\n",
    "tab-indent": "steps:\n\t- mfcc: {}\n",
    "binary-garbage": "\x00\x01\x02\xff\xfe",
    "control-characters": "steps: [{mfcc: {n_mfcc: \x07}}]\n",
    "bom-in-middle": "steps: [{mfcc: \ufeff{}}]\n",
    "unterminated-flow": "steps: [{mfcc: {n_mfcc: 13",
    "unterminated-quote": "steps: [{mfcc: {window_fn: 'hann}}]\n",
    "long-key": "x" * 100000 + ": 1\nsteps: [{mfcc: {}}]\n",
    "many-unknown-fields": "".join(f"k{i}: {i}\n" for i in range(5000)) + "steps: [{mfcc: {}}]\n",
    "many-bad-steps": "steps:\n" + "".join(f"  - nothing{i}: {{}}\n" for i in range(3000)),
    "many-bad-params": "steps: [{mfcc: {" + ", ".join(f"p{i}: {i}" for i in range(5000)) + "}}]\n",
    "huge-string-value": "steps: [{mfcc: {n_mfcc: '" + "a" * 2_000_000 + "'}}]\n",
    "huge-list-value": "steps: [{mfcc: {n_mfcc: [" + ", ".join(["1"] * 200_000) + "]}}]\n",
    "step-not-mapping": "steps: [mfcc]\n",
    "steps-mapping": "steps: {mfcc: {}}\n",
    "version-2": "version: 2\nsteps: [{mfcc: {}}]\n",
    "version-huge": "version: " + "1" * 5000 + "\nsteps: [{mfcc: {}}]\n",
    "sample-rate-huge": "sample_rate: " + "1" * 5000 + "\nsteps: [{mfcc: {}}]\n",
    "sample-rate-bool": "sample_rate: true\nsteps: [{mfcc: {}}]\n",
    "sample-rate-float": "sample_rate: 16000.5\nsteps: [{mfcc: {}}]\n",
    "sample-rate-string": "sample_rate: '16000'\nsteps: [{mfcc: {}}]\n",
    "sample-rate-sexagesimal": "sample_rate: 4:26:40\nsteps: [{mfcc: {}}]\n",
    "dotted-name": "steps: [{os.system: {}}]\n",
    "path-name": "steps: [{/bin/sh: {}}]\n",
}

JSON_DOCUMENTS = {
    "empty": "",
    "null": "null",
    "list-root": "[]",
    "huge-int": huge_integer("json", 5000),
    "huge-negative-int": huge_integer("json", 5000, "-"),
    "huge-float": '{"steps": [{"mfcc": {"n_mfcc": 1e999999}}]}',
    "nan": '{"steps": [{"mfcc": {"n_mfcc": NaN}}]}',
    "infinity": '{"steps": [{"mfcc": {"n_mfcc": Infinity}}]}',
    "bool": '{"steps": [{"mfcc": {"n_mfcc": true}}]}',
    "string-number": '{"steps": [{"mfcc": {"n_mfcc": "13"}}]}',
    "duplicate": '{"steps": [], "steps": []}',
    "lone-surrogate": '{"steps": [{"mfcc": {"window_fn": "\\ud800"}}]}',
    "trailing-garbage": '{"steps": []} x',
    "binary": "\x00\xff",
    "huge-string": '{"steps": [{"mfcc": {"n_mfcc": "' + "a" * 2_000_000 + '"}}]}',
}

TOML_DOCUMENTS = {
    "empty": "",
    "huge-int": huge_integer("toml", 5000),
    "huge-negative-int": huge_integer("toml", 5000, "-"),
    "huge-hex": "[[steps]]\nmfcc = {n_mfcc = 0x" + "f" * 6000 + "}\n",
    "huge-float": "[[steps]]\nmfcc = {n_mfcc = 1e999999}\n",
    "nan": "[[steps]]\nmfcc = {n_mfcc = nan}\n",
    "datetime": "[[steps]]\nmfcc = {n_mfcc = 1979-05-27T07:32:00Z}\n",
    "bad-datetime": "[[steps]]\nmfcc = {n_mfcc = 1979-13-27T07:32:00Z}\n",
    "bad-date": "[[steps]]\nmfcc = {n_mfcc = 1979-02-30}\n",
    "duplicate": "steps = []\nsteps = []\n",
    "bool": "[[steps]]\nmfcc = {n_mfcc = true}\n",
    "steps-table": "[steps]\nmfcc = 1\n",
}


def _text_attack(name: str, text: str, format: str, seconds: float = 5.0) -> Iterator[Attack]:
    from tympan.core.errors import PipelineConfigError

    def from_text(scratch: Path) -> None:
        from tympan import Pipeline

        Pipeline.from_text(text, format)

    def from_file(scratch: Path) -> None:
        from tympan.pipeline import validate_config

        path = scratch / f"pipe{SUFFIX[format]}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        validate_config(path)

    yield Attack(FAMILY, f"{format}-{name}-text", from_text, error=PipelineConfigError, seconds=seconds)
    yield Attack(FAMILY, f"{format}-{name}-file", from_file, error=PipelineConfigError, seconds=seconds)


def attacks() -> Iterator[Attack]:
    """Every crafted configuration, as text and as a file."""
    for levels in (3, 5, 7, 8, 9):
        yield from _text_attack(f"alias-bomb-{levels}x9", alias_bomb(levels, 9), "yaml")
    yield from _text_attack("alias-bomb-steps", alias_bomb(8, 9, "steps"), "yaml")
    yield from _text_attack("alias-bomb-coefficients", alias_bomb(7, 9, "coeffs"), "yaml")
    yield from _text_attack("alias-bomb-wide", alias_bomb(3, 400), "yaml")
    for format in ("yaml", "json", "toml"):
        for depth in (200, 2000, 50000):
            yield from _text_attack(f"nested-list-{depth}", nested(format, depth), format)
            yield from _text_attack(f"nested-map-{depth}", nested(format, depth, "map"), format)
    yield from _text_attack("block-nested-3000", block_nested(3000), "yaml")
    for digits in (5000, 50000):
        for format in ("yaml", "json", "toml"):
            yield from _text_attack(f"integer-{digits}-digits", huge_integer(format, digits), format)
    for name, value in YAML_VALUES.items():
        yield from _text_attack(f"value-{name}", _wrap(value), "yaml")
    for name, text in YAML_DOCUMENTS.items():
        yield from _text_attack(name, text, "yaml")
    for name, text in JSON_DOCUMENTS.items():
        yield from _text_attack(name, text, "json")
    for name, text in TOML_DOCUMENTS.items():
        yield from _text_attack(name, text, "toml")
