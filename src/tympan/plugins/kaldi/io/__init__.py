"""Kaldi archives and script files (ark/scp), read and written as tensors.

- :func:`read` iterates ``(key, tensor)`` over an rspecifier (``ark:feats.ark``, ``scp:feats.scp``,
  ``ark:-``, ``p,scp:...``), :func:`open` gives random access by key (a mapping), :func:`read_object`
  reads one object from an extended filename (``feats.ark:1234[0:51]``).
- :func:`write` and :class:`Writer` write to a wspecifier (``ark:...``, ``ark,t:...``,
  ``ark,scp:feats.ark,feats.scp``), atomically, with optional compression (:class:`CompressionMethod`,
  Kaldi's ``CM``, ``CM2`` and ``CM3``); :func:`write_object` writes one object.

Types: float32 / float64 matrices (2-D tensors) and vectors (1-D), int32 vectors, compressed matrices
(read as float32); text and binary. Pipes (``cmd |``, ``| cmd``) run shell commands and are refused
unless ``allow_pipes=True``. Malformed input raises :class:`~tympan.core.errors.KaldiFormatError` naming
the file, the key and the byte offset.

Example:
    >>> import pathlib, tempfile, torch
    >>> from tympan.plugins.kaldi import io as kaldi_io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> features = {"utt1": torch.randn(100, 80), "utt2": torch.randn(60, 80)}
    >>> kaldi_io.write(f"ark,scp:{folder}/feats.ark,{folder}/feats.scp", features, compression_method=2)
    >>> table = kaldi_io.open(f"scp:{folder}/feats.scp")
    >>> bool((table["utt2"] - features["utt2"]).abs().max() < 0.1)
    True
    >>> table.close()
"""

from __future__ import annotations

from tympan.plugins.kaldi.io.compressed import CompressionMethod
from tympan.plugins.kaldi.io.reader import RandomAccessReader, open, read, read_object
from tympan.plugins.kaldi.io.specifiers import parse_rspecifier, parse_wspecifier
from tympan.plugins.kaldi.io.writer import Writer, write, write_object

__all__ = [
    "CompressionMethod",
    "RandomAccessReader",
    "Writer",
    "open",
    "parse_rspecifier",
    "parse_wspecifier",
    "read",
    "read_object",
    "write",
    "write_object",
]
