"""The ``tympan data`` commands: list corpora, show one, download one safely, verify its archives.

Example:
    >>> from click.testing import CliRunner
    >>> "data:librispeech" in CliRunner().invoke(data_group, ["list"]).output
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tympan.cli_synth import synth_command
from tympan.core.errors import TympanError

__all__ = ["data_group"]


def _corpus_class(name: str) -> Any:
    from tympan import registry

    try:
        return registry.get(name if ":" in name else f"data:{name}", kind="dataset")
    except (TympanError, KeyError) as err:
        raise click.ClickException(str(err)) from None


@click.group("data")
def data_group() -> None:
    """Corpora: list them, show one, download one (verified, safely extracted), verify archives."""


@data_group.command("list")
def list_corpora() -> None:
    """List the corpora (imports none of them).
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> "data:yesno" in CliRunner().invoke(data_group, ["list"]).output
        True
    """
    from tympan import registry

    for name in registry.names("dataset"):
        click.echo(name)


@data_group.command("info")
@click.argument("name")
def info_corpus(name: str) -> None:
    """Show a corpus: layout, subsets, archives and checksums, homepage and licence.
    \f
    Example:
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(data_group, ["info", "yesno"]).output.splitlines()[0]
        'data:yesno'
    """
    corpus = _corpus_class(name)
    click.echo(getattr(corpus, "qualified_name", name))
    click.echo(f"  {(corpus.__doc__ or '').strip().splitlines()[0]}")
    click.echo(f"  layout: {getattr(corpus, 'layout', '')}")
    subsets = [str(s) for s in getattr(corpus, "subsets", ())]
    if subsets:
        click.echo(f"  subsets: {', '.join(subsets)} (default {getattr(corpus, 'default_subset', None)})")
    for key, resources in getattr(corpus, "resources", {}).items():
        for resource in resources:
            digest = (
                f"sha256 {resource.sha256}"
                if resource.sha256
                else (f"md5 {resource.md5}" if resource.md5 else "no checksum")
            )
            click.echo(f"  archive{f' [{key}]' if key else ''}: {resource.url} ({digest})")
    if not getattr(corpus, "resources", {}):
        click.echo("  archives: none published for download; place the corpus under ROOT by hand")
    click.echo(f"  homepage: {getattr(corpus, 'homepage', '')}")
    click.echo(f"  licence: {getattr(corpus, 'license', '')}")


@data_group.command("download")
@click.argument("name")
@click.option("--root", required=True, type=click.Path(file_okay=False, path_type=Path), help="The corpus root.")
@click.option("--subset", default=None, help="The subset (see tympan data info NAME).")
def download_corpus(name: str, root: Path, subset: str | None) -> None:
    """Download, verify and extract a corpus subset into ROOT (resumable; safe to re-run)."""
    corpus = _corpus_class(name)
    try:
        dataset = corpus(root, subset=subset, download=True) if subset else corpus(root, download=True)
    except (TympanError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{corpus.qualified_name}: {len(dataset)} item(s) under {root}")


@data_group.command("verify")
@click.argument("name")
@click.option("--root", required=True, type=click.Path(file_okay=False, path_type=Path), help="The corpus root.")
def verify_corpus(name: str, root: Path) -> None:
    """Check the checksums of the corpus's archives found in ROOT; exit 1 if any differs.
    \f
    Example:
        >>> import tempfile
        >>> from click.testing import CliRunner
        >>> CliRunner().invoke(data_group, ["verify", "yesno", "--root", tempfile.mkdtemp()]).output
        'absent: waves_yesno.tar.gz\\n'
    """
    from tympan.plugins.datasets.downloader import verify_file

    corpus = _corpus_class(name)
    bad = 0
    for resources in getattr(corpus, "resources", {}).values():
        for resource in resources:
            path = root / resource.filename
            if not path.is_file():
                click.echo(f"absent: {resource.filename}")
                continue
            try:
                verify_file(path, resource.sha256, resource.md5)
                click.echo(f"ok: {resource.filename}")
            except TympanError as err:
                bad += 1
                click.echo(f"FAILED: {err}")
    if bad:
        raise SystemExit(1)


data_group.add_command(synth_command)
