"""The Kaldi plugin: Kaldi's features (fbank, MFCC, spectrogram, PLP, pitch) on tensors, batched and
streaming; CMVN, deltas and splicing; ark/scp archives and Kaldi data directories, both ways.

Example:
    >>> import tympan.plugins.kaldi
    >>> tympan.plugins.kaldi.__name__
    'tympan.plugins.kaldi'
"""
