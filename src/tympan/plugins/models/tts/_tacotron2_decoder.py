"""Tacotron 2's autoregressive decoder: a two-layer prenet, an attention LSTM, location-sensitive attention
over the encoder outputs, a decoder LSTM, and linear projections to mel frames and the stop gate.

The prenet keeps its dropout in every mode, as the paper prescribes (it is what makes inference vary).

Example:
    >>> import torch
    >>> decoder = Decoder(n_mels=4, n_frames_per_step=1, encoder_embedding_dim=6, decoder_rnn_dim=8,
    ...     decoder_max_step=5, decoder_dropout=0.0, decoder_early_stopping=True, attention_rnn_dim=8,
    ...     attention_hidden_dim=4, attention_location_n_filter=2, attention_location_kernel_size=3,
    ...     attention_dropout=0.0, prenet_dim=4, gate_threshold=0.5)
    >>> mel, gate, alignment = decoder(torch.randn(2, 7, 6), torch.randn(2, 4, 3), torch.tensor([7, 5]))
    >>> mel.shape, gate.shape, alignment.shape
    (torch.Size([2, 4, 3]), torch.Size([2, 3]), torch.Size([2, 3, 7]))
"""

from __future__ import annotations

import itertools
import warnings

import torch
from torch import nn

from tympan.plugins.models._masks import lengths_to_padding_mask
from tympan.plugins.models._recurrence import exporting, scan_steps

__all__ = ["Attention", "Decoder", "Prenet", "conv1d_layer", "linear_layer"]


def linear_layer(in_dim: int, out_dim: int, bias: bool = True, w_init_gain: str = "linear") -> nn.Linear:
    """A linear layer with Xavier-uniform weights scaled for the activation that follows.

    Example:
        >>> linear_layer(3, 2, bias=False).bias is None
        True
    """
    linear = nn.Linear(in_dim, out_dim, bias=bias)
    nn.init.xavier_uniform_(linear.weight, gain=nn.init.calculate_gain(w_init_gain))
    return linear


def conv1d_layer(
    in_channels: int, out_channels: int, kernel_size: int, bias: bool = True, w_init_gain: str = "linear"
) -> nn.Conv1d:
    """A 'same'-padded convolution of odd ``kernel_size`` with Xavier-uniform weights.

    Example:
        >>> conv1d_layer(2, 3, 5).padding
        (2,)
    """
    if kernel_size % 2 != 1:
        raise ValueError("kernel_size must be odd")
    conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=(kernel_size - 1) // 2, bias=bias)
    nn.init.xavier_uniform_(conv.weight, gain=nn.init.calculate_gain(w_init_gain))
    return conv


class _LocationLayer(nn.Module):
    def __init__(self, attention_n_filter: int, attention_kernel_size: int, attention_hidden_dim: int) -> None:
        super().__init__()
        self.location_conv = conv1d_layer(2, attention_n_filter, attention_kernel_size, bias=False)
        self.location_dense = linear_layer(attention_n_filter, attention_hidden_dim, bias=False, w_init_gain="tanh")

    def forward(self, attention_weights_cat: torch.Tensor) -> torch.Tensor:
        return self.location_dense(self.location_conv(attention_weights_cat).transpose(1, 2))


class Attention(nn.Module):
    """Location-sensitive attention: energies ``v(tanh(W q + V m + U conv([a, sum a])))`` over the memory.

    Example:
        >>> import torch
        >>> attention = Attention(4, 6, 3, 2, 3)
        >>> memory = torch.randn(1, 5, 6)
        >>> context, weights = attention(torch.randn(1, 4), memory, attention.memory_layer(memory),
        ...                              torch.zeros(1, 2, 5), torch.zeros(1, 5, dtype=torch.bool))
        >>> context.shape, round(weights.sum().item(), 6)
        (torch.Size([1, 6]), 1.0)
    """

    def __init__(
        self,
        attention_rnn_dim: int,
        encoder_embedding_dim: int,
        attention_hidden_dim: int,
        attention_location_n_filter: int,
        attention_location_kernel_size: int,
    ) -> None:
        super().__init__()
        self.query_layer = linear_layer(attention_rnn_dim, attention_hidden_dim, bias=False, w_init_gain="tanh")
        self.memory_layer = linear_layer(encoder_embedding_dim, attention_hidden_dim, bias=False, w_init_gain="tanh")
        self.v = linear_layer(attention_hidden_dim, 1, bias=False)
        self.location_layer = _LocationLayer(
            attention_location_n_filter, attention_location_kernel_size, attention_hidden_dim
        )
        self.score_mask_value = -float("inf")

    def forward(
        self,
        attention_hidden_state: torch.Tensor,
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        attention_weights_cat: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(context (B, encoder_dim), weights (B, T_in))`` for one decoder step."""
        query = self.query_layer(attention_hidden_state.unsqueeze(1))
        location = self.location_layer(attention_weights_cat)
        energies = self.v(torch.tanh(query + location + processed_memory)).squeeze(2)
        weights = torch.softmax(energies.masked_fill(mask, self.score_mask_value), dim=1)
        return torch.bmm(weights.unsqueeze(1), memory).squeeze(1), weights


class Prenet(nn.Module):
    """Linear layers without bias, each followed by ReLU and dropout (0.5) in every mode.

    Example:
        >>> import torch
        >>> Prenet(4, [3, 3])(torch.ones(2, 4)).shape
        torch.Size([2, 3])
    """

    def __init__(self, in_dim: int, out_sizes: list[int], dropout: float = 0.5) -> None:
        super().__init__()
        sizes = [in_dim, *out_sizes]
        self.layers = nn.ModuleList(linear_layer(a, b, bias=False) for a, b in itertools.pairwise(sizes))
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for linear in self.layers:
            x = nn.functional.dropout(torch.relu(linear(x)), p=self.dropout, training=True)
        return x


class Decoder(nn.Module):
    """The decoder; :meth:`forward` is teacher-forced, :meth:`infer` feeds back its own frames until every
    item's gate fires (or ``decoder_max_step``)."""

    def __init__(
        self,
        n_mels: int,
        n_frames_per_step: int,
        encoder_embedding_dim: int,
        decoder_rnn_dim: int,
        decoder_max_step: int,
        decoder_dropout: float,
        decoder_early_stopping: bool,
        attention_rnn_dim: int,
        attention_hidden_dim: int,
        attention_location_n_filter: int,
        attention_location_kernel_size: int,
        attention_dropout: float,
        prenet_dim: int,
        gate_threshold: float,
        prenet_dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.n_mels = n_mels
        self.n_frames_per_step = n_frames_per_step
        self.encoder_embedding_dim = encoder_embedding_dim
        self.attention_rnn_dim = attention_rnn_dim
        self.decoder_rnn_dim = decoder_rnn_dim
        self.prenet_dim = prenet_dim
        self.decoder_max_step = decoder_max_step
        self.gate_threshold = gate_threshold
        self.attention_dropout = attention_dropout
        self.decoder_dropout = decoder_dropout
        self.decoder_early_stopping = decoder_early_stopping
        frame = n_mels * n_frames_per_step
        self.prenet = Prenet(frame, [prenet_dim, prenet_dim], prenet_dropout)
        self.attention_rnn = nn.LSTMCell(prenet_dim + encoder_embedding_dim, attention_rnn_dim)
        self.attention_layer = Attention(
            attention_rnn_dim,
            encoder_embedding_dim,
            attention_hidden_dim,
            attention_location_n_filter,
            attention_location_kernel_size,
        )
        self.decoder_rnn = nn.LSTMCell(attention_rnn_dim + encoder_embedding_dim, decoder_rnn_dim, True)
        self.linear_projection = linear_layer(decoder_rnn_dim + encoder_embedding_dim, frame)
        self.gate_layer = linear_layer(decoder_rnn_dim + encoder_embedding_dim, 1, bias=True, w_init_gain="sigmoid")

    def _initial_state(self, memory: torch.Tensor) -> list[torch.Tensor]:
        """Zero LSTM states, attention weights, cumulated weights and context."""
        batch, frames = memory.size(0), memory.size(1)
        return [
            memory.new_zeros(batch, self.attention_rnn_dim),
            memory.new_zeros(batch, self.attention_rnn_dim),
            memory.new_zeros(batch, self.decoder_rnn_dim),
            memory.new_zeros(batch, self.decoder_rnn_dim),
            memory.new_zeros(batch, frames),
            memory.new_zeros(batch, frames),
            memory.new_zeros(batch, self.encoder_embedding_dim),
        ]

    def _step(
        self,
        frame: torch.Tensor,
        state: list[torch.Tensor],
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """One step from the prenet output ``frame``: ``(mel frame, gate logit, new state)``."""
        attention_hidden, attention_cell, decoder_hidden, decoder_cell, weights, weights_cum, context = state
        attention_hidden, attention_cell = self.attention_rnn(
            torch.cat((frame, context), -1), (attention_hidden, attention_cell)
        )
        attention_hidden = nn.functional.dropout(attention_hidden, self.attention_dropout, self.training)
        location = torch.stack((weights, weights_cum), dim=1)
        context, weights = self.attention_layer(attention_hidden, memory, processed_memory, location, mask)
        weights_cum = weights_cum + weights
        decoder_hidden, decoder_cell = self.decoder_rnn(
            torch.cat((attention_hidden, context), -1), (decoder_hidden, decoder_cell)
        )
        decoder_hidden = nn.functional.dropout(decoder_hidden, self.decoder_dropout, self.training)
        projected = torch.cat((decoder_hidden, context), dim=1)
        new_state = [attention_hidden, attention_cell, decoder_hidden, decoder_cell, weights, weights_cum, context]
        return self.linear_projection(projected), self.gate_layer(projected), new_state

    def _frames(self, outputs: torch.Tensor) -> torch.Tensor:
        """Stacked step outputs ``(steps, B, n_mels * n_frames_per_step)`` as ``(B, n_mels, frames)``."""
        return outputs.transpose(0, 1).reshape(outputs.size(1), -1, self.n_mels).transpose(1, 2)

    def forward(
        self, memory: torch.Tensor, mel_specgram_truth: torch.Tensor, memory_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced decoding of ``mel_specgram_truth`` ``(B, n_mels, frames)``: mel frames, gate
        logits ``(B, steps)`` and alignments ``(B, steps, T_in)``."""
        batch = memory.size(0)
        truth = mel_specgram_truth.transpose(1, 2).reshape(batch, -1, self.n_mels * self.n_frames_per_step)
        go = memory.new_zeros(1, batch, self.n_mels * self.n_frames_per_step)
        frames = self.prenet(torch.cat((go, truth.transpose(0, 1)), dim=0))  # every step's prenet at once
        mask = lengths_to_padding_mask(memory_lengths, memory.size(1))
        processed_memory = self.attention_layer.memory_layer(memory)
        state = self._initial_state(memory)
        if not torch.jit.is_scripting() and exporting():
            # the same recurrence as one scan, whose number of steps stays symbolic when exported
            mels, gates, alignments = self._scan(frames[:-1], state, memory, processed_memory, mask)
        else:
            mel_steps: list[torch.Tensor] = []
            gate_steps: list[torch.Tensor] = []
            alignment_steps: list[torch.Tensor] = []
            for step in range(frames.size(0) - 1):
                mel, gate, state = self._step(frames[step], state, memory, processed_memory, mask)
                mel_steps.append(mel)
                gate_steps.append(gate.squeeze(1))
                alignment_steps.append(state[4])
            mels, gates, alignments = torch.stack(mel_steps), torch.stack(gate_steps), torch.stack(alignment_steps)
        return self._frames(mels), gates.transpose(0, 1), alignments.transpose(0, 1)

    @torch.jit.unused
    def _scan(
        self,
        frames: torch.Tensor,
        state: list[torch.Tensor],
        memory: torch.Tensor,
        processed_memory: torch.Tensor,
        mask: torch.Tensor,
    ) -> list[torch.Tensor]:
        """:meth:`_step` over the prenet outputs ``frames`` ``(steps, B, prenet_dim)``: every step's mel frame,
        gate logit and attention weights, stacked ``(steps, B, ...)``."""

        def step(frame: torch.Tensor, state: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
            mel, gate, new_state = self._step(frame, state, memory, processed_memory, mask)
            return new_state, [mel, gate.squeeze(1), new_state[4]]

        return scan_steps(step, state, frames)[0]

    @torch.jit.export
    def infer(
        self, memory: torch.Tensor, memory_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Free-running decoding: mel frames, their lengths (frames before each gate fired), gate logits
        ``(B, steps)`` and alignments ``(B, steps, T_in)``."""
        batch = memory.size(0)
        frame = memory.new_zeros(batch, self.n_mels * self.n_frames_per_step)
        mask = lengths_to_padding_mask(memory_lengths, memory.size(1))
        processed_memory = self.attention_layer.memory_layer(memory)
        state = self._initial_state(memory)
        lengths = torch.zeros(batch, dtype=torch.int32, device=memory.device)
        finished = torch.zeros(batch, dtype=torch.bool, device=memory.device)
        mels: list[torch.Tensor] = []
        gates: list[torch.Tensor] = []
        alignments: list[torch.Tensor] = []
        for _ in range(self.decoder_max_step):
            mel, gate, state = self._step(self.prenet(frame), state, memory, processed_memory, mask)
            mels.append(mel)
            gates.append(gate.squeeze(1))
            alignments.append(state[4])
            lengths += (~finished).to(torch.int32)
            finished |= torch.sigmoid(gate.squeeze(1)) > self.gate_threshold
            if self.decoder_early_stopping and bool(torch.all(finished)):
                break
            frame = mel
        if len(mels) == self.decoder_max_step:
            warnings.warn(
                "Reached max decoder steps. The generated spectrogram might not cover the whole transcript.",
                stacklevel=2,
            )
        return self._frames(torch.stack(mels)), lengths, torch.stack(gates, dim=1), torch.stack(alignments, dim=1)
