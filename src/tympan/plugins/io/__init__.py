"""Audio IO: ``load``, ``save``, ``info`` and ``stream``, and the ``io:soundfile`` backend (libsndfile).

The functions are reached as ``tympan.load`` and friends; they dispatch to whichever installed backend
the ``tympan_select_backend`` hook picks, or to the one named by ``backend=``. Importing this package
imports nothing else; :mod:`tympan.plugins.io.api` holds the functions and
:mod:`tympan.plugins.io.soundfile_backend` the backend.

Example:
    >>> import pathlib, tempfile, torch, tympan
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "chirp.flac"
    >>> tympan.save(path, torch.linspace(-0.5, 0.5, 16000).repeat(2, 1), 16000)
    >>> tympan.info(path).encoding
    'FLAC'
    >>> waveform, sample_rate = tympan.load(path, num_frames=8000, backend="io:soundfile")
    >>> waveform.shape, sample_rate
    (torch.Size([2, 8000]), 16000)
    >>> sum(chunk.shape[-1] for chunk in tympan.stream(path, frames_per_chunk=4096))
    16000
"""
