"""One training step per model, with its loss, lowers that loss on a fixed batch.

Each model is the tiny configuration of ``_parity.TINY``; the step is gradient descent with the gradient's
norm clipped to 1 and a learning rate of 0.01 (small enough for the first-order decrease to dominate), and
the loss is recomputed on the same batch in train mode (dropout is zero in these configurations).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from _parity import TINY

from tympan import registry
from tympan.functional import ctc_loss, pit_loss, rnnt_loss

Loss = Callable[[torch.nn.Module], torch.Tensor]


def _ctc(log_probs: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
    targets = torch.tensor([[1, 2, 3], [2, 1, 1]])
    return ctc_loss(log_probs, targets, frames, torch.tensor([3, 2]), fused_log_softmax=False)


def _wav2letter(model: torch.nn.Module) -> torch.Tensor:
    log_probs = model(torch.randn(2, 4, 50, generator=torch.Generator().manual_seed(1))).transpose(1, 2)
    return _ctc(log_probs, torch.tensor([25, 25]))


def _deepspeech(model: torch.nn.Module) -> torch.Tensor:
    log_probs = model(torch.randn(2, 1, 12, 6, generator=torch.Generator().manual_seed(1)))
    return _ctc(log_probs, torch.tensor([12, 10]))


def _regression(model: torch.nn.Module) -> torch.Tensor:
    """Encoders without a head: mean squared error to a fixed random target."""
    inputs = model.example_input(2)
    output = model(*inputs)[0]
    target = torch.randn(output.shape, generator=torch.Generator().manual_seed(2))
    return torch.nn.functional.mse_loss(output, target)


def _transducer(model: torch.nn.Module) -> torch.Tensor:
    sources, source_lengths, _, _ = model.example_input(2)
    targets = torch.tensor([[1, 2, 3], [3, 1, 0]])
    target_lengths = torch.tensor([3, 2])
    blank_first = torch.cat([torch.full((2, 1), 4), targets], dim=1)  # the predictor starts from blank
    logits, frames, _, _ = model(sources, source_lengths, blank_first, target_lengths + 1)
    return rnnt_loss(logits, targets.int(), frames.int(), target_lengths.int(), blank=4)


def _wav2vec2_ctc(model: torch.nn.Module) -> torch.Tensor:
    waveforms, lengths = model.example_input(2)
    logits, frames = model(waveforms, lengths)
    return _ctc(logits.log_softmax(-1), frames)


def _wavernn(model: torch.nn.Module) -> torch.Tensor:
    waveform, specgram = model.example_input(2)
    logits = model(waveform, specgram).squeeze(1)
    classes = ((waveform.squeeze(1) + 1) / 2 * (model.n_classes - 1)).round().long()
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), classes)


def _tacotron2(model: torch.nn.Module) -> torch.Tensor:
    tokens, token_lengths, mels, mel_lengths = model.example_input(2)
    mel, mel_postnet, gates, _ = model(tokens, token_lengths, mels, mel_lengths)
    stop = torch.zeros_like(gates)
    stop[:, -1] = 1.0
    reconstruction = torch.nn.functional.mse_loss(mel, mels) + torch.nn.functional.mse_loss(mel_postnet, mels)
    return reconstruction + torch.nn.functional.binary_cross_entropy_with_logits(gates, stop)


def _separation(model: torch.nn.Module) -> torch.Tensor:
    generator = torch.Generator().manual_seed(3)
    sources = torch.randn(2, 2, *model.example_input(1).shape[1:], generator=generator)
    separated = model(sources.sum(1))  # conv_tasnet: (B, S, time); hdemucs: (B, S, channels, time)
    return pit_loss(separated.reshape(2, 2, -1), sources.reshape(2, 2, -1))[0]


LOSSES: dict[str, tuple[dict, Loss]] = {
    "asr:wav2letter": ({}, _wav2letter),
    "asr:deepspeech": ({}, _deepspeech),
    "asr:conformer": ({}, _regression),
    "asr:emformer": ({}, _regression),
    "asr:rnnt": ({}, _transducer),
    "asr:conformer_rnnt": ({}, _transducer),
    "ssl:wav2vec2": ({"aux_num_out": 5}, _wav2vec2_ctc),
    "ssl:wavlm": ({"aux_num_out": 5}, _wav2vec2_ctc),
    "tts:wavernn": ({}, _wavernn),
    "tts:tacotron2": ({}, _tacotron2),
    "sep:conv_tasnet": ({}, _separation),
    "sep:hdemucs": ({}, _separation),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_one_step_lowers_the_loss(name: str) -> None:
    extra, loss = LOSSES[name]
    torch.manual_seed(0)
    model = registry.create(name, **{**TINY[name], **extra}).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = loss(model)
    assert torch.isfinite(before)
    optimizer.zero_grad()
    before.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    with torch.no_grad():
        after = loss(model)
    assert after < before, f"{name}: {before.item():.6f} -> {after.item():.6f}"
