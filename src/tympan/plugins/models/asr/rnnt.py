"""The recurrent neural network transducer (Graves, 2012): a transcription network over acoustic frames, a
prediction network over the previous labels, and a joint network combining every pair.

:class:`RNNT` exposes the interface the transducer decoders use: :meth:`~RNNT.transcribe` (or
:meth:`~RNNT.transcribe_streaming` one segment at a time), :meth:`~RNNT.predict` and :meth:`~RNNT.join`.
The transcription networks and builders are in :mod:`.transducers`.

Example:
    >>> import torch
    >>> predictor = Predictor(num_symbols=5, output_dim=6, symbol_embedding_dim=4, num_lstm_layers=1,
    ...                       lstm_hidden_dim=4)
    >>> encodings, lengths, state = predictor(torch.tensor([[1, 2, 3]]), torch.tensor([3]))
    >>> encodings.shape, [tuple(t.shape) for t in state[0]]
    (torch.Size([1, 3, 6]), [(1, 4), (1, 4)])
"""

from __future__ import annotations

import torch
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._recurrence import exporting, lstm_scan

__all__ = ["CustomLSTM", "Joiner", "Predictor", "RNNT", "TimeReduction"]


class TimeReduction(nn.Module):
    """Stacks ``stride`` consecutive frames into one: ``(B, T, D)`` to ``(B, T // stride, D * stride)``.

    Example:
        >>> import torch
        >>> out, lengths = TimeReduction(2)(torch.arange(10.0).view(1, 5, 2), torch.tensor([5]))
        >>> out.tolist(), lengths.tolist()
        ([[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]], [2])
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, input: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The reduced frames and lengths (frames left over at the end are dropped)."""
        reduced = input.size(1) // self.stride
        # the kept frames gathered into a tensor of their own (B, reduced * stride, D), then grouped
        kept = input.index_select(1, torch.arange(reduced * self.stride, device=input.device))
        output = kept.unflatten(1, [reduced, self.stride]).flatten(2)
        return output, lengths.div(self.stride, rounding_mode="trunc")


class CustomLSTM(nn.Module):
    """An LSTM over ``(T, B, D)`` whose gates and cell may be layer-normalised; state is ``[h, c]``.

    Example:
        >>> import torch
        >>> out, (h, c) = CustomLSTM(3, 4, layer_norm=True)(torch.randn(5, 2, 3), None)
        >>> out.shape, torch.equal(out[-1], h)
        (torch.Size([5, 2, 4]), True)
    """

    def __init__(
        self, input_dim: int, hidden_dim: int, layer_norm: bool = False, layer_norm_epsilon: float = 1e-5
    ) -> None:
        super().__init__()
        self.x2g = nn.Linear(input_dim, 4 * hidden_dim, bias=not layer_norm)
        self.p2g = nn.Linear(hidden_dim, 4 * hidden_dim, bias=False)
        if layer_norm:
            self.c_norm: nn.Module = nn.LayerNorm(hidden_dim, eps=layer_norm_epsilon)
            self.g_norm: nn.Module = nn.LayerNorm(4 * hidden_dim, eps=layer_norm_epsilon)
        else:
            self.c_norm = nn.Identity()
            self.g_norm = nn.Identity()
        self.hidden_dim = hidden_dim

    def forward(self, input: torch.Tensor, state: list[torch.Tensor] | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Run over ``input`` ``(T, B, D)`` from ``state`` (zeros when ``None``); outputs ``(T, B, hidden)``."""
        if state is None:
            h = input.new_zeros(input.size(1), self.hidden_dim)
            c = input.new_zeros(input.size(1), self.hidden_dim)
        else:
            h, c = state[0], state[1]
        input_gates = self.x2g(input)  # every step's input contribution in one product
        if not torch.jit.is_scripting() and exporting():
            # the same recurrence as one scan, whose number of steps stays symbolic when exported
            return lstm_scan(self, input_gates, h, c)
        outputs: list[torch.Tensor] = []
        for step_gates in input_gates.unbind(0):  # the recurrence itself is sequential
            h, c = self._step(step_gates, h, c)
            outputs.append(h)
        return torch.stack(outputs, dim=0), [h, c]

    def _step(self, step_gates: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        gates = self.g_norm(step_gates + self.p2g(h))
        in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, 1)
        c = self.c_norm(forget_gate.sigmoid() * c + in_gate.sigmoid() * cell_gate.tanh())
        return out_gate.sigmoid() * c.tanh(), c


class Predictor(nn.Module):
    """The prediction network: label embedding, layer norm, a stack of :class:`CustomLSTM`, a linear output
    and a layer norm.

    Example:
        >>> import torch
        >>> net = Predictor(10, 8, 6, num_lstm_layers=2, lstm_hidden_dim=6, lstm_layer_norm=True)
        >>> net(torch.zeros(2, 4, dtype=torch.long), torch.tensor([4, 2]))[0].shape
        torch.Size([2, 4, 8])
    """

    def __init__(
        self,
        num_symbols: int,
        output_dim: int,
        symbol_embedding_dim: int,
        num_lstm_layers: int,
        lstm_hidden_dim: int,
        lstm_layer_norm: bool = False,
        lstm_layer_norm_epsilon: float = 1e-5,
        lstm_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_symbols, symbol_embedding_dim)
        self.input_layer_norm = nn.LayerNorm(symbol_embedding_dim)
        self.lstm_layers = nn.ModuleList(
            CustomLSTM(
                symbol_embedding_dim if index == 0 else lstm_hidden_dim,
                lstm_hidden_dim,
                layer_norm=lstm_layer_norm,
                layer_norm_epsilon=lstm_layer_norm_epsilon,
            )
            for index in range(num_lstm_layers)
        )
        self.dropout = nn.Dropout(p=lstm_dropout)
        self.linear = nn.Linear(lstm_hidden_dim, output_dim)
        self.output_layer_norm = nn.LayerNorm(output_dim)
        self.lstm_dropout = lstm_dropout

    def forward(
        self, input: torch.Tensor, lengths: torch.Tensor, state: list[list[torch.Tensor]] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """Encode labels ``input`` ``(B, U)``: ``(encodings (B, U, output_dim), lengths, state per layer)``."""
        x = self.input_layer_norm(self.embedding(input.permute(1, 0)))
        state_out: list[list[torch.Tensor]] = []
        for index, lstm in enumerate(self.lstm_layers):
            x, layer_state = lstm(x, None if state is None else state[index])
            x = self.dropout(x)
            state_out.append(layer_state)
        return self.output_layer_norm(self.linear(x)).permute(1, 0, 2), lengths, state_out


class Joiner(nn.Module):
    """The joint network: ``linear(activation(source_t + target_u))`` for every pair, ``(B, T, U, output_dim)``.

    Example:
        >>> import torch
        >>> out, _, _ = Joiner(4, 3)(torch.randn(2, 5, 4), torch.tensor([5, 5]), torch.randn(2, 3, 4),
        ...                         torch.tensor([3, 3]))
        >>> out.shape
        torch.Size([2, 5, 3, 3])
    """

    def __init__(self, input_dim: int, output_dim: int, activation: str = "relu") -> None:
        super().__init__()
        self.linear = nn.Linear(input_dim, output_dim, bias=True)
        if activation == "relu":
            self.activation: nn.Module = nn.ReLU()
        elif activation == "tanh":
            self.activation = nn.Tanh()
        else:
            raise ValueError(f"Unsupported activation {activation}")

    def forward(
        self,
        source_encodings: torch.Tensor,
        source_lengths: torch.Tensor,
        target_encodings: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The joint outputs and both lengths, unchanged."""
        joint = source_encodings.unsqueeze(2) + target_encodings.unsqueeze(1)
        return self.linear(self.activation(joint)), source_lengths, target_lengths


class RNNT(nn.Module):
    """A transducer from its three networks; build one with :func:`~.transducers.emformer_rnnt_model` or
    :func:`~.transducers.conformer_rnnt_model`.

    Example:
        >>> import torch
        >>> from tympan.plugins.models import emformer_rnnt_model
        >>> model = emformer_rnnt_model(input_dim=8, encoding_dim=8, num_symbols=5, segment_length=4,
        ...     right_context_length=2, time_reduction_input_dim=4, time_reduction_stride=2,
        ...     transformer_num_heads=2, transformer_ffn_dim=8, transformer_num_layers=1,
        ...     symbol_embedding_dim=4, num_lstm_layers=1)
        >>> out, source_lengths, target_lengths, _ = model(torch.randn(1, 10, 8), torch.tensor([8]),
        ...                                               torch.tensor([[1, 2]]), torch.tensor([2]))
        >>> out.shape, source_lengths.tolist()
        (torch.Size([1, 4, 2, 5]), [4])
    """

    scriptable = True

    def __init__(self, transcriber: nn.Module, predictor: Predictor, joiner: Joiner) -> None:
        super().__init__()
        self.transcriber = transcriber
        self.predictor = predictor
        self.joiner = joiner
        self.export_axes = ExportAxes(
            dims=({1: "frames"}, {}, {1: "tokens"}, {}),
            lengths={1: "frames", 3: "tokens"},
            min_sizes={"frames": transcriber.shortest_input()},
            runtime_checks=transcriber.export_runtime_checks(),
        )

    def forward(
        self,
        sources: torch.Tensor,
        source_lengths: torch.Tensor,
        targets: torch.Tensor,
        target_lengths: torch.Tensor,
        predictor_state: list[list[torch.Tensor]] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """Training pass: the joint network's ``(B, T, U, num_symbols)`` outputs, the source and target
        lengths, and the prediction network's state."""
        source_encodings, source_lengths = self.transcriber(sources, source_lengths)
        target_encodings, target_lengths, predictor_state = self.predictor(targets, target_lengths, predictor_state)
        output, source_lengths, target_lengths = self.joiner(
            source_encodings, source_lengths, target_encodings, target_lengths
        )
        return output, source_lengths, target_lengths, predictor_state

    @torch.jit.export
    def transcribe_streaming(
        self, sources: torch.Tensor, source_lengths: torch.Tensor, state: list[list[torch.Tensor]] | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """The transcription network over one segment (with its right context), carrying ``state``."""
        return self.transcriber.infer(sources, source_lengths, state)

    @torch.jit.export
    def transcribe(self, sources: torch.Tensor, source_lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The transcription network over whole utterances."""
        return self.transcriber(sources, source_lengths)

    @torch.jit.export
    def predict(
        self, targets: torch.Tensor, target_lengths: torch.Tensor, state: list[list[torch.Tensor]] | None
    ) -> tuple[torch.Tensor, torch.Tensor, list[list[torch.Tensor]]]:
        """The prediction network over labels ``(B, U)`` from ``state``."""
        return self.predictor(targets, target_lengths, state)

    @torch.jit.export
    def join(
        self,
        source_encodings: torch.Tensor,
        source_lengths: torch.Tensor,
        target_encodings: torch.Tensor,
        target_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The joint network over every (frame, label) pair."""
        return self.joiner(source_encodings, source_lengths, target_encodings, target_lengths)

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``batch`` random utterances (with the transcriber's right context) and label sequences."""
        generator = torch.Generator().manual_seed(0)
        frames, extra, dim = self.transcriber.example_shape()
        symbols = self.predictor.embedding.num_embeddings
        sources = torch.randn(batch, frames + extra, dim, generator=generator)
        targets = torch.randint(0, symbols - 1, (batch, 3), generator=generator)
        return sources, torch.full((batch,), frames), targets, torch.full((batch,), 3)
