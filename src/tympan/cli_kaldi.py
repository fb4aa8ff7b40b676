"""``tympan kaldi ...``: Kaldi's programs with Kaldi's spellings, loaded only when one runs.

The group lists the commands of :mod:`tympan.plugins.kaldi.commands` without importing them, so
``tympan --help`` stays light; ``tympan kaldi copy-feats ...`` imports only what that command needs.

Example:
    >>> from click.testing import CliRunner
    >>> "copy-feats" in CliRunner().invoke(kaldi_command, ["--help"]).output
    True
"""

from __future__ import annotations

import click

__all__ = ["kaldi_command"]


class _KaldiGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        from tympan.plugins.kaldi.commands import COMMANDS

        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from tympan.plugins.kaldi.commands import COMMANDS, load_command

        return load_command(cmd_name) if cmd_name in COMMANDS else None


kaldi_command = _KaldiGroup(
    "kaldi",
    help="Kaldi's programs on ark/scp tables: copy-feats, compute-fbank-feats, apply-cmvn ... (Kaldi's options).",
)
