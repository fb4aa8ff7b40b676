"""RNN-T decoding over any model with torchaudio's RNN-T interface: ``transcribe``, ``predict``, ``join``.

- ``decoder:rnnt_greedy`` loops over labels, batched, each utterance at its own frame: a step joins every
  utterance's frame with its predictor output, and an utterance that got a blank keeps joining its next
  frames (the joiner only) until it finds a token or its end; then one predictor call serves every
  utterance that emitted. An utterance stays on its frame for up to ``max_symbols_per_step`` tokens, so
  the batch never waits for its slowest item within a frame. The bookkeeping (frames, counts, scores) is
  NumPy on the host, each joined window read by a compiled loop; the model's device joins and predicts.
- ``decoder:rnnt_beam`` is beam search vectorised over batch x beam: every hypothesis proposes a blank and
  its ``beam_size`` likeliest tokens; hypotheses with the same tokens merge (log-add of their scores with
  ``log_add``, else their maximum); the ``beam_size`` best survive. ``method="modified"`` (modified beam
  search) takes one step per frame, at most one token per frame per hypothesis, a frame's token not
  followed by its blank. ``method="alsd"`` (alignment-length synchronous decoding, Saon et al., 2020)
  takes one step per blank or token, so step ``i`` holds hypotheses of ``u`` tokens at frame ``i - u``
  and any number of tokens fit in a frame (``u_max`` in all); hypotheses with the same tokens then share
  their frame, so merging sums (or maximises) over their alignments exactly, and a blank at the last frame
  ends a hypothesis. With a wide beam, ALSD's score of a token sequence is its model probability summed
  over every alignment (``log_add``) or its best alignment's.

Both are called as ``decoder(features, lengths)`` and run ``model.transcribe`` first; the predictor starts
from the blank. A search is a long sequence of small operations, each joining its intra-op threads at its
end: it runs on the threads that one step's work earns (the frames it joins, as the DSP functions choose by
their input), one thread when another process holds the second core. ``decode_stream`` continues from a
previous chunk's state through ``model.transcribe_streaming`` (greedy). Scores are natural-log model
probabilities; timesteps are encoder frames.

Example:
    >>> import torch
    >>> model = TinyTransducer(features=3, tokens=4)
    >>> hypothesis = RNNTGreedyDecoder(model=model, blank=3)(torch.randn(1, 6, 3), torch.tensor([6]))[0][0]
    >>> hypothesis.tokens.dtype, len(hypothesis.timesteps) == len(hypothesis.tokens)
    (torch.int64, True)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
import torch
from pydantic import Field
from torch import nn

from tympan.core.decoder import Decoder, Hypothesis
from tympan.core.errors import InvalidParameterError
from tympan.core.params import validated_arguments
from tympan.core.threads import intra_op_threads
from tympan.plugins.decoders._hash import ROOT, extend
from tympan.plugins.decoders._hypotheses import make_hypothesis
from tympan.plugins.decoders._merge import select
from tympan.plugins.decoders._rnnt_greedy_loop import Loop, Step
from tympan.plugins.decoders.resources import load_tokens

__all__ = ["RNNTBeamDecoder", "RNNTGreedyDecoder", "StreamState", "TinyTransducer"]

_NEG_INF = float("-inf")
#: Frames after the current one that greedy decoding joins at once when it looks past blanks for the next token.
_LOOKAHEAD = 16
State = list[list[torch.Tensor]]


class TinyTransducer(nn.Module):
    """A small transducer with torchaudio's RNN-T interface (linear encoder, LSTM predictor, additive joiner).

    Example:
        >>> model = TinyTransducer(features=2, tokens=3)
        >>> encodings, lengths = model.transcribe(torch.zeros(1, 4, 2), torch.tensor([4]))
        >>> encodings.shape, lengths.tolist()
        (torch.Size([1, 4, 8]), [4])
    """

    def __init__(self, features: int, tokens: int, hidden: int = 8) -> None:
        super().__init__()
        self.encoder = nn.Linear(features, hidden)
        self.embedding = nn.Embedding(tokens, hidden)
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.output = nn.Linear(hidden, tokens)

    def transcribe(self, sources: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(B, T, features)``."""
        return torch.tanh(self.encoder(sources)), lengths

    def transcribe_streaming(
        self, sources: torch.Tensor, lengths: torch.Tensor, state: None
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        """Encode one chunk ``(B, T, features)``: the encoder sees one frame at a time, so it carries no state."""
        encodings, lengths = self.transcribe(sources, lengths)
        return encodings, lengths, state

    def predict(
        self, targets: torch.Tensor, lengths: torch.Tensor, state: State | None
    ) -> tuple[torch.Tensor, torch.Tensor, State]:
        """Run the predictor over ``(B, U)`` targets from ``state``."""
        if state is None:
            zeros = targets.new_zeros(targets.shape[0], self.lstm.hidden_size, dtype=torch.float32)
            state = [[zeros, zeros]]
        h, c = state[0]
        outputs = []
        for u in range(targets.shape[1]):
            h, c = self.lstm(self.embedding(targets[:, u]), (h, c))
            outputs.append(h)
        return torch.stack(outputs, 1), lengths, [[h, c]]

    def join(
        self, sources: torch.Tensor, source_lengths: torch.Tensor, targets: torch.Tensor, target_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Joint logits ``(B, T, U, tokens)``."""
        joint = torch.tanh(sources[:, :, None, :] + targets[:, None, :, :])
        return self.output(joint), source_lengths, target_lengths


def _select_state(state: State, index: torch.Tensor) -> State:
    return [[tensor[index] for tensor in layer] for layer in state]


def _where_state(mask: torch.Tensor, new: State, old: State) -> State:
    return [
        [torch.where(mask.view(-1, *([1] * (n.ndim - 1))), n, o) for n, o in zip(nl, ol, strict=True)]
        for nl, ol in zip(new, old, strict=True)
    ]


class StreamState(NamedTuple):
    """What greedy streaming carries from one chunk to the next."""

    transcriber: Any
    predictor_out: torch.Tensor
    predictor: State
    tokens: list[list[int]]
    timesteps: list[list[int]]
    probabilities: list[list[float]]
    scores: torch.Tensor
    frames: torch.Tensor


class _RNNTBase(Decoder):
    def _setup(self, params: Any) -> None:
        self.model = params.model
        for method in ("transcribe", "predict", "join"):
            if not callable(getattr(self.model, method, None)):
                raise InvalidParameterError(
                    type(self).__name__, [f"model: {type(self.model).__name__} has no {method}() method"]
                )
        self.blank: int = params.blank
        self.tokens: list[str] | None = load_tokens(params.tokens).names if params.tokens is not None else None
        self.sil = -1
        self.max_symbols: int = params.max_symbols_per_step

    def _log_probs(self, frames: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
        """``(N, V)`` log-probabilities of joining ``(N, D)`` encoder frames with ``(N, D)`` predictor outputs."""
        return self._window_log_probs(frames[:, None], predicted)[:, 0]

    def _window_log_probs(self, frames: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
        """``(N, W, V)`` log-probabilities of joining each of ``(N, W, D)`` encoder frames with its row's
        ``(N, D)`` predictor output."""
        count, width = frames.shape[0], frames.shape[1]
        ones = torch.ones(count, dtype=torch.long, device=frames.device)
        joint: torch.Tensor = self.model.join(frames, ones * width, predicted[:, None], ones)[0]
        return joint[:, :, 0].float().log_softmax(-1)

    def _predict(self, tokens: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
        ones = torch.ones(tokens.shape[0], dtype=torch.long, device=tokens.device)
        out, _, new_state = self.model.predict(tokens[:, None], ones, state)
        return out[:, 0], new_state

    def _check(self, features: object, lengths: object) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(features, torch.Tensor) or features.ndim != 3:
            shape = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise InvalidParameterError(type(self).__name__, [f"features: expected (batch, frames, dims), got {shape}"])
        return self.check_inputs(features, lengths)

    def _hypothesis(self, tokens: list[int], steps: list[int], probabilities: list[float], score: float) -> Hypothesis:
        tensor = torch.tensor(tokens, dtype=torch.long)
        starts = torch.tensor(steps, dtype=torch.int32)
        log_probs = torch.zeros(max(steps, default=0) + 1, max(tokens, default=0) + 1, dtype=torch.float64)
        if tokens:
            log_probs[starts.long(), tensor] = torch.tensor(probabilities, dtype=torch.float64).log()
        return make_hypothesis(tensor, starts, starts + 1, log_probs, self.tokens, self.sil, score)


class RNNTGreedyDecoder(_RNNTBase):
    """Batched label-looping greedy RNN-T decoding; see the module docstring.

    Example:
        >>> RNNTGreedyDecoder(model=torch.nn.Linear(1, 1), blank=0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for RNNTGreedyDecoder:
          model: Linear has no transcribe() method
    """

    def __init__(
        self,
        model: Annotated[Any, Field(description="A model with transcribe, predict and join (torchaudio's RNNT).")],
        blank: Annotated[int, Field(ge=0, le=1_000_000, description="Index of the blank token.")],
        tokens: Annotated[list[str] | str | None, Field(description="The token set, for words.")] = None,
        max_symbols_per_step: Annotated[int, Field(ge=1, le=100, description="Most tokens per frame.")] = 10,
    ) -> None:
        super().__init__()
        self._setup(validated_arguments(type(self), locals()))

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[Hypothesis]]:
        """Transcribe, then decode greedily; one hypothesis per utterance."""
        features, lengths = self._check(features, lengths)
        with torch.no_grad():
            encodings, encoded_lengths = self.model.transcribe(features, lengths)
            state = self.start(features.shape[0], encodings.device)
            state = self._decode(encodings, encoded_lengths, state)
        return self._results(state)

    def start(self, batch: int, device: torch.device) -> StreamState:
        """The state before the first chunk of ``batch`` streams."""
        predicted, predictor = self._predict(torch.full((batch,), self.blank, dtype=torch.long, device=device), None)
        empty: list[list[Any]] = [[] for _ in range(batch)]
        zeros = torch.zeros(batch, dtype=torch.float64, device=device)
        return StreamState(
            None,
            predicted,
            predictor,
            empty,
            [[] for _ in range(batch)],
            [[] for _ in range(batch)],
            zeros,
            torch.zeros(batch, dtype=torch.long, device=device),
        )

    def decode_stream(
        self, features: torch.Tensor, lengths: torch.Tensor, state: StreamState | None = None
    ) -> tuple[list[list[Hypothesis]], StreamState]:
        """Decode one chunk through ``model.transcribe_streaming``; returns the hypotheses so far and the state."""
        features, lengths = self._check(features, lengths)
        stream = getattr(self.model, "transcribe_streaming", None)
        if not callable(stream):
            raise InvalidParameterError(type(self).__name__, ["model: has no transcribe_streaming() method"])
        with torch.no_grad():
            state = state or self.start(features.shape[0], features.device)
            encodings, encoded_lengths, transcriber = stream(features, lengths, state.transcriber)
            state = self._decode(encodings, encoded_lengths, state._replace(transcriber=transcriber))
        return self._results(state), state

    def _decode(self, encodings: torch.Tensor, lengths: torch.Tensor, state: StreamState) -> StreamState:
        """Label looping: each step finds every utterance's next token at or after its own frame, joining
        (without predicting) past its blanks, then runs the predictor once for all that emitted."""
        with intra_op_threads(encodings[:, :_LOOKAHEAD]):
            return self._label_loop(encodings, lengths, state)

    def _label_loop(self, encodings: torch.Tensor, lengths: torch.Tensor, state: StreamState) -> StreamState:
        """The loop's bookkeeping is a host-side ``Loop`` (``_rnnt_greedy_loop``), where an operation costs a
        fraction of a tensor operation's dispatch; the encodings' device gathers and joins each window and
        runs the predictor."""
        device = encodings.device
        loop = Loop(lengths.cpu().numpy(), state.scores.cpu().numpy(), self.blank)
        predicted, predictor = state.predictor_out, state.predictor
        count, length, width = encodings.shape
        flat = encodings.reshape(count * length, width)
        starts = np.arange(count)[:, None] * length
        offsets = np.arange(_LOOKAHEAD)
        frame_offset = state.frames.cpu().numpy()
        records: list[Step] = []
        while loop.active().any():
            loop.start_step()
            while loop.searching.any():
                frames = starts + np.minimum(loop.t[:, None] + offsets, length - 1)
                window = flat.index_select(0, torch.from_numpy(frames.reshape(-1)).to(device))
                best, token = self._window_log_probs(window.view(count, _LOOKAHEAD, width), predicted).max(-1)
                loop.scan(best.cpu().numpy(), token.cpu().numpy())
            if not loop.emit.any():
                break
            records.append((loop.emit, loop.token, loop.t + frame_offset, loop.best))
            new_out, new_state = self._predict(torch.from_numpy(loop.token).to(device), predictor)
            if loop.emit.all():
                predicted, predictor = new_out, new_state
            else:
                emit = torch.from_numpy(loop.emit).to(device)
                predicted = torch.where(emit[:, None], new_out, predicted)
                predictor = _where_state(emit, new_state, predictor)
            loop.end_step(self.max_symbols)
        self._append(state, records)
        return state._replace(
            predictor_out=predicted,
            predictor=predictor,
            scores=torch.from_numpy(loop.scores).to(device),
            frames=state.frames + lengths,
        )

    @staticmethod
    def _append(state: StreamState, records: list[Step]) -> None:
        """Add each step's emitted tokens, frames and probabilities to the utterances' lists, once per call."""
        if not records:
            return
        emit, token, frame, best = (np.stack(column, 1) for column in zip(*records, strict=True))
        probability = torch.from_numpy(best).exp().numpy()  # torch's exp, as the scores' log-probabilities
        for b, mask in enumerate(emit):
            state.tokens[b].extend(token[b, mask].tolist())
            state.timesteps[b].extend(frame[b, mask].tolist())
            state.probabilities[b].extend(probability[b, mask].tolist())

    def _results(self, state: StreamState) -> list[list[Hypothesis]]:
        return [
            [self._hypothesis(list(tok), list(step), list(prob), float(score))]
            for tok, step, prob, score in zip(
                state.tokens, state.timesteps, state.probabilities, state.scores.tolist(), strict=True
            )
        ]


class _Beam(NamedTuple):
    """A beam of ``size`` hypotheses per utterance: ``(B, S)`` scores and history hashes, and the predictor's
    ``(B * S, D)`` output and state for each."""

    score: torch.Tensor
    hist: torch.Tensor
    predicted: torch.Tensor
    predictor: State


class RNNTBeamDecoder(_RNNTBase):
    """Beam search for RNN-T (modified beam search or ALSD), batched over utterances and beam; see the module
    docstring.

    Example:
        >>> model = TinyTransducer(features=3, tokens=4)
        >>> found = RNNTBeamDecoder(model=model, blank=3, beam_size=4, nbest=2)(torch.randn(2, 5, 3))
        >>> len(found), len(found[0]) <= 2
        (2, True)
        >>> alsd = RNNTBeamDecoder(model=model, blank=3, method="alsd", u_max=6)(torch.randn(1, 5, 3))[0][0]
        >>> len(alsd.tokens) <= 6
        True
    """

    def __init__(
        self,
        model: Annotated[Any, Field(description="A model with transcribe, predict and join (torchaudio's RNNT).")],
        blank: Annotated[int, Field(ge=0, le=1_000_000, description="Index of the blank token.")],
        tokens: Annotated[list[str] | str | None, Field(description="The token set, for words.")] = None,
        beam_size: Annotated[int, Field(ge=1, le=1000, description="Hypotheses kept after each step.")] = 4,
        nbest: Annotated[int, Field(ge=1, le=1000, description="Hypotheses returned per utterance.")] = 1,
        log_add: Annotated[bool, Field(description="Merge equal token sequences by log-add (else max).")] = True,
        method: Annotated[
            Literal["modified", "alsd"],
            Field(
                description="'modified': one step per frame, at most one token per frame; 'alsd': alignment-length "
                "synchronous decoding, one step per blank or token, any number of tokens per frame."
            ),
        ] = "modified",
        u_max: Annotated[
            int | None,
            Field(ge=1, le=1_000_000, description="ALSD: most tokens per utterance (default: its frame count)."),
        ] = None,
    ) -> None:
        super().__init__()
        params: Any = validated_arguments(type(self), locals())  # fields: the signature above
        if params.u_max is not None and params.method != "alsd":
            raise InvalidParameterError(type(self).__name__, ["u_max: only used with method='alsd'"])
        self._setup(_WithSymbols(params))
        self.beam_size: int = params.beam_size
        self.nbest: int = params.nbest
        self.log_add: bool = params.log_add
        self.method: Literal["modified", "alsd"] = params.method
        self.u_max: int | None = params.u_max

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> list[list[Hypothesis]]:
        """Transcribe, then search; per utterance up to ``nbest`` hypotheses, best first."""
        features, lengths = self._check(features, lengths)
        with torch.no_grad():
            encodings, encoded_lengths = self.model.transcribe(features, lengths)
            search = self._alsd if self.method == "alsd" else self._modified
            with intra_op_threads(encodings[:, : self.beam_size]):  # a step joins beam_size frames an utterance
                return search(encodings, encoded_lengths)

    def _start(self, batch: int, device: torch.device) -> _Beam:
        """Every utterance's beam: the empty hypothesis (score 0) in slot 0, the other slots empty (``-inf``)."""
        size = self.beam_size
        predicted, predictor = self._predict(
            torch.full((batch * size,), self.blank, dtype=torch.long, device=device), None
        )
        score = torch.full((batch, size), _NEG_INF, dtype=torch.float64, device=device)
        score[:, 0] = 0.0
        return _Beam(score, torch.full((batch, size), ROOT, dtype=torch.long, device=device), predicted, predictor)

    def _expand(self, beam: _Beam, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, S * (k + 1))`` candidates: each hypothesis joined with its ``(B, S, D)`` frame followed by a blank
        or by one of its ``k = min(S, V - 1)`` likeliest tokens (``token`` -1 for the blank)."""
        batch, size = beam.score.shape
        log_probs = self._log_probs(frames.reshape(batch * size, -1), beam.predicted).double().view(batch, size, -1)
        masked = log_probs.clone()
        masked[..., self.blank] = _NEG_INF
        top_values, top_tokens = masked.topk(min(size, log_probs.shape[-1] - 1), -1)
        tokens = torch.cat([torch.full_like(top_tokens[..., :1], self.blank), top_tokens], -1)
        values = torch.cat([log_probs[..., self.blank : self.blank + 1], top_values], -1)
        is_token = tokens != self.blank
        slots = torch.arange(size, device=tokens.device)
        return {
            "score": (beam.score[..., None] + values).reshape(batch, -1),
            "hist": torch.where(is_token, extend(beam.hist[..., None], tokens), beam.hist[..., None]).flatten(1),
            "parent": slots[None, :, None].expand_as(tokens).reshape(batch, -1),
            "token": torch.where(is_token, tokens, -1).reshape(batch, -1),
            "probability": values.exp().reshape(batch, -1),
        }

    def _advance(self, beam: _Beam, score: torch.Tensor, hist: torch.Tensor, keep: dict[str, torch.Tensor]) -> _Beam:
        """The next beam: each slot takes its parent's predictor state (``keep["parent"]``), then the predictor
        runs once for every slot that emitted a token (``keep["token"]`` >= 0)."""
        batch, size = score.shape
        source = (torch.arange(batch, device=score.device)[:, None] * size + keep["parent"]).reshape(-1)
        predicted, predictor = beam.predicted[source], _select_state(beam.predictor, source)
        emitted = keep["token"].reshape(-1) >= 0
        if bool(emitted.any()):
            new_out, new_state = self._predict(keep["token"].reshape(-1).clamp(min=0), predictor)
            predicted = torch.where(emitted[:, None], new_out, predicted)
            predictor = _where_state(emitted, new_state, predictor)
        return _Beam(score, hist, predicted, predictor)

    def _modified(self, encodings: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        """Modified beam search: one step per frame, a blank or one token per hypothesis."""
        batch, frames, _ = encodings.shape
        size = self.beam_size
        beam = self._start(batch, encodings.device)
        slots = torch.arange(size, device=encodings.device).expand(batch, size)
        records: list[dict[str, torch.Tensor]] = []
        for t in range(frames):
            candidates = self._expand(beam, encodings[:, t][:, None].expand(batch, size, -1))
            chosen = select(candidates, candidates["hist"], size, float("inf"), self.log_add)
            running = (lengths > t)[:, None]
            keep = {
                "parent": torch.where(running, chosen["parent"], slots),
                "token": torch.where(running, chosen["token"], -1),
                "probability": chosen["probability"],
                "frame": torch.full_like(slots, t),
            }
            records.append(keep)
            score = torch.where(running, chosen["score"], beam.score)
            beam = self._advance(beam, score, torch.where(running, chosen["hist"], beam.hist), keep)
        return self._paths(beam.score, torch.full_like(slots, len(records)), slots, records)

    def _alsd(self, encodings: torch.Tensor, lengths: torch.Tensor) -> list[list[Hypothesis]]:
        """Alignment-length synchronous decoding: step ``i`` holds hypotheses of ``u`` tokens at frame
        ``t = i - u``; each proposes a blank (to frame ``t + 1``) or a token (to ``u + 1``, up to ``u_max``).
        Hypotheses with the same tokens meet at the same ``(t, u)`` and merge as in modified beam search; a
        blank at an utterance's last frame ends a hypothesis, which leaves the beam for the ``S`` best ended."""
        batch, frames, _ = encodings.shape
        size, device = self.beam_size, encodings.device
        beam = self._start(batch, device)
        empty = (lengths == 0)[:, None]
        beam = beam._replace(score=torch.where(empty, _NEG_INF, beam.score))
        first = torch.arange(size, device=device) == 0
        ended = {
            "score": torch.where(empty & first, 0.0, beam.score.new_full((), _NEG_INF)),
            "end": torch.zeros(batch, size, dtype=torch.long, device=device),
            "parent": torch.zeros(batch, size, dtype=torch.long, device=device),
        }
        limit = (lengths if self.u_max is None else torch.full_like(lengths, self.u_max))[:, None]
        rows = torch.arange(batch, device=device)[:, None]
        u = torch.zeros(batch, size, dtype=torch.long, device=device)
        records: list[dict[str, torch.Tensor]] = []
        while bool(torch.isfinite(beam.score).any()):
            step = len(records)
            candidates = self._expand(beam, encodings[rows, (step - u).clamp(0, max(frames - 1, 0))])
            parent_u = u.gather(1, candidates["parent"])
            is_token = candidates["token"] >= 0
            last = ~is_token & (step - parent_u + 1 >= lengths[:, None])
            score = torch.where(is_token & (parent_u >= limit), _NEG_INF, candidates["score"])
            pool = {
                "score": torch.cat([ended["score"], torch.where(last, score, _NEG_INF)], 1),
                "end": torch.cat([ended["end"], torch.full_like(parent_u, step)], 1),
                "parent": torch.cat([ended["parent"], candidates["parent"]], 1),
            }
            best = pool["score"].topk(size, 1).indices
            ended = {name: value.gather(1, best) for name, value in pool.items()}
            candidates.update(score=torch.where(last, _NEG_INF, score), u=parent_u + is_token.long())
            candidates["frame"] = step - parent_u
            chosen = select(candidates, candidates["hist"], size, float("inf"), self.log_add)
            u = chosen.pop("u")
            records.append(chosen)
            beam = self._advance(beam, chosen["score"], chosen["hist"], chosen)
        return self._paths(ended["score"], ended["end"], ended["parent"], records)

    def _paths(
        self, score: torch.Tensor, end: torch.Tensor, slot: torch.Tensor, records: list[dict[str, torch.Tensor]]
    ) -> list[list[Hypothesis]]:
        """The ``nbest`` best of ``(B, S)`` ended hypotheses: hypothesis ``n`` is the path to slot ``slot[n]``
        after the first ``end[n]`` steps, traced back through each step's ``parent``, ``token``,
        ``probability`` and ``frame``."""
        order = score.argsort(1, descending=True)[:, : self.nbest]
        pointer, stop = slot.gather(1, order), end.gather(1, order)
        tokens, probabilities, frames = [], [], []
        for index in range(len(records) - 1, -1, -1):
            record, inside = records[index], index < stop
            tokens.append(torch.where(inside, record["token"].gather(1, pointer), -1))
            probabilities.append(record["probability"].gather(1, pointer))
            frames.append(record["frame"].gather(1, pointer))
            pointer = torch.where(inside, record["parent"].gather(1, pointer), pointer)
        path = torch.stack(tokens[::-1], -1).cpu() if tokens else torch.zeros(*order.shape, 0, dtype=torch.long)
        chance = torch.stack(probabilities[::-1], -1).cpu() if probabilities else path.double()
        frame = torch.stack(frames[::-1], -1).cpu() if frames else path
        best = score.gather(1, order).cpu()
        out: list[list[Hypothesis]] = []
        for b in range(order.shape[0]):
            found = []
            for n in range(order.shape[1]):
                if not bool(torch.isfinite(best[b, n])):
                    continue
                steps = (path[b, n] >= 0).nonzero().flatten()
                found.append(
                    self._hypothesis(
                        path[b, n, steps].tolist(),
                        frame[b, n, steps].tolist(),
                        chance[b, n, steps].tolist(),
                        float(best[b, n]),
                    )
                )
            out.append(found)
        return out


class _WithSymbols:
    """The beam decoder's parameters seen by the shared setup (one token per frame)."""

    def __init__(self, params: Any) -> None:
        self.model, self.blank, self.tokens = params.model, params.blank, params.tokens
        self.max_symbols_per_step = 1
