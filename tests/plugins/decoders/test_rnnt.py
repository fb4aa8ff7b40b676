"""RNN-T greedy against a step-by-step reference loop; modified beam search against greedy and exhaustive search.

Tokens are compared exactly (argmax decisions on the same float32 model outputs, computed batched and one
utterance at a time: a tie within 1e-6 would be needed to flip one, and the seeds used have none); scores
within 1e-5 (float32 joiner outputs summed in float64). Exhaustive search enumerates every alignment with at
most one token per frame (the family modified beam search explores) in float64 sums of the same model
log-probabilities.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from tympan.core.errors import InvalidParameterError
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


def _every_alignment(model: torch.nn.Module, features: torch.Tensor, blank: int, u_max: int) -> dict:
    """For every token sequence of at most ``u_max`` tokens, the float64 log-probability of each of its
    alignments: its tokens and ``T`` blanks interleaved, the last blank closing the last frame."""
    encodings, lengths = model.transcribe(features[None], torch.tensor([features.shape[0]]))
    frames, one = int(lengths[0]), torch.ones(1, dtype=torch.long)
    width = model.output.out_features
    labels = [k for k in range(width) if k != blank]
    found: dict[tuple[int, ...], list[float]] = {}
    for count in range(u_max + 1):
        for sequence in itertools.product(labels, repeat=count):
            outputs = [model.predict(torch.tensor([[blank]]), one, None)]
            for token in sequence:
                outputs.append(model.predict(torch.tensor([[token]]), one, outputs[-1][2]))
            joint = [
                [
                    model.join(encodings[:, t : t + 1], one, out[0], one)[0][0, 0, 0].double().log_softmax(-1)
                    for out in outputs
                ]
                for t in range(frames)
            ]
            for token_places in itertools.combinations(range(frames - 1 + count), count):
                t = u = 0
                total = 0.0
                for place in range(frames - 1 + count):
                    if place in token_places:
                        total += float(joint[t][u][sequence[u]])
                        u += 1
                    else:
                        total += float(joint[t][u][blank])
                        t += 1
                found[sequence] = [*found.get(sequence, []), total + float(joint[t][u][blank])]
            assert len(found[sequence]) == math.comb(frames - 1 + count, count)
    return found


@pytest.mark.parametrize("log_add", [True, False])
@pytest.mark.parametrize("seed", range(2))
def test_wide_alsd_equals_exhaustive_search(log_add: bool, seed: int) -> None:
    torch.manual_seed(10 + seed)
    model = TinyTransducer(features=4, tokens=4).eval()
    features = torch.randn(1, 3 + seed, 4) * 2
    with torch.no_grad():
        alignments = _every_alignment(model, features[0], blank=3, u_max=3)
        reduce = torch.logsumexp if log_add else torch.amax
        truth = {k: float(reduce(torch.tensor(v, dtype=torch.float64), 0)) for k, v in alignments.items()}
        decoder = RNNTBeamDecoder(model=model, blank=3, beam_size=64, nbest=5, log_add=log_add, method="alsd", u_max=3)
        found = decoder(features)[0]
    best = sorted(truth.values(), reverse=True)[:5]
    assert [h.score for h in found] == pytest.approx(best, abs=1e-5)  # float32 joiner, float64 sums
    for hypothesis in found:  # equal scores by meaning: each found sequence really has its reported score
        assert truth[tuple(hypothesis.tokens.tolist())] == pytest.approx(hypothesis.score, abs=1e-5)
        assert len(hypothesis.tokens) <= 3
    assert len({tuple(h.tokens.tolist()) for h in found}) == 5


def _greedy_alignment(model: torch.nn.Module, features: torch.Tensor, blank: int, u_max: int) -> list[float]:
    """Per utterance, the float64 log-probability of the greedy alignment in ALSD's space: at every frame and
    token count the likeliest symbol, a blank once ``u_max`` tokens were emitted, up to a blank at the last
    frame."""
    encodings, _ = model.transcribe(features, torch.tensor([features.shape[1]] * len(features)))
    one = torch.ones(1, dtype=torch.long)
    scores = []
    for b in range(len(features)):
        predicted, _, state = model.predict(torch.tensor([[blank]]), one, None)
        t = u = 0
        total = 0.0
        while t < features.shape[1]:
            joint = model.join(encodings[b : b + 1, t : t + 1], one, predicted, one)[0][0, 0, 0]
            log_probs = joint.double().log_softmax(-1)
            best = int(log_probs.argmax()) if u < u_max else blank
            total += float(log_probs[best])
            if best == blank:
                t += 1
            else:
                u += 1
                predicted, _, state = model.predict(torch.tensor([[best]]), one, state)
        scores.append(total)
    return scores


@pytest.mark.parametrize("seed", range(4))
def test_alsd_is_never_worse_than_greedy(seed: int) -> None:
    torch.manual_seed(seed)
    model = TinyTransducer(features=6, tokens=5, hidden=16).eval()
    with torch.no_grad():
        model.output.bias[4] += 1.0  # blanks about as likely as tokens: greedy emits some, not always
        features = torch.randn(2, 10, 6) * 3
        greedy = _greedy_alignment(model, features, blank=4, u_max=8)
        alsd = RNNTBeamDecoder(model=model, blank=4, beam_size=4, log_add=False, method="alsd", u_max=8)
        found = alsd(features)
    for g, b in zip(greedy, found, strict=True):
        assert b[0].score >= g - 1e-5  # one alignment each; float32 joiner, float64 sums


def test_alsd_timesteps_are_frames_in_order() -> None:
    torch.manual_seed(3)
    model = TinyTransducer(features=4, tokens=4).eval()
    found = RNNTBeamDecoder(model=model, blank=3, beam_size=3, method="alsd", u_max=12)(torch.randn(1, 6, 4) * 3)
    steps = found[0][0].timesteps
    assert bool((steps[1:] >= steps[:-1]).all()) and (len(steps) == 0 or 0 <= int(steps[-1]) < 6)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"method": "exhaustive"}, "method"), ({"method": "alsd", "u_max": 0}, "u_max"), ({"u_max": 3}, "u_max")],
)
def test_bad_beam_options_are_refused_before_search(options: dict, named: str) -> None:
    with pytest.raises(InvalidParameterError, match=named):
        RNNTBeamDecoder(model=TinyTransducer(features=2, tokens=3), blank=2, **options)


@pytest.mark.parametrize(("which", "chunk"), [("emformer", 4), ("tiny", 5)])
def test_streamed_greedy_equals_whole(which: str, chunk: int) -> None:
    """Chunks decoded one after the other, each from the previous one's state, give the whole utterance's
    tokens and frames; the emformer's streamed encodings equal its whole ones within 1e-6."""
    torch.manual_seed(6)
    model = _emformer() if which == "emformer" else TinyTransducer(features=8, tokens=6).eval()
    features = torch.randn(2, 20, 8)
    lengths = torch.tensor([20, 20]) if which == "emformer" else torch.tensor([20, 13])
    decoder = RNNTGreedyDecoder(model=model, blank=5, max_symbols_per_step=3)
    with torch.no_grad():
        whole = decoder(features, lengths)
        state = None
        for start in range(0, features.shape[1], chunk):
            piece = (lengths - start).clamp(0, chunk)
            streamed, state = decoder.decode_stream(features[:, start : start + chunk], piece, state)
    assert sum(len(h[0].tokens) for h in whole) > 0
    for one, other in zip(whole, streamed, strict=True):
        assert other[0].tokens.tolist() == one[0].tokens.tolist()
        assert other[0].timesteps.tolist() == one[0].timesteps.tolist()
        assert other[0].score == pytest.approx(one[0].score, abs=1e-5)


class _WholeUtterancesOnly(torch.nn.Module):
    """A transducer without ``transcribe_streaming``."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = TinyTransducer(features=2, tokens=3)
        self.transcribe, self.predict, self.join = self.inner.transcribe, self.inner.predict, self.inner.join


def test_streaming_needs_a_streaming_model() -> None:
    decoder = RNNTGreedyDecoder(model=_WholeUtterancesOnly(), blank=2)
    with pytest.raises(InvalidParameterError, match="transcribe_streaming"):
        decoder.decode_stream(torch.zeros(1, 4, 2), torch.tensor([4]))


@pytest.mark.parametrize("method", ["modified", "alsd"])
def test_batched_beam_with_an_empty_utterance_equals_one_at_a_time(method: str) -> None:
    torch.manual_seed(7)
    model = TinyTransducer(features=4, tokens=5).eval()
    with torch.no_grad():
        model.output.bias[4] += 1.0
    features = torch.randn(3, 9, 4) * 3
    lengths = torch.tensor([9, 0, 5])
    decoder = RNNTBeamDecoder(model=model, blank=4, beam_size=3, nbest=2, method=method)
    with torch.no_grad():
        batch = decoder(features, lengths)
        for b in (0, 2):
            alone = decoder(features[b : b + 1, : lengths[b]], lengths[b : b + 1])[0]
            assert [h.tokens.tolist() for h in batch[b]] == [h.tokens.tolist() for h in alone]
            assert [h.timesteps.tolist() for h in batch[b]] == [h.timesteps.tolist() for h in alone]
            assert [h.score for h in batch[b]] == pytest.approx([h.score for h in alone], abs=1e-5)
    assert [(h.tokens.tolist(), h.score) for h in batch[1]] == [([], 0.0)]


class _CountingThreads(TinyTransducer):
    """A TinyTransducer that records the intra-op thread count each join runs on."""

    def __init__(self, hidden: int) -> None:
        super().__init__(features=3, tokens=4, hidden=hidden)
        self.counts: list[int] = []

    def join(self, *args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        self.counts.append(torch.get_num_threads())
        return super().join(*args)


_SEARCHES: dict[str, Callable[[TinyTransducer], Any]] = {
    "greedy": lambda m: RNNTGreedyDecoder(model=m, blank=3),
    "beam": lambda m: RNNTBeamDecoder(model=m, blank=3, beam_size=8),
}


@pytest.mark.parametrize("search", sorted(_SEARCHES))
def test_searches_run_on_the_threads_their_steps_earn(search: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        _each_search_chooses(_SEARCHES[search], monkeypatch)
    finally:
        torch.set_num_threads(before)


def _each_search_chooses(make: Callable[[TinyTransducer], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from tympan.core import threads as _threads

    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 1)  # a quiet machine
    monkeypatch.setattr(_threads, "_own_runnable_threads", lambda: 1)
    monkeypatch.setattr(_threads, "usable_cores", lambda: 2)  # two cores, whatever the machine's
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    small, large = _CountingThreads(hidden=8), _CountingThreads(hidden=256)  # 32 x 8 frames x 256 >= 2 ** 16
    for model in (small, large):
        make(model)(torch.randn(32, 8, 3), torch.full((32,), 8))
    assert set(small.counts) == {1} and set(large.counts) == {2} and torch.get_num_threads() == 2
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 4)  # two other processes' threads on 2 cores
    large.counts.clear()
    make(large)(torch.randn(32, 8, 3), torch.full((32,), 8))
    assert set(large.counts) == {1} and torch.get_num_threads() == 2
