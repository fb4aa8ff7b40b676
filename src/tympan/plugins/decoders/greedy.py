"""``decoder:ctc_greedy``: the best token of each frame, repeats merged and blanks removed, batched.

:func:`ctc_greedy_search` is the whole computation on tensors (any device, TorchScript-able); the score of
an utterance is the sum of its frames' largest log-probabilities.

Example:
    >>> import torch
    >>> emissions = torch.tensor([[[0.1, 0.9, 0.0], [0.1, 0.9, 0.0], [0.9, 0.1, 0.0], [0.0, 0.1, 0.9]]]).log()
    >>> best = CTCGreedyDecoder(tokens=["-", "a", "b"])(emissions)[0][0]
    >>> best.tokens.tolist(), best.timesteps.tolist(), best.words
    ([1, 2], [0, 3], ['ab'])
"""

from __future__ import annotations

from typing import Annotated, Any

import torch
from pydantic import Field

from tympan.core.decoder import Decoder, Hypothesis
from tympan.core.errors import InvalidParameterError
from tympan.core.params import validated_arguments
from tympan.plugins.decoders._hypotheses import make_hypothesis, path_tokens
from tympan.plugins.decoders.resources import load_tokens

__all__ = ["CTCGreedyDecoder", "ctc_greedy_search"]


def ctc_greedy_search(
    log_probs: torch.Tensor, lengths: torch.Tensor, blank: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best path of each utterance: ``(B, T)`` frame tokens (-1 past the length), ``(B, T)`` new-token marks,
    ``(B,)`` scores (the sum of each frame's largest log-probability).

    Example:
        >>> frames, events, scores = ctc_greedy_search(torch.tensor([[[0.0, -9.0], [-9.0, 0.0]]]), torch.tensor([2]))
        >>> frames.tolist(), events.tolist(), scores.tolist()
        ([[0, 1]], [[False, True]], [0.0])
    """
    best, frames = log_probs.max(-1)
    running = torch.arange(log_probs.shape[1], device=log_probs.device)[None, :] < lengths[:, None]
    frames = torch.where(running, frames, -1)
    previous = torch.cat([torch.full_like(frames[:, :1], -1), frames[:, :-1]], 1)
    events = running & (frames != blank) & (frames != previous)
    scores = torch.where(running, best, torch.zeros_like(best)).sum(1)
    return frames, events, scores


class CTCGreedyDecoder(Decoder):
    """Greedy CTC decoding; see the module docstring. ``tokens`` (optional) gives words and names.

    Example:
        >>> CTCGreedyDecoder(blank=2)(torch.zeros(1, 3, 3))[0][0].tokens.tolist()
        [0]
    """

    def __init__(
        self,
        tokens: Annotated[
            list[str] | str | None, Field(description="The token set (a list or a file), for words; optional.")
        ] = None,
        blank: Annotated[int, Field(ge=0, le=1_000_000, description="Index of the blank token.")] = 0,
        sil_token: Annotated[str | None, Field(description="The word-boundary token.")] = "|",
        log_softmax: Annotated[bool, Field(description="Apply log-softmax to the emissions first.")] = False,
    ) -> None:
        super().__init__()
        params: Any = validated_arguments(type(self), locals())  # fields: the signature above
        self.tokens = load_tokens(params.tokens).names if params.tokens is not None else None
        if self.tokens is not None and params.blank >= len(self.tokens):
            raise InvalidParameterError(type(self).__name__, [f"blank: {params.blank} is not a token index"])
        self.blank: int = params.blank
        self.sil = self.tokens.index(params.sil_token) if self.tokens and params.sil_token in self.tokens else -1
        self.log_softmax: bool = params.log_softmax

    def forward(self, emissions: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[Hypothesis]]:
        """Decode; one hypothesis per utterance."""
        log_probs, lengths = self.check_inputs(emissions, lengths, None if self.tokens is None else len(self.tokens))
        if self.blank >= log_probs.shape[-1]:
            raise InvalidParameterError(type(self).__name__, [f"blank: {self.blank} is not a token index"])
        frames, events, scores = ctc_greedy_search(log_probs, lengths, self.blank)
        frames, events, scores = frames.cpu(), events.cpu(), scores.cpu()
        out: list[list[Hypothesis]] = []
        for b in range(frames.shape[0]):
            length = int(lengths[b])
            tokens, starts, ends, _ = path_tokens(frames[b, :length], events[b, :length], self.blank)
            hypothesis = make_hypothesis(
                tokens, starts, ends, log_probs[b, :length], self.tokens, self.sil, float(scores[b])
            )
            out.append([hypothesis])
        return out

    def extra_repr(self) -> str:
        return f"blank={self.blank}"
