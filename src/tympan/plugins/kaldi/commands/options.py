"""Kaldi's command-line conventions on click: ``--name=value`` options, ``--config=FILE``, true/false flags.

- ``--config=conf/fbank.conf`` reads options from a file (one ``--name=value`` per line, ``#`` comments),
  placed before the command line so that the command line overrides them, as Kaldi does.
- Option names may use ``_`` or ``-`` (``--num_mel_bins`` is ``--num-mel-bins``), as in Kaldi.
- Boolean options take ``=true`` / ``=false`` or stand alone (``--compress`` is ``--compress=true``).
- ``--verbose=N`` and ``--print-args`` are accepted and ignored.

Example:
    >>> import click
    >>> from click.testing import CliRunner
    >>> @click.command(cls=KaldiCommand)
    ... @kaldi_option("--num-mel-bins", int, 23, "Number of triangular mel bins.")
    ... @kaldi_option("--snip-edges", bool, True, "Only frames that fit in the signal.")
    ... def show(num_mel_bins, snip_edges):
    ...     click.echo(f"{num_mel_bins} {snip_edges}")
    >>> CliRunner().invoke(show, ["--num_mel_bins=80", "--snip-edges=false"]).output
    '80 False\\n'
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["KaldiCommand", "expand_config", "kaldi_option", "option_value_given"]

_IGNORED = ("--verbose", "--print-args")


def expand_config(args: list[str]) -> list[str]:
    """``args`` with every ``--config=FILE`` replaced by the options in FILE (first), ``_`` read as ``-``.

    Example:
        >>> import pathlib, tempfile
        >>> conf = pathlib.Path(tempfile.mkdtemp()) / "fbank.conf"
        >>> _ = conf.write_text("# 80 bins\\n--num-mel-bins=80  # comment\\n--dither=0\\n")
        >>> expand_config([f"--config={conf}", "--dither=1", "scp:wav.scp"])
        ['--num-mel-bins=80', '--dither=0', '--dither=1', 'scp:wav.scp']
    """
    configured: list[str] = []
    given: list[str] = []
    for arg in args:
        if arg.startswith("--config="):
            configured += _config_lines(arg.split("=", 1)[1])
        elif arg.startswith("--") and arg.split("=", 1)[0] in _IGNORED:
            continue
        else:
            given.append(_normalise(arg))
    return [_normalise(arg) for arg in configured] + given


def _config_lines(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise click.BadParameter(f"cannot read config file {path}: {error.strerror}", param_hint="--config") from None
    options = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if not line.startswith("--"):
            raise click.BadParameter(f"{path}:{number}: expected '--name=value', found {raw!r}", param_hint="--config")
        options += shlex.split(line)
    return options


def _normalise(arg: str) -> str:
    if not arg.startswith("--"):
        return arg
    name, equals, value = arg.partition("=")
    return name.replace("_", "-") + equals + value


class KaldiCommand(click.Command):
    """A click command that parses Kaldi's way (see the module): ``--config`` expanded, ``_`` read as ``-``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expand_config(list(args)))


def kaldi_option(name: str, kind: type, default: Any, help: str) -> Callable[[Callable[..., Any]], Any]:
    """A ``--name=value`` option with Kaldi's default; a ``bool`` also stands alone for true.

    Example:
        >>> callable(kaldi_option("--dither", float, 1.0, "Dithering constant."))
        True
    """
    if kind is bool:
        return click.option(name, type=click.BOOL, default=default, is_flag=False, flag_value=True, help=help)
    return click.option(name, type=kind, default=default, show_default=True, help=help)


def option_value_given(ctx: click.Context, name: str) -> bool:
    """Whether the user set the parameter ``name`` (on the command line or in a config file)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT
