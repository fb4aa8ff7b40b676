"""``tympan sox ...``: the ``sox`` program's command line, run by the SoX plugin (imported when it runs).

Example:
    >>> from click.testing import CliRunner
    >>> "null file" in CliRunner().invoke(sox_command, ["--help"]).output
    True
"""

from __future__ import annotations

import sys

import click

__all__ = ["sox_command"]

_HELP = """Apply SoX effects to audio files, as the sox program does.

\b
tympan sox [GLOBAL-OPTIONS] [FORMAT-OPTIONS] INPUT... [FORMAT-OPTIONS] OUTPUT [EFFECT [OPTION]...]...
tympan sox --batch [FORMAT-OPTIONS] IN_DIR [FORMAT-OPTIONS] OUT_DIR [EFFECT [OPTION]...]...

\b
Format options (before the file they describe):
  -r RATE    sample rate (an output at another rate gets a rate effect)
  -c N       channels (an output with other channels gets a channels effect)
  -b BITS    bits per sample of the output
  -e ENC     signed-integer, unsigned-integer, floating-point, a-law, u-law
  -t TYPE    file type (wav, flac, ogg, ...): for '-' (standard input/output)
  -v FACTOR  input volume
Files: -n is the null file (input: silence as long as 'synth LENGTH' makes it; output: nothing
written, for stat, stats and noiseprof, whose reports go to standard error / output).
\b
Global options:
  --combine concatenate|mix|mix-power|merge|multiply  (-m mix, -M merge, -T multiply)
  -D, --no-dither  no automatic dither when the output holds fewer bits
  --norm           normalise the output to 0 dBFS
  -q               no progress bar (--batch)
  --device DEVICE  run the effects there (cuda, cuda:1, ...)
  --batch          apply the chain to every audio file under IN_DIR, writing OUT_DIR

Effects take SoX's options (see the SoX plugin's documentation).
"""


@click.command(
    "sox",
    help=_HELP,
    options_metavar="",
    short_help="Apply SoX effects to audio files, with the sox program's command line.",
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": ["--help"],
    },
)
@click.argument("argv", nargs=-1, type=click.UNPROCESSED, metavar="[OPTIONS] INPUT... OUTPUT [EFFECT...]")
def sox_command(argv: tuple[str, ...]) -> None:
    """Run the sox-compatible command line; an error is one ``Error:`` line, status 1 (2 for usage)."""
    from tympan.core.errors import TympanError
    from tympan.plugins.sox.command import run

    if not argv:
        raise click.UsageError("expected INPUT... OUTPUT [EFFECT...]; see tympan sox --help")
    try:
        status = run(argv)
    except (TympanError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    sys.exit(status)
