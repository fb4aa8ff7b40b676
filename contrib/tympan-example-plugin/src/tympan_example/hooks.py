"""Hook implementations of the example plugin: a ``tympan doctor`` check and a ``tympan tremolo`` command.

This module imports no torch, so ``tympan --help`` stays fast.

Example:
    >>> [check.name for check in tympan_doctor()]
    ['example plugin']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tympan.core.diagnostics import Check
from tympan.registry.hookspecs import hookimpl

__all__ = ["tympan_add_commands", "tympan_doctor"]


@hookimpl
def tympan_doctor() -> list[Check]:
    """Report that the example plugin is installed."""
    from tympan_example import __version__

    return [Check("example plugin", True, f"tympan-example-plugin {__version__}")]


@click.command("tremolo")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--frequency", type=float, default=5.0, show_default=True, help="Modulation frequency in Hz.")
@click.option("--depth", type=float, default=0.5, show_default=True, help="Modulation depth, 0..1.")
def tremolo_command(source: Path, destination: Path, frequency: float, depth: float) -> None:
    """Apply the example tremolo effect to an audio file."""
    import tympan
    from tympan import registry
    from tympan.core.errors import TympanError

    try:
        waveform, rate = tympan.load(source)
        effect = registry.create("example:tremolo", sample_rate=rate, frequency=frequency, depth=depth)
        tympan.save(destination, effect(waveform), rate)
    except TympanError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"wrote {destination}")


@hookimpl
def tympan_add_commands(cli: Any) -> None:
    """Add ``tympan tremolo``."""
    cli.add_command(tremolo_command)
