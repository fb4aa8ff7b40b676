"""The first-party DSP plugin (namespace ``dsp``): spectrograms, mel features, MFCCs, decibels, resampling.

``functional`` holds the computations as functions, ``transforms`` the ``nn.Module`` forms that keep their
windows, filterbanks and kernels as buffers. Names, parameters and defaults follow torchaudio's, so code
moves over unchanged; results match librosa for the same options. Importing this package imports neither
submodule; the registry loads the transforms on first use.

Example:
    >>> import torch
    >>> from tympan import registry
    >>> mfcc = registry.create("dsp:mfcc", sample_rate=16000, n_mfcc=13)
    >>> mfcc(torch.randn(2, 16000)).shape
    torch.Size([2, 13, 81])
"""
