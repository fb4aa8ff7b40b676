"""The ``tympan kaldi`` commands, by Kaldi's program names; each module is imported when its command runs.

Example:
    >>> "copy-feats" in COMMANDS and "compute-fbank-feats" in COMMANDS
    True
"""

from __future__ import annotations

import importlib

import click

__all__ = ["COMMANDS", "load_command"]

#: Command name -> ``module:attribute`` (an attribute of the features module names a generated command).
COMMANDS = {
    "copy-feats": "tympan.plugins.kaldi.commands.tables:copy_feats",
    "paste-feats": "tympan.plugins.kaldi.commands.tables:paste_feats",
    "feat-to-dim": "tympan.plugins.kaldi.commands.tables:feat_to_dim",
    "feat-to-len": "tympan.plugins.kaldi.commands.tables:feat_to_len",
    "compute-cmvn-stats": "tympan.plugins.kaldi.commands.cmvn:compute_cmvn_stats",
    "apply-cmvn": "tympan.plugins.kaldi.commands.cmvn:apply_cmvn",
    **{
        name: f"tympan.plugins.kaldi.commands.features:{name}"
        for name in (
            "compute-fbank-feats",
            "compute-mfcc-feats",
            "compute-plp-feats",
            "compute-kaldi-pitch-feats",
            "process-kaldi-pitch-feats",
            "apply-cmvn-sliding",
            "add-deltas",
            "splice-feats",
        )
    },
}


def load_command(name: str) -> click.Command:
    """Import and return the command ``name`` (a key of :data:`COMMANDS`).

    Example:
        >>> load_command("feat-to-len").name
        'feat-to-len'
    """
    module_name, attribute = COMMANDS[name].split(":")
    module = importlib.import_module(module_name)
    if module_name.endswith(".features"):
        return module.make_command(attribute)  # type: ignore[no-any-return]
    return getattr(module, attribute)  # type: ignore[no-any-return]
