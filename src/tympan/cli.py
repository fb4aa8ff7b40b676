"""The ``tympan`` command: list, inspect and run components, pipelines and plugins; inspect and convert audio.

``tympan --help`` and ``tympan list`` import no torch: each command imports what it needs when it runs.
Plugins add subcommands through the ``tympan_add_commands`` hook. The audio-file commands live in
:mod:`tympan.cli_audio`.

Example:
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["list", "transform", "*mfcc*"])
    >>> "dsp:mfcc" in result.output
    True
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tympan.cli_audio import convert_command, names_files, show_file_info
from tympan.cli_data import data_group
from tympan.cli_export import export_command
from tympan.cli_kaldi import kaldi_command
from tympan.cli_sox import sox_command
from tympan.cli_train import train_command
from tympan.core.errors import TympanError, UnknownNameError
from tympan.core.kinds import KINDS

if TYPE_CHECKING:
    from tympan.pipeline.parallel import RunStats
    from tympan.plugins.datasets.corpus_jobs import MapReport

__all__ = ["cli", "main"]


def _fail(error: BaseException) -> click.ClickException:
    return click.ClickException(str(error))


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tympan", prog_name="tympan")
def cli() -> None:
    """tympan: audio components for PyTorch, by name.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> "Commands:" in CliRunner().invoke(cli, ["--help"]).output
        True
    """


@cli.command("list")
@click.argument("kind_or_pattern", required=False)
@click.argument("pattern", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind_or_pattern: str | None, pattern: str | None, as_json: bool) -> None:
    """List components: [KIND] [PATTERN] (fnmatch on the qualified or bare name).

    KIND is one of backend, transform, effect, dataset, model, loss, decoder. Imports no plugin code.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> "io:soundfile" in CliRunner().invoke(cli, ["list", "backend"]).output
        True
    """
    from tympan import registry

    kind = None
    if kind_or_pattern in KINDS:
        kind = kind_or_pattern
    elif kind_or_pattern is not None:
        if pattern is not None:
            raise click.BadParameter(f"unknown kind {kind_or_pattern!r}; expected one of {', '.join(KINDS)}")
        pattern = kind_or_pattern
    wanted = set(registry.names(kind, pattern or "*"))
    entries = [e for e in registry.entries(kind) if e.name in wanted]
    if as_json:
        _echo_json(
            [{"name": e.name, "kind": e.kind, "distribution": e.distribution, "version": e.version} for e in entries]
        )
        return
    if not entries:
        click.echo("no components match", err=True)
        return
    _table([(e.kind, e.name, e.provider) for e in entries], ("KIND", "NAME", "PROVIDED BY"))


def _file_info(files: tuple[str, ...], kind: str | None, as_json: bool) -> None:
    if kind is not None:
        raise click.UsageError("--kind applies to a component NAME, not to audio files")
    if show_file_info(files, as_json):
        sys.exit(1)


@cli.command("info")
@click.argument("targets", nargs=-1, required=True, metavar="NAME | FILE...")
@click.option("--kind", type=click.Choice(KINDS), help="Narrow the lookup when kinds share a name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info_command(targets: tuple[str, ...], kind: str | None, as_json: bool) -> None:
    """Show a component, or audio files' headers.

    A component: summary, provider, status and parameters. Audio files: format, encoding, rate, channels,
    frames, duration and bits per sample, as a table.

    One NAME spelled like a component (mfcc, dsp:mfcc) is a component; anything with a '.' or '/', or
    several arguments, are audio files; so is a NAME no component has when a file has it. Write ./NAME for
    a file named like a component.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(cli, ["info", "mfcc"]).output.splitlines()[0]
        'dsp:mfcc (transform)'
    """
    if names_files(targets):
        _file_info(targets, kind, as_json)
        return
    from tympan import registry

    name = targets[0]
    try:
        found = registry.info(name, kind)
    except UnknownNameError as err:
        if os.path.isfile(name):  # no component has this name, but a file does
            _file_info(targets, kind, as_json)
            return
        raise _fail(err) from None
    except (TympanError, KeyError) as err:
        raise _fail(err) from None
    if as_json:
        _echo_json(found.__dict__)
        return
    click.echo(f"{found.name} ({found.kind})")
    if found.summary:
        click.echo(f"  {found.summary}")
    click.echo(f"  provided by: {found.distribution or '<runtime>'} {found.version or ''}".rstrip())
    click.echo(f"  target: {found.target}")
    click.echo(f"  status: {found.status}")
    if found.error:
        click.echo(f"  error: {found.error}")
    properties = found.params_schema.get("properties", {})
    required = set(found.params_schema.get("required", []))
    if properties:
        click.echo("  parameters:")
        for field, schema in properties.items():
            default = "required" if field in required else f"default {schema.get('default')!r}"
            bounds = ", ".join(
                f"{k} {schema[k]}"
                for k in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
                if k in schema
            )
            detail = "; ".join(part for part in (default, bounds) if part)
            click.echo(f"    {field}: {schema.get('description', '')} ({detail})")


cli.add_command(convert_command)
cli.add_command(data_group)
cli.add_command(kaldi_command)
cli.add_command(sox_command)
cli.add_command(train_command)
cli.add_command(export_command)


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def plugins_command(as_json: bool) -> None:
    """Show each plugin distribution: version, components, hooks, status and load errors.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(cli, ["plugins"]).output.startswith("tympan ")
        True
    """
    from tympan import registry

    distributions = registry.distributions(load=True)
    if as_json:
        _echo_json(
            [
                {
                    "distribution": d.name,
                    "version": d.version,
                    "status": d.status,
                    "components": [{"name": e.name, "kind": e.kind, "status": e.status} for e in d.components],
                    "hooks": d.hooks,
                    "errors": [str(e.error) for e in d.components if e.error] + d.problems,
                }
                for d in distributions
            ]
        )
        return
    for dist in distributions:
        click.echo(" ".join(part for part in (dist.name, dist.version, f"[{dist.status}]") if part))
        for entry in dist.components:
            click.echo(f"  {entry.kind:<9} {entry.name}  ({entry.status})")
            if entry.error:
                click.echo(f"      {entry.error}")
        for hook in dist.hooks:
            click.echo(f"  hooks     {hook}")
        for problem in dist.problems:
            click.echo(f"  problem   {problem}")


@cli.command("validate")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_command(config: Path) -> None:
    """Check a pipeline configuration (both phases) without running it.
    \f
    Example:
        >>> import pathlib, tempfile
        >>> from click.testing import CliRunner
        >>> config = pathlib.Path(tempfile.mkdtemp()) / "pipe.yaml"
        >>> _ = config.write_text("sample_rate: 16000\\nsteps:\\n  - mfcc: {n_mfcc: 13}\\n")
        >>> "ok, 1 step(s): dsp:mfcc" in CliRunner().invoke(cli, ["validate", str(config)]).output
        True
    """
    from tympan.pipeline import validate_config

    try:
        steps = validate_config(config)
    except TympanError as err:
        raise _fail(err) from None
    click.echo(f"{config}: ok, {len(steps)} step(s): {', '.join(step.name for step in steps)}")


@cli.command("run")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--outdir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--features-format", type=click.Choice(["pt", "npy"]), default="pt", show_default=True)
@click.option("--audio-format", default="wav", show_default=True, help="Format of audio outputs.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1, 256), help="Worker processes.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default=None, help="Write shards with this engine.")
@click.option("--shards", type=click.IntRange(1, 1_000_000), default=None, help="Write OUTDIR as N WebDataset shards.")
@click.option("--ray-address", default=None, help="The Ray cluster (default: RAY_ADDRESS, else a local one).")
def run_command(
    config: Path,
    inputs: tuple[Path, ...],
    outdir: Path,
    features_format: str,
    audio_format: str,
    jobs: int,
    engine: str | None,
    shards: int | None,
    ray_address: str | None,
) -> None:
    """Apply a pipeline to audio files: audio out for waveform outputs, .pt/.npy for features.

    A failed file is reported on its own line and the others go on; the exit status is 1 if any failed.
    --jobs N processes files on N processes (one thread each). --shards N or --engine writes WebDataset
    shards instead (tympan.data.map_corpus), on a process pool (local) or as a Ray Data job (ray);
    -o ark,scp:FEATS.ark,FEATS.scp writes features to Kaldi archives the same way.
    \f
    Example:
        >>> import pathlib, tempfile, tympan
        >>> from click.testing import CliRunner
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "pipe.yaml").write_text("steps:\\n  - mfcc: {n_mfcc: 13}\\n")
        >>> args = ["run", str(folder / "pipe.yaml"), str(tympan.assets.path("speech")), "-o", str(folder / "out")]
        >>> CliRunner().invoke(cli, args).exit_code, sorted(p.name for p in (folder / "out").iterdir())
        (0, ['speech.pt'])
    """
    if engine is not None or shards is not None or str(outdir).startswith("ark,scp"):
        _run_sharded(config, inputs, outdir, engine or "local", shards, jobs, ray_address)
        return
    if jobs > 1:
        _run_parallel(config, inputs, outdir, jobs, features_format=features_format, audio_format=audio_format)
        return
    from tympan.pipeline.apply import FileRunner
    from tympan.pipeline.parallel import RunStats

    try:
        runner = FileRunner(config, outdir, features_format=features_format, audio_format=audio_format, inputs=inputs)
    except TympanError as err:
        raise _fail(err) from None
    failures, audio_seconds, started = [], 0.0, time.perf_counter()
    with click.progressbar(inputs, label="processing", file=sys.stderr, show_pos=True) as bar:
        for source in bar:
            result = runner.run(source)
            audio_seconds += result.audio_seconds
            if not result.ok:
                failures.append((str(result.source), str(result.error)))
    throughput = _throughput(RunStats(audio_seconds, time.perf_counter() - started))
    _finish(failures, len(inputs) - len(failures), len(inputs), outdir, throughput)


def _finish(
    failures: list[tuple[str, str]], written: int, total: int, where: Path, speed: str, noun: str = "file(s)"
) -> None:
    for source, error in failures:
        click.echo(f"error: {source}: {error}", err=True)
    click.echo(f"{written} of {total} {noun} written to {where}{speed}", err=True)
    if failures:
        sys.exit(1)


def _run_parallel(config: Path, inputs: tuple[Path, ...], outdir: Path, jobs: int, **options: Any) -> None:
    from tympan.pipeline.parallel import run_files

    try:
        results, stats = run_files(config, inputs, outdir, jobs=jobs, **options)
    except (TympanError, FileExistsError) as err:
        raise _fail(err) from None
    failures = [(str(r.source), str(r.error)) for r in results if not r.ok]
    throughput = _throughput(stats)
    _finish(failures, len(results) - len(failures), len(results), outdir, throughput)


def _throughput(stats: RunStats | MapReport) -> str:
    """A run's audio throughput, as the end of its summary line."""
    return f" ({stats.audio_seconds:.1f} s of audio in {stats.seconds:.1f} s: {stats.speed:.1f} audio-s/s)"


def _run_sharded(
    config: Path,
    inputs: tuple[Path, ...],
    outdir: Path,
    engine: str,
    shards: int | None,
    jobs: int,
    address: str | None,
) -> None:
    from tympan.plugins.datasets.corpus_jobs import map_corpus

    try:
        report = map_corpus(list(inputs), config, outdir, engine=engine, shards=shards, jobs=jobs, ray_address=address)  # type: ignore[arg-type]
    except (TympanError, ValueError) as err:
        raise _fail(err) from None
    throughput = _throughput(report)
    _finish(report.failures, report.written, len(inputs), outdir, throughput, "item(s)")


@cli.command("schema")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.option("--recipe", is_flag=True, help="The schema of training recipes instead.")
def schema_command(output: Path | None, recipe: bool) -> None:
    """Print the JSON Schema of pipeline configurations (or --recipe: of training recipes) for every installed
    component.
    \f
    Example:
        >>> import json
        >>> from click.testing import CliRunner
        >>> json.loads(CliRunner().invoke(cli, ["schema"]).output)["title"]
        'tympan pipeline'
    """
    from tympan.core.files import atomic_write
    from tympan.pipeline import pipeline_schema

    schema = pipeline_schema()
    if recipe:
        from tympan.training.schema import recipe_schema

        schema = recipe_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    with atomic_write(output) as handle:
        handle.write(text.encode())
    click.echo(f"wrote {output}", err=True)


@cli.command("doctor")
def doctor_command() -> None:
    """Check the environment: torch, libsndfile, PyAV, the sox binary, a GPU, Triton, and plugins' checks.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(cli, ["doctor"]).output.splitlines()[0].startswith("[ok] python:")
        True
    """
    from tympan.registry.hooks import doctor, hook_load_errors

    for check in doctor():
        click.echo(check.line())
    for module, error in hook_load_errors().items():
        click.echo(f"[error] hook module {module.module} ({module.provider}): {error}")


def _with_plugin_commands() -> click.Group:
    from tympan.registry.hooks import add_commands

    add_commands(cli)
    return cli


def main(argv: list[str] | None = None) -> None:
    """Run the ``tympan`` command (the console-script entry point); exits with its status.

    Example (a shell)::

        $ tympan list backend
        KIND     NAME          PROVIDED BY
        backend  io:soundfile  tympan 0.1.0
    """
    try:
        group = _with_plugin_commands()
        group.main(args=argv, prog_name="tympan")
    except TympanError as err:  # strict plugin loading, a bad TYMPAN_* setting: a message, not a traceback
        click.echo(f"Error: {err}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
