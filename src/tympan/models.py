"""The models by name and their checkpoints: ``tympan.models.wav2vec2_base()``, ``tympan.models.load(path)``.

Re-exports the first-party models plugin (architectures, torchaudio's factory functions,
``import_huggingface``) and its checkpoint functions :func:`save_weights`, :func:`load_weights` and
:func:`load`; the code lives in :mod:`tympan.plugins.models`. Nothing is imported until first used.

Example:
    >>> import pathlib, tempfile
    >>> import tympan.models
    >>> model = tympan.models.Wav2Letter(num_classes=10, input_type="mfcc", num_features=13)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> tympan.models.save_weights(model, path)
    >>> tympan.models.load(path).tympan_component
    'asr:wav2letter'
"""

from __future__ import annotations

from tympan._lazy import LazyFacade

__getattr__, __dir__ = LazyFacade("tympan.models", ["tympan.plugins.models"]).hooks(globals())
