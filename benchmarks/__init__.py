"""Side-by-side benchmarks against the peers (librosa, soxr, soundfile, torchaudio), run with ``python -m benchmarks``.

See ``benchmarks/README.md`` for how to run them and how to read the results.
"""
