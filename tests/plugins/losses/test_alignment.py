"""torchaudio's forced-alignment API: ``forced_align`` against a brute-force search over every CTC path, its
errors, and ``merge_tokens`` against spans found by hand."""

from __future__ import annotations

import itertools

import pytest
import torch

from tympan.core.errors import InvalidInputError
from tympan.functional import TokenSpan, forced_align, merge_tokens


def _collapse(path: tuple[int, ...], blank: int) -> list[int]:
    """The label sequence a CTC path spells: repeats merged, then blanks removed."""
    return [label for label, _ in itertools.groupby(path) if label != blank]


def _best_path(log_probs: torch.Tensor, target: list[int], blank: int) -> tuple[float, set[tuple[int, ...]]]:
    """The best score over every frame-level path that spells ``target``, and every path reaching it."""
    frames, classes = log_probs.shape
    best, paths = float("-inf"), set()
    for path in itertools.product(range(classes), repeat=frames):
        if _collapse(path, blank) != target:
            continue
        score = float(sum(log_probs[t, label] for t, label in enumerate(path)))
        if score > best + 1e-12:
            best, paths = score, {path}
        elif abs(score - best) <= 1e-12:
            paths.add(path)
    return best, paths


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("label_dtype", [torch.int32, torch.int64])
@pytest.mark.parametrize("seed", range(4))
def test_forced_align_finds_the_best_path(dtype, label_dtype, seed) -> None:
    # The float64 brute force over all 4**6 paths is the reference; the path must be one of its best
    # (compared by meaning, not bit for bit). Tolerance on the per-frame scores: 1e-6 (float32 log-probs).
    generator = torch.Generator().manual_seed(seed)
    log_probs = torch.randn(1, 6, 4, generator=generator, dtype=torch.float64).log_softmax(-1)
    target = [[1, 2], [3, 3], [1, 2, 3], [2]][seed]
    blank = 0
    best, best_paths = _best_path(log_probs[0], target, blank)
    path, scores = forced_align(log_probs.to(dtype), torch.tensor([target], dtype=label_dtype), blank=blank)
    assert path.dtype == label_dtype and scores.dtype == dtype
    assert path.shape == scores.shape == (1, 6)
    assert tuple(path[0].tolist()) in best_paths
    expected = log_probs[0, torch.arange(6), path[0].long()]
    torch.testing.assert_close(scores[0].double(), expected, rtol=0, atol=1e-6)
    assert abs(float(scores.double().sum()) - best) < 1e-5


def test_forced_align_with_lengths_and_another_blank() -> None:
    generator = torch.Generator().manual_seed(7)
    log_probs = torch.randn(1, 8, 5, generator=generator, dtype=torch.float64).log_softmax(-1)
    targets = torch.tensor([[1, 2, 0, 0]])
    path, scores = forced_align(log_probs, targets, torch.tensor([6]), torch.tensor([2]), blank=4)
    _, best_paths = _best_path(log_probs[0, :6], [1, 2], 4)
    assert tuple(path[0, :6].tolist()) in best_paths
    assert path[0, 6:].tolist() == [4, 4] and scores[0, 6:].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": torch.tensor([[0, 1, 2, 3, 4, 4]])}, "too long for CTC"),
        ({"targets": torch.tensor([[5, 3, 3]])}, "shouldn't contain blank"),
        ({"log_probs": torch.zeros(1, 5, 6, dtype=torch.int64)}, "float64, float32 or float16"),
        ({"targets": torch.tensor([[0.0, 1.0]])}, "int32 or int64"),
        ({"log_probs": torch.zeros(3, 5, 6)}, "batch dimension for log_probs"),
        ({"targets": torch.zeros(3, 2, dtype=torch.long)}, "batch dimension for targets"),
        ({"input_lengths": torch.ones(2, 2, dtype=torch.long)}, "input_lengths must be 1-D"),
        ({"input_lengths": torch.tensor([100])}, "input length"),
        ({"target_lengths": torch.tensor([100])}, "target length"),
        ({"targets": torch.tensor([[7, 8]])}, "less than the CTC dimension"),
        ({"blank": 10}, "blank must be within"),
    ],
)
def test_forced_align_rejects_what_torchaudio_rejects(change, message) -> None:
    arguments = {"log_probs": torch.zeros(1, 5, 6), "targets": torch.tensor([[1, 2]]), "blank": 5}
    arguments.update(change)
    with pytest.raises(InvalidInputError, match=message) as caught:
        forced_align(**arguments)
    assert isinstance(caught.value, (RuntimeError, ValueError))


@pytest.mark.parametrize(
    ("tokens", "scores", "expected"),
    [
        ([], [], []),
        ([1, 1], [0.4, 0.6], [(1, 0, 2, 0.5)]),
        ([0, 1, 0, 2, 2, 0], [0.1, 0.8, 0.9, 1.0, 0.5, 0.1], [(1, 1, 2, 0.8), (2, 3, 5, 0.75)]),
        ([1, 1, 0, 0, 1, 1], [1.0, 0.8, 0.6, 0.5, 0.3, 0.1], [(1, 0, 2, 0.9), (1, 4, 6, 0.2)]),
        ([3, 4, 4, 3], [0.2, 0.4, 0.6, 0.8], [(3, 0, 1, 0.2), (4, 1, 3, 0.5), (3, 3, 4, 0.8)]),
        ([0, 0, 0], [0.5, 0.5, 0.5], []),
    ],
)
def test_merge_tokens_gives_runs_and_their_mean_score(tokens, scores, expected) -> None:
    # Tolerance: 1e-6 on the mean (float32 scores).
    spans = merge_tokens(torch.tensor(tokens, dtype=torch.long), torch.tensor(scores), blank=0)
    assert all(isinstance(span, TokenSpan) for span in spans)
    assert [(s.token, s.start, s.end) for s in spans] == [e[:3] for e in expected]
    assert [s.score for s in spans] == pytest.approx([e[3] for e in expected], abs=1e-6)


def test_merge_tokens_rejects_mismatched_lengths() -> None:
    with pytest.raises(InvalidInputError, match="scores"):
        merge_tokens(torch.tensor([1, 2]), torch.tensor([0.5]))
