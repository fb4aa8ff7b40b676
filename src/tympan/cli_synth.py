"""``tympan data synth``: write speech corpora with espeak-ng in the layouts of LibriSpeech, LibriTTS,
Speech Commands and LibriMix (:func:`tympan.plugins.datasets.synth.synthesize`).

Example:
    >>> from click.testing import CliRunner
    >>> "--preset" in CliRunner().invoke(synth_command, ["--help"]).output
    True
"""

from __future__ import annotations

from pathlib import Path

import click

from tympan.core.errors import TympanError

__all__ = ["synth_command"]

_CORPORA = ("librispeech", "libritts", "speech_commands", "librimix", "wsj0mix")


@click.command("synth")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--corpus",
    "corpora",
    multiple=True,
    type=click.Choice(_CORPORA),
    help="A corpus to write (repeat; default: librispeech, speech_commands and librimix).",
)
@click.option("--preset", type=click.Choice(["mini", "default"]), default="default", show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=0, show_default=True)
@click.option("--train-voices", type=int, help="Training speakers (overrides the preset).")
@click.option("--test-voices", type=int, help="Held-out speakers, half dev and half test.")
@click.option("--utterances", type=int, help="Sentences per speaker (LibriSpeech, LibriTTS).")
@click.option("--keyword-takes", type=int, help="Takes of each keyword per speaker (Speech Commands).")
@click.option("--mixtures", type=int, help="Mixtures per speaker of a subset (LibriMix, WSJ0-2mix).")
@click.option("--words", type=click.Path(exists=True, dir_okay=False), help="YAML word list: slot -> words.")
@click.option("--templates", type=click.Path(exists=True, dir_okay=False), help="Sentence templates, one a line.")
@click.option("--jobs", type=click.IntRange(1, 256), default=2, show_default=True, help="Synthesis threads.")
@click.option("--overwrite", is_flag=True, help="Replace corpora already under ROOT.")
def synth_command(
    root: Path,
    corpora: tuple[str, ...],
    preset: str,
    seed: int,
    words: str | None,
    templates: str | None,
    jobs: int,
    overwrite: bool,
    **sizes: int | None,
) -> None:
    """Write speech corpora under ROOT with espeak-ng voices (held-out voices in the dev and test subsets).

    The corpora load as data:librispeech, data:libritts, data:speech_commands and data:librimix with
    root=ROOT, and data:wsj0mix with root=ROOT/wsj0-mix/2speakers/wav8k/min/<tr|cv|tt>. The same options
    give the same files.
    """
    from tympan.plugins.datasets.synth import PRESETS, synthesize

    chosen = {**PRESETS[preset], **{key: value for key, value in sizes.items() if value is not None}}
    try:
        report = synthesize(
            root,
            list(corpora or ("librispeech", "speech_commands", "librimix")),
            seed=seed,
            words=words,
            templates=templates,
            jobs=jobs,
            overwrite=overwrite,
            **chosen,
        )
    except (TympanError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    for name, count in report.files.items():
        click.echo(f"{name}: {count} file(s), {report.seconds[name] / 60:.1f} min of audio under {root}")
