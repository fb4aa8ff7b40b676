"""What every ``tympan kaldi`` command shares: table detection, progress bars, errors, the ``--device`` option.

Example:
    >>> is_table("scp:feats.scp"), is_table("ark,t:-"), is_table("feats.mat")
    (True, True, False)
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import click

from tympan.core.errors import TympanError

__all__ = ["count_entries", "device_option", "fail_cleanly", "is_table", "progress", "summary"]

Item = TypeVar("Item")
_TABLE = re.compile(r"^[a-z]+(,[a-z]+)*:")


def is_table(argument: str) -> bool:
    """Whether ``argument`` is an rspecifier/wspecifier (``ark:``, ``scp:``, ``ark,t:`` ...), as Kaldi decides."""
    match = _TABLE.match(argument)
    return match is not None and bool({"ark", "scp"} & set(match.group(0)[:-1].split(",")))


def count_entries(rspecifier: str) -> int | None:
    """The number of entries of an ``scp:`` file (its lines), for a progress bar; ``None`` when unknown."""
    head, _, path = rspecifier.partition(":")
    if "scp" not in head.split(",") or path in ("-", "") or path.rstrip().endswith("|"):
        return None
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


@contextlib.contextmanager
def progress(items: Iterable[Item], label: str, length: int | None = None) -> Iterator[Iterable[Item]]:
    """A progress bar on standard error over ``items`` (``length`` when known)."""
    with click.progressbar(items, length=length, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar


def summary(message: str) -> None:
    """A closing line on standard error, as Kaldi's ``LOG`` lines."""
    click.echo(message, err=True)


def fail_cleanly(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn tympan's errors (and missing files) into a one-line ``Error:`` and exit status 1."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (TympanError, OSError) as error:
            raise click.ClickException(str(error)) from None

    return run


def device_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--device`` option: where features are computed (``cpu``, ``cuda``, ``cuda:1``)."""
    return click.option("--device", default="cpu", show_default=True, help="Torch device to compute on.")(command)
