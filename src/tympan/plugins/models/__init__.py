"""First-party models: speech recognition (``asr:*``), self-supervised speech (``ssl:*``), speech synthesis
(``tts:*``) and source separation (``sep:*``), with torchaudio's class, factory and parameter names.

A torchaudio model's ``state_dict()`` loads into the tympan model of the same configuration with
``strict=True`` and gives the same outputs; Hugging Face wav2vec 2.0 / HuBERT / WavLM checkpoints convert
with :func:`import_huggingface`. Checkpoints are safetensors files that name their component
(:func:`save_weights`, :func:`load_weights`, :func:`load`).

Example:
    >>> import torch
    >>> from tympan import registry
    >>> model = registry.create("asr:wav2letter", num_classes=29)
    >>> model(torch.randn(1, 1, 16000)).shape
    torch.Size([1, 29, 51])
"""

from __future__ import annotations

from tympan.plugins.models.asr.conformer import Conformer
from tympan.plugins.models.asr.deepspeech import DeepSpeech
from tympan.plugins.models.asr.emformer import Emformer
from tympan.plugins.models.asr.rnnt import RNNT
from tympan.plugins.models.asr.transducers import (
    conformer_rnnt_base,
    conformer_rnnt_model,
    emformer_rnnt_base,
    emformer_rnnt_model,
)
from tympan.plugins.models.asr.wav2letter import Wav2Letter
from tympan.plugins.models.bundles import Bundle, bundle_names, cache_home, get_bundle, register_bundle
from tympan.plugins.models.checkpoints import load, load_weights, read_state_dict, save_weights
from tympan.plugins.models.sep.conv_tasnet import ConvTasNet, conv_tasnet_base
from tympan.plugins.models.sep.hdemucs import HDemucs, hdemucs_high, hdemucs_low, hdemucs_medium
from tympan.plugins.models.ssl.factories import (
    hubert_base,
    hubert_large,
    hubert_xlarge,
    wav2vec2_base,
    wav2vec2_large,
    wav2vec2_large_lv60k,
    wav2vec2_xlsr_1b,
    wav2vec2_xlsr_2b,
    wav2vec2_xlsr_300m,
    wavlm_base,
    wavlm_large,
)
from tympan.plugins.models.ssl.huggingface import import_huggingface
from tympan.plugins.models.ssl.model import Wav2Vec2Model, wav2vec2_model, wavlm_model
from tympan.plugins.models.tts.tacotron2 import Tacotron2
from tympan.plugins.models.tts.wavernn import WaveRNN

__all__ = [
    "RNNT",
    "Bundle",
    "Conformer",
    "ConvTasNet",
    "DeepSpeech",
    "Emformer",
    "HDemucs",
    "Tacotron2",
    "Wav2Letter",
    "Wav2Vec2Model",
    "WaveRNN",
    "conformer_rnnt_base",
    "conformer_rnnt_model",
    "conv_tasnet_base",
    "emformer_rnnt_base",
    "emformer_rnnt_model",
    "hdemucs_high",
    "hdemucs_low",
    "hdemucs_medium",
    "bundle_names",
    "cache_home",
    "get_bundle",
    "hubert_base",
    "hubert_large",
    "hubert_xlarge",
    "import_huggingface",
    "load",
    "load_weights",
    "read_state_dict",
    "register_bundle",
    "save_weights",
    "wav2vec2_base",
    "wav2vec2_large",
    "wav2vec2_large_lv60k",
    "wav2vec2_model",
    "wav2vec2_xlsr_1b",
    "wav2vec2_xlsr_2b",
    "wav2vec2_xlsr_300m",
    "wavlm_base",
    "wavlm_large",
    "wavlm_model",
]
