"""``tympan train``: run a training recipe, as one process or under ``torchrun`` (DistributedDataParallel).

Example:
    >>> from click.testing import CliRunner
    >>> "--resume" in CliRunner().invoke(train_command, ["--help"]).output
    True
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tympan.core.errors import TympanError

__all__ = ["train_command"]


@click.command("train")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a recipe value (repeat).")
@click.option("--smoke", is_flag=True, help="Apply the recipe's smoke assignments: a tiny end-to-end run.")
@click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: runs/<recipe name>.")
@click.option("--resume", "resume", is_flag=True, help="Continue from the run's latest checkpoint.")
@click.option("--resume-from", type=click.Path(file_okay=False, path_type=Path), help="Continue from this checkpoint.")
@click.option("--check", is_flag=True, help="Validate the recipe (every name and parameter) and stop.")
def train_command(
    recipe: Path,
    overrides: tuple[str, ...],
    smoke: bool,
    run_dir: Path | None,
    resume: bool,
    resume_from: Path | None,
    check: bool,
) -> None:
    """Train RECIPE (YAML, TOML or JSON). Under torchrun each process runs this command.

    Checkpoints, metrics.jsonl, TensorBoard logs, results.json and model.safetensors go to the run folder.
    Every name and parameter is validated before any data is read; each problem is reported with its place.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(train_command, ["recipes/nonexistent.yaml"]).exit_code
        2
    """
    try:
        if check:
            from tympan.training.recipe import read_recipe
            from tympan.training.resolve import resolve

            plan = resolve(read_recipe(recipe, overrides, smoke)[0], run_dir, str(recipe))
            click.echo(f"{recipe}: ok ({plan.task.name}, model {plan.model.name}, loss {plan.loss.name})")
            return
        from tympan.training.run import train

        results = train(recipe, overrides, smoke=smoke, run_dir=run_dir, resume=resume_from or resume)
    except TympanError as err:
        raise click.ClickException(str(err)) from None
    except KeyboardInterrupt:
        click.echo("interrupted; resume with --resume", err=True)
        sys.exit(130)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one report
        shown = {key: results[key] for key in ("valid", "test", "steps") if results.get(key) is not None}
        click.echo(json.dumps(shown, indent=2, default=float))
