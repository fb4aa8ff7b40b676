"""The table commands: ``copy-feats``, ``paste-feats``, ``feat-to-dim`` and ``feat-to-len``, with Kaldi's usage.

Example:
    >>> import pathlib, tempfile, torch
    >>> from click.testing import CliRunner
    >>> from tympan.plugins.kaldi import io as kaldi_io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> kaldi_io.write(f"ark:{folder}/in.ark", {"utt1": torch.randn(50, 13)})
    >>> args = ["--compress=true", f"ark:{folder}/in.ark", f"ark,scp:{folder}/out.ark,{folder}/out.scp"]
    >>> CliRunner().invoke(copy_feats, args).exit_code
    0
    >>> CliRunner().invoke(feat_to_dim, [f"scp:{folder}/out.scp", "-"]).output
    '13\\n'
"""

from __future__ import annotations

import click
import torch

from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.commands.common import count_entries, fail_cleanly, is_table, progress, summary
from tympan.plugins.kaldi.commands.options import KaldiCommand, kaldi_option

__all__ = ["copy_feats", "feat_to_dim", "feat_to_len", "paste_feats"]

_ALLOW_PIPES = click.option(
    "--allow-pipes", is_flag=True, help="Run the shell commands of 'cmd |' inputs and '| cmd' outputs."
)


@click.command("copy-feats", cls=KaldiCommand)
@kaldi_option("--compress", bool, False, "Compress the matrices written.")
@kaldi_option("--compression-method", int, 1, "Compression method, 1-7 as Kaldi's (1: auto, 2: speech features).")
@kaldi_option("--binary", bool, True, "Binary output, when writing one matrix to a file.")
@click.option("--write-num-frames", default="", help="Also write each utterance's frame count to this wspecifier.")
@_ALLOW_PIPES
@click.argument("source")
@click.argument("target")
@fail_cleanly
def copy_feats(
    compress: bool,
    compression_method: int,
    binary: bool,
    write_num_frames: str,
    allow_pipes: bool,
    source: str,
    target: str,
) -> None:
    """Copy features: <feats-rspecifier> <feats-wspecifier>, or one <rxfilename> to a <wxfilename>.

    \b
    tympan kaldi copy-feats --compress=true ark:raw.ark ark,scp:feats.ark,feats.scp
    """
    method = compression_method if compress else None
    if not is_table(source):
        value = kaldi_io.read_object(source, allow_pipes=allow_pipes)
        kaldi_io.write_object(target, value, text=not binary, compression_method=method, allow_pipes=allow_pipes)
        return
    copied = 0
    with (
        kaldi_io.Writer(target, method, allow_pipes=allow_pipes) as writer,
        _frame_counts(write_num_frames, allow_pipes) as counts,
        progress(kaldi_io.read(source, allow_pipes=allow_pipes), "copy-feats", count_entries(source)) as items,
    ):
        for key, value in items:
            writer[key] = value
            if counts is not None:
                counts[key] = int(value.shape[0])
            copied += 1
    summary(f"copy-feats: copied {copied} feature matrices")


class _NoWriter:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _frame_counts(wspecifier: str, allow_pipes: bool) -> kaldi_io.Writer | _NoWriter:
    return kaldi_io.Writer(wspecifier, allow_pipes=allow_pipes) if wspecifier else _NoWriter()


@click.command("paste-feats", cls=KaldiCommand)
@kaldi_option("--length-tolerance", int, 0, "Largest difference in frame counts; longer inputs are cut.")
@kaldi_option("--compress", bool, False, "Compress the matrices written.")
@kaldi_option("--compression-method", int, 1, "Compression method, 1-7 as Kaldi's.")
@_ALLOW_PIPES
@click.argument("specifiers", nargs=-1, required=True)
@fail_cleanly
def paste_feats(
    length_tolerance: int, compress: bool, compression_method: int, allow_pipes: bool, specifiers: tuple[str, ...]
) -> None:
    """Append features frame by frame: <in-rspecifier1> <in-rspecifier2> [...] <out-wspecifier>.

    Keys come from the first input; an utterance missing from another input, or whose lengths differ by
    more than --length-tolerance, is skipped with a warning.
    """
    if len(specifiers) < 3:
        raise click.UsageError("paste-feats needs at least two inputs and one output")
    first, others, target = specifiers[0], specifiers[1:-1], specifiers[-1]
    tables = [kaldi_io.open(spec, allow_pipes=allow_pipes) for spec in others]
    done = skipped = 0
    try:
        with (
            kaldi_io.Writer(target, compression_method if compress else None, allow_pipes=allow_pipes) as writer,
            progress(kaldi_io.read(first, allow_pipes=allow_pipes), "paste-feats", count_entries(first)) as items,
        ):
            for key, value in items:
                parts = [value] + [table[key] for table in tables if key in table]
                lengths = [int(part.shape[0]) for part in parts]
                if len(parts) != len(tables) + 1 or max(lengths) - min(lengths) > length_tolerance:
                    click.echo(f"WARNING (paste-feats): skipping {key}: missing or lengths {lengths}", err=True)
                    skipped += 1
                    continue
                shortest = min(lengths)
                writer[key] = torch.cat([part[:shortest].to(value.dtype) for part in parts], dim=1)
                done += 1
    finally:
        for table in tables:
            table.close()
    summary(f"paste-feats: pasted {done} utterances, skipped {skipped}")
    if done == 0:
        raise click.ClickException("no utterances were pasted")


def _shapes(source: str, allow_pipes: bool) -> kaldi_io.RandomAccessReader:
    return kaldi_io.open(source, allow_pipes=allow_pipes)


@click.command("feat-to-dim", cls=KaldiCommand)
@_ALLOW_PIPES
@click.argument("source")
@click.argument("target", required=False, default="-")
@fail_cleanly
def feat_to_dim(allow_pipes: bool, source: str, target: str) -> None:
    """Feature dimension: <feat-rspecifier> [<dim-wspecifier> | -], or <feat-rxfilename>.

    With '-' (or nothing) it prints the dimension of the first matrix; with a wspecifier it writes each
    utterance's dimension. Only headers are read where the archive is a file.
    """
    if not is_table(source):
        click.echo(int(kaldi_io.read_object(source, allow_pipes=allow_pipes).shape[-1]))
        return
    with _shapes(source, allow_pipes) as table:
        if target == "-":
            first = next(iter(table), None)
            if first is None:
                raise click.ClickException(f"{source} is empty")
            click.echo(table.shape(first)[-1])
            return
        kaldi_io.write(target, ((key, table.shape(key)[-1]) for key in table), allow_pipes=allow_pipes)


@click.command("feat-to-len", cls=KaldiCommand)
@_ALLOW_PIPES
@click.argument("source")
@click.argument("target", required=False)
@fail_cleanly
def feat_to_len(allow_pipes: bool, source: str, target: str | None) -> None:
    """Frame counts: <feat-rspecifier> <len-wspecifier>, or <feat-rxfilename> (prints its number of rows).

    \b
    tympan kaldi feat-to-len scp:data/train/feats.scp ark,t:data/train/utt2num_frames
    """
    if not is_table(source):
        click.echo(int(kaldi_io.read_object(source, allow_pipes=allow_pipes).shape[0]))
        return
    if target is None:
        raise click.UsageError("feat-to-len with an rspecifier needs an output wspecifier (ark,t:-)")
    with _shapes(source, allow_pipes) as table:
        kaldi_io.write(target, ((key, table.shape(key)[0]) for key in table), allow_pipes=allow_pipes)
