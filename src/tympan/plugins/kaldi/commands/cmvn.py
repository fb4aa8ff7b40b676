"""``compute-cmvn-stats`` and ``apply-cmvn``: Kaldi's CMVN statistics (a ``2 x (dim + 1)`` double matrix).

The statistics are computed by ``tympan.plugins.kaldi.functional.compute_cmvn_stats`` and applied by the
``kaldi:cmvn`` component, both found at run time.

Example:
    >>> compute_cmvn_stats.name, apply_cmvn.name
    ('compute-cmvn-stats', 'apply-cmvn')
"""

from __future__ import annotations

from typing import Any

import click

from tympan.plugins.kaldi.commands.common import count_entries, fail_cleanly, is_table, progress, summary
from tympan.plugins.kaldi.commands.options import KaldiCommand, kaldi_option

__all__ = ["apply_cmvn", "compute_cmvn_stats"]

_ALLOW_PIPES = click.option("--allow-pipes", is_flag=True, help="Run the shell commands of 'cmd |' entries.")


def _text_map(rspecifier: str) -> dict[str, list[str]]:
    """A text table such as ``ark:data/train/utt2spk``: key -> its words."""
    from tympan.plugins.kaldi import io as kaldi_io
    from tympan.plugins.kaldi.datadir.files import read_table

    path = kaldi_io.parse_rspecifier(rspecifier).path if is_table(rspecifier) else rspecifier
    return {key: line.value.split() for key, line in read_table(path).items()}


def _stats_function() -> Any:
    try:
        from tympan.plugins.kaldi.functional import compute_cmvn_stats as compute
    except ImportError as error:
        raise click.ClickException(f"the Kaldi CMVN functions are not available: {error}") from None
    return compute


@click.command("compute-cmvn-stats", cls=KaldiCommand)
@click.option("--spk2utt", default="", help="rspecifier of speaker -> utterances: statistics per speaker.")
@kaldi_option("--binary", bool, True, "Binary output, when writing one global matrix.")
@_ALLOW_PIPES
@click.argument("feats_rspecifier")
@click.argument("stats_wspecifier")
@fail_cleanly
def compute_cmvn_stats(
    spk2utt: str, binary: bool, allow_pipes: bool, feats_rspecifier: str, stats_wspecifier: str
) -> None:
    """CMVN statistics: <feats-rspecifier> <stats-wspecifier> per utterance (per speaker with --spk2utt),
    or <feats-rspecifier> <stats-wxfilename> for global statistics.
    """
    from tympan.plugins.kaldi import io as kaldi_io

    compute = _stats_function()
    if spk2utt:
        speakers = _text_map(spk2utt)
        with (
            kaldi_io.open(feats_rspecifier, allow_pipes=allow_pipes) as table,
            kaldi_io.Writer(stats_wspecifier, allow_pipes=allow_pipes) as writer,
        ):
            for speaker, utterances in speakers.items():
                present = [u for u in utterances if u in table]
                if present:
                    writer[speaker] = sum(compute(table[u].double()) for u in present)
        summary(f"compute-cmvn-stats: statistics of {len(speakers)} speakers")
        return
    items = kaldi_io.read(feats_rspecifier, allow_pipes=allow_pipes)
    if not is_table(stats_wspecifier):
        total = None
        for _, features in items:
            stats = compute(features.double())
            total = stats if total is None else total + stats
        if total is None:
            raise click.ClickException(f"{feats_rspecifier} is empty")
        kaldi_io.write_object(stats_wspecifier, total, text=not binary, allow_pipes=allow_pipes)
        return
    with (
        kaldi_io.Writer(stats_wspecifier, allow_pipes=allow_pipes) as writer,
        progress(items, "compute-cmvn-stats", count_entries(feats_rspecifier)) as bar,
    ):
        for key, features in bar:
            writer[key] = compute(features.double())


@click.command("apply-cmvn", cls=KaldiCommand)
@click.option("--utt2spk", default="", help="rspecifier of utterance -> speaker, for per-speaker statistics.")
@kaldi_option("--norm-means", bool, True, "Subtract the mean.")
@kaldi_option("--norm-vars", bool, False, "Also divide by the standard deviation.")
@kaldi_option("--reverse", bool, False, "Undo the normalisation.")
@_ALLOW_PIPES
@click.argument("cmvn_stats")
@click.argument("feats_rspecifier")
@click.argument("feats_wspecifier")
@fail_cleanly
def apply_cmvn(
    utt2spk: str,
    norm_means: bool,
    norm_vars: bool,
    reverse: bool,
    allow_pipes: bool,
    cmvn_stats: str,
    feats_rspecifier: str,
    feats_wspecifier: str,
) -> None:
    """Normalise features: <cmvn-stats-rspecifier|rxfilename> <feats-rspecifier> <feats-wspecifier>."""
    import torch

    from tympan import registry
    from tympan.plugins.kaldi import io as kaldi_io

    module = registry.create("kaldi:cmvn", norm_means=norm_means, norm_vars=norm_vars, reverse=reverse)
    speakers = {k: v[0] for k, v in _text_map(utt2spk).items()} if utt2spk else {}
    table = kaldi_io.open(cmvn_stats, allow_pipes=allow_pipes) if is_table(cmvn_stats) else None
    global_stats = None if table is not None else kaldi_io.read_object(cmvn_stats, allow_pipes=allow_pipes)
    done = 0
    try:
        with (
            kaldi_io.Writer(feats_wspecifier, allow_pipes=allow_pipes) as writer,
            progress(
                kaldi_io.read(feats_rspecifier, allow_pipes=allow_pipes), "apply-cmvn", count_entries(feats_rspecifier)
            ) as items,
        ):
            for key, features in items:
                owner = speakers.get(key, key)
                if table is not None and owner not in table:
                    click.echo(f"WARNING (apply-cmvn): no statistics for {owner}; skipping {key}", err=True)
                    continue
                stats = table[owner] if table is not None else global_stats
                with torch.no_grad():
                    writer[key] = module(features, stats.double())
                done += 1
    finally:
        if table is not None:
            table.close()
    summary(f"apply-cmvn: normalised {done} utterances")
