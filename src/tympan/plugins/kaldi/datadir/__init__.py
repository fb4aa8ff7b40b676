"""Kaldi data directories: read, build, write, validate and fix them, and load their audio.

A data directory (``data/train``) describes a corpus with plain text files keyed by recording, utterance
or speaker id (see :mod:`.model` for the list). :class:`DataDir` holds them as mappings:
:meth:`DataDir.read` parses a folder (errors name the file and line), :meth:`DataDir.write` writes it
sorted and atomically (``spk2utt`` derived from ``utt2spk``). :func:`validate` lists every problem as
``utils/validate_data_dir.sh`` would find it, each with its file and line; :func:`fix` /
:func:`fix_data_dir` keep what is consistent, as ``utils/fix_data_dir.sh``. :func:`load_utterance` and
:func:`read_audio` load the audio behind ``wav.scp`` and ``segments`` (pipes only with
``allow_pipes=True``).

Exporting a corpus:

Example:
    >>> import pathlib, tempfile
    >>> from tympan.plugins.kaldi.datadir import DataDir, validate
    >>> data = DataDir()
    >>> corpus = [("spk1", "spk1-001", "/c/a.wav", "HELLO"), ("spk2", "spk2-001", "/c/b.wav", "BYE")]
    >>> for speaker, utterance, path, words in corpus:
    ...     data.add_recording(utterance, path)
    ...     data.add_utterance(utterance, speaker, text=words)
    >>> validate(data)
    []
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "train"
    >>> data.write(folder)
    >>> (folder / "wav.scp").read_text()
    'spk1-001 /c/a.wav\\nspk2-001 /c/b.wav\\n'
"""

from __future__ import annotations

from tympan.plugins.kaldi.datadir.audio import cut_segment, load_recording, load_utterance, read_audio
from tympan.plugins.kaldi.datadir.model import FILES, DataDir, Segment
from tympan.plugins.kaldi.datadir.validation import Problem, check, fix, fix_data_dir, validate

__all__ = [
    "FILES",
    "DataDir",
    "Problem",
    "Segment",
    "check",
    "cut_segment",
    "fix",
    "fix_data_dir",
    "load_recording",
    "load_utterance",
    "read_audio",
    "validate",
]
