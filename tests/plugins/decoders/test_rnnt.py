"""RNN-T greedy against a step-by-step reference loop; modified beam search against greedy and exhaustive search.

Tokens are compared exactly (argmax decisions on the same float32 model outputs, computed batched and one
utterance at a time: a tie within 1e-6 would be needed to flip one, and the seeds used have none); scores
within 1e-5 (float32 joiner outputs summed in float64). Exhaustive search enumerates every alignment with at
most one token per frame (the family modified beam search explores) in float64 sums of the same model
log-probabilities.
"""

from __future__ import annotations

import itertools

import pytest
import torch

from tympan.plugins.decoders.rnnt import RNNTBeamDecoder, RNNTGreedyDecoder, TinyTransducer


def _emformer() -> torch.nn.Module:
    from torchaudio.models import emformer_rnnt_model

    torch.manual_seed(0)
    return emformer_rnnt_model(
        input_dim=8, encoding_dim=16, num_symbols=6, segment_length=4, right_context_length=0,
        time_reduction_input_dim=8, time_reduction_stride=2, transformer_num_heads=2, transformer_ffn_dim=16,
        transformer_num_layers=1, transformer_dropout=0.0, transformer_activation="relu",
        transformer_left_context_length=4, transformer_max_memory_size=0,
        transformer_weight_init_scale_strategy="depthwise", transformer_tanh_on_mem=True, symbol_embedding_dim=8,
        num_lstm_layers=1, lstm_layer_norm=True, lstm_layer_norm_epsilon=1e-5, lstm_dropout=0.0,
    ).eval()  # fmt: skip


def _reference_greedy(model: torch.nn.Module, features: torch.Tensor, blank: int, max_symbols: int):
    """One utterance, one frame and one symbol at a time."""
    encodings, lengths = model.transcribe(features[None], torch.tensor([features.shape[0]]))
    one = torch.ones(1, dtype=torch.long)
    predicted, _, state = model.predict(torch.tensor([[blank]]), one, None)
    tokens, steps, score = [], [], 0.0
    for t in range(int(lengths[0])):
        for _ in range(max_symbols):
            joint = model.join(encodings[:, t : t + 1], one, predicted, one)[0][0, 0, 0].float().log_softmax(-1)
            best = int(joint.argmax())
            score += float(joint[best])
            if best == blank:
                break
            tokens.append(best)
            steps.append(t)
            predicted, _, state = model.predict(torch.tensor([[best]]), one, state)
        else:
            continue
    return tokens, steps, score


@pytest.mark.parametrize("which", ["emformer", "tiny"])
def test_greedy_equals_step_by_step_loop(which: str) -> None:
    torch.manual_seed(1)
    model = _emformer() if which == "emformer" else TinyTransducer(features=8, tokens=6).eval()
    features = torch.randn(3, 24, 8)
    lengths = torch.tensor([24, 16, 9])
    with torch.no_grad():
        found = RNNTGreedyDecoder(model=model, blank=5, max_symbols_per_step=3)(features, lengths)
        for b in range(3):
            tokens, steps, score = _reference_greedy(model, features[b, : lengths[b]], 5, 3)
            assert found[b][0].tokens.tolist() == tokens
            assert found[b][0].timesteps.tolist() == steps
            assert found[b][0].score == pytest.approx(score, abs=1e-5)


def _exhaustive(model: torch.nn.Module, features: torch.Tensor, blank: int) -> dict[tuple[int, ...], float]:
    """log p(tokens) summed over every alignment with at most one token per frame."""
    encodings, lengths = model.transcribe(features[None], torch.tensor([features.shape[0]]))
    one = torch.ones(1, dtype=torch.long)
    totals: dict[tuple[int, ...], list[float]] = {}
    width = model.output.out_features
    for choice in itertools.product(range(width), repeat=int(lengths[0])):
        predicted, _, state = model.predict(torch.tensor([[blank]]), one, None)
        total = 0.0
        for t, token in enumerate(choice):
            joint = model.join(encodings[:, t : t + 1], one, predicted, one)[0][0, 0, 0].double().log_softmax(-1)
            total += float(joint[token])
            if token != blank:
                predicted, _, state = model.predict(torch.tensor([[token]]), one, state)
        labels = tuple(k for k in choice if k != blank)
        totals.setdefault(labels, []).append(total)
    return {k: float(torch.tensor(v, dtype=torch.float64).logsumexp(0)) for k, v in totals.items()}


def test_wide_modified_beam_equals_exhaustive_search() -> None:
    torch.manual_seed(2)
    model = TinyTransducer(features=4, tokens=3).eval()
    features = torch.randn(1, 4, 4) * 2
    with torch.no_grad():
        truth = sorted(_exhaustive(model, features[0], blank=2).items(), key=lambda item: -item[1])
        found = RNNTBeamDecoder(model=model, blank=2, beam_size=64, nbest=3)(features)[0]
    for hypothesis, (tokens, score) in zip(found, truth[:3], strict=True):
        assert tuple(hypothesis.tokens.tolist()) == tokens
        assert hypothesis.score == pytest.approx(score, abs=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_beam_is_never_worse_than_greedy(seed: int) -> None:
    torch.manual_seed(seed)
    model = TinyTransducer(features=6, tokens=5, hidden=16).eval()
    features = torch.randn(2, 12, 6) * 2
    with torch.no_grad():
        greedy = RNNTGreedyDecoder(model=model, blank=4, max_symbols_per_step=1)(features)
        beam = RNNTBeamDecoder(model=model, blank=4, beam_size=6, log_add=False)(features)
    for g, b in zip(greedy, beam, strict=True):
        assert b[0].score >= g[0].score - 1e-5  # one alignment each; float32 log-probabilities summed


def test_batched_beam_equals_one_at_a_time() -> None:
    torch.manual_seed(5)
    model = _emformer()
    features = torch.randn(2, 16, 8)
    decoder = RNNTBeamDecoder(model=model, blank=5, beam_size=3, nbest=2)
    with torch.no_grad():
        batch = decoder(features, torch.tensor([16, 12]))
        alone = decoder(features[1:, :12], torch.tensor([12]))
    assert [h.tokens.tolist() for h in batch[1]] == [h.tokens.tolist() for h in alone[0]]
    assert [h.score for h in batch[1]] == pytest.approx([h.score for h in alone[0]], abs=1e-5)
