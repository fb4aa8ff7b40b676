"""The Kaldi plugin: Kaldi's features (fbank, MFCC, spectrogram, PLP, pitch) on tensors, batched and
streaming; CMVN, deltas and splicing; ark/scp archives and Kaldi data directories, both ways.

The streaming extractors are attributes of this package, imported on first access:
:class:`~tympan.plugins.kaldi.online.OnlineFbank`, :class:`~tympan.plugins.kaldi.online.OnlineMfcc`,
:class:`~tympan.plugins.kaldi.online.OnlineSpectrogram`, :class:`~tympan.plugins.kaldi.online.OnlinePlp` and
:class:`~tympan.plugins.kaldi.online_pitch.OnlinePitch`.

Example:
    >>> import tympan.plugins.kaldi
    >>> tympan.plugins.kaldi.__name__
    'tympan.plugins.kaldi'
    >>> tympan.plugins.kaldi.OnlineFbank(num_mel_bins=80).dim
    80
"""

from __future__ import annotations

from tympan._lazy import lazy_attributes

_STREAMS = {
    "OnlineFbank": "tympan.plugins.kaldi.online",
    "OnlineMfcc": "tympan.plugins.kaldi.online",
    "OnlinePlp": "tympan.plugins.kaldi.online",
    "OnlineSpectrogram": "tympan.plugins.kaldi.online",
    "OnlinePitch": "tympan.plugins.kaldi.online_pitch",
}

__getattr__, __dir__ = lazy_attributes(__name__, _STREAMS, globals())
