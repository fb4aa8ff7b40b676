"""Tacotron 2 (Shen et al., 2018): characters or phonemes to mel spectrograms, with a convolutional and
bidirectional-LSTM encoder, an attention decoder (:mod:`._tacotron2_decoder`) and a convolutional postnet.

Example:
    >>> import torch
    >>> model = Tacotron2(n_symbol=10, n_mels=8, symbol_embedding_dim=16, encoder_embedding_dim=16,
    ...     decoder_rnn_dim=16, attention_rnn_dim=16, attention_hidden_dim=8, prenet_dim=8,
    ...     postnet_embedding_dim=8, decoder_max_step=20).eval()
    >>> mel, lengths, alignments = model.infer(torch.tensor([[1, 2, 3, 4]]))
    >>> mel.shape[:2], alignments.shape[-1]
    (torch.Size([1, 8]), 4)
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import check_odd, model_arguments, record
from tympan.plugins.models._masks import lengths_to_padding_mask
from tympan.plugins.models.tts._tacotron2_decoder import Decoder, conv1d_layer

__all__ = ["Tacotron2"]

_DIM = {"ge": 1, "le": 1 << 14}
_KERNEL = {"ge": 1, "le": 255}
_PROBABILITY = {"ge": 0.0, "le": 1.0}


def _conv_norm(in_channels: int, out_channels: int, kernel_size: int, gain: str) -> nn.Sequential:
    return nn.Sequential(
        conv1d_layer(in_channels, out_channels, kernel_size, w_init_gain=gain), nn.BatchNorm1d(out_channels)
    )


def _reversal_within_lengths(lengths: torch.Tensor, frames: int) -> torch.Tensor:
    """``(B, frames)`` indices that reverse each item's first ``lengths`` frames and keep its padding in place
    (they are their own inverse)."""
    positions = torch.arange(frames, device=lengths.device)[None, :]
    last = lengths[:, None].to(positions.dtype) - 1
    return torch.where(positions <= last, last - positions, positions)


def _lstm_direction(x: torch.Tensor, weights: list[torch.Tensor]) -> torch.Tensor:
    """One LSTM direction (``[weight_ih, weight_hh, bias_ih, bias_hh]``) from zero states over ``x`` ``(B, T, D)``."""
    zeros = x.new_zeros(1, x.size(0), weights[1].size(1))
    return torch.lstm(x, [zeros, zeros], weights, True, 1, 0.0, False, False, True)[0]


class _Encoder(nn.Module):
    """Convolutions with batch norm, ReLU and dropout 0.5, then a bidirectional LSTM over the valid frames."""

    def __init__(self, encoder_embedding_dim: int, encoder_n_convolution: int, encoder_kernel_size: int) -> None:
        super().__init__()
        dim = encoder_embedding_dim
        self.convolutions = nn.ModuleList(
            _conv_norm(dim, dim, encoder_kernel_size, "relu") for _ in range(encoder_n_convolution)
        )
        self.lstm = nn.LSTM(dim, dim // 2, 1, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor, input_lengths: torch.Tensor) -> torch.Tensor:
        """Encode embedded tokens ``(B, D, T)`` to ``(B, T, D)``, zero past each item's length.

        The backward direction starts at each item's last valid frame: it runs over every item reversed within
        its length, so that the padding never reaches a valid frame in either direction."""
        for conv in self.convolutions:
            x = nn.functional.dropout(torch.relu(conv(x)), 0.5, self.training)
        x = x.transpose(1, 2)
        lstm = self.lstm
        forward = _lstm_direction(x, [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0])
        reversal = _reversal_within_lengths(input_lengths, x.size(1))[:, :, None]
        backward = _lstm_direction(
            x.gather(1, reversal.expand_as(x)),
            [lstm.weight_ih_l0_reverse, lstm.weight_hh_l0_reverse, lstm.bias_ih_l0_reverse, lstm.bias_hh_l0_reverse],
        )
        outputs = torch.cat((forward, backward.gather(1, reversal.expand_as(backward))), dim=2)
        return outputs.masked_fill(lengths_to_padding_mask(input_lengths, x.size(1))[:, :, None], 0.0)


class _Postnet(nn.Module):
    """Convolutions with batch norm (tanh between them) predicting a residual for the decoder's frames."""

    def __init__(self, n_mels: int, postnet_embedding_dim: int, postnet_kernel_size: int, postnet_n_convolution: int):
        super().__init__()
        last = postnet_n_convolution - 1
        self.convolutions = nn.ModuleList(
            _conv_norm(
                n_mels if index == 0 else postnet_embedding_dim,
                n_mels if index == last else postnet_embedding_dim,
                postnet_kernel_size,
                "linear" if index == last else "tanh",
            )
            for index in range(postnet_n_convolution)
        )
        self.n_convs = len(self.convolutions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, conv in enumerate(self.convolutions):
            x = conv(x)
            if index < self.n_convs - 1:
                x = torch.tanh(x)
            x = nn.functional.dropout(x, 0.5, training=self.training)
        return x


class Tacotron2(nn.Module):
    """Tacotron 2: :meth:`forward` trains on target spectrograms, :meth:`infer` synthesises.

    Example:
        >>> import torch
        >>> model = Tacotron2(n_symbol=10, n_mels=4, symbol_embedding_dim=8, encoder_embedding_dim=8,
        ...     decoder_rnn_dim=8, attention_rnn_dim=8, attention_hidden_dim=4, prenet_dim=4,
        ...     postnet_embedding_dim=4)
        >>> tokens, token_lengths = torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])
        >>> mel, mel_postnet, gate, alignment = model(tokens, token_lengths, torch.randn(2, 4, 6), torch.tensor([6, 4]))
        >>> mel_postnet.shape, gate.shape, alignment.shape
        (torch.Size([2, 4, 6]), torch.Size([2, 6]), torch.Size([2, 6, 3]))
    """

    qualified_name: ClassVar[str] = "tts:tacotron2"
    scriptable: ClassVar[bool] = True

    def __init__(
        self,
        mask_padding: Annotated[
            bool, Field(description="Zero the outputs past each target length in training.")
        ] = False,
        n_mels: Annotated[int, Field(**_DIM, description="Mel bins per frame.")] = 80,
        n_symbol: Annotated[int, Field(ge=1, le=1 << 20, description="Size of the token vocabulary.")] = 148,
        n_frames_per_step: Annotated[int, Field(ge=1, le=64, description="Frames decoded per step.")] = 1,
        symbol_embedding_dim: Annotated[int, Field(**_DIM, description="Token embedding dimension.")] = 512,
        encoder_embedding_dim: Annotated[int, Field(ge=2, le=1 << 14, description="Encoder dimension (even).")] = 512,
        encoder_n_convolution: Annotated[int, Field(ge=0, le=64, description="Encoder convolutions.")] = 3,
        encoder_kernel_size: Annotated[int, Field(**_KERNEL, description="Encoder kernel (odd).")] = 5,
        decoder_rnn_dim: Annotated[int, Field(**_DIM, description="Decoder LSTM dimension.")] = 1024,
        decoder_max_step: Annotated[
            int, Field(ge=1, le=1 << 20, description="Most decoder steps in inference.")
        ] = 2000,
        decoder_dropout: Annotated[float, Field(**_PROBABILITY, description="Dropout of the decoder LSTM.")] = 0.1,
        decoder_early_stopping: Annotated[bool, Field(description="Stop once every gate has fired.")] = True,
        attention_rnn_dim: Annotated[int, Field(**_DIM, description="Attention LSTM dimension.")] = 1024,
        attention_hidden_dim: Annotated[int, Field(**_DIM, description="Attention energy dimension.")] = 128,
        attention_location_n_filter: Annotated[int, Field(**_DIM, description="Location filters.")] = 32,
        attention_location_kernel_size: Annotated[int, Field(**_KERNEL, description="Location kernel (odd).")] = 31,
        attention_dropout: Annotated[float, Field(**_PROBABILITY, description="Dropout of the attention LSTM.")] = 0.1,
        prenet_dim: Annotated[int, Field(**_DIM, description="Prenet dimension.")] = 256,
        postnet_n_convolution: Annotated[int, Field(ge=1, le=64, description="Postnet convolutions.")] = 5,
        postnet_kernel_size: Annotated[int, Field(**_KERNEL, description="Postnet kernel (odd).")] = 5,
        postnet_embedding_dim: Annotated[int, Field(**_DIM, description="Postnet channels.")] = 512,
        gate_threshold: Annotated[
            float, Field(**_PROBABILITY, description="Stop probability that ends a sequence.")
        ] = 0.5,
        prenet_dropout: Annotated[
            float, Field(**_PROBABILITY, description="Dropout of the prenet, on in every mode (0.5 in the paper).")
        ] = 0.5,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.mask_padding = mask_padding
        self.n_mels = n_mels
        self.n_frames_per_step = n_frames_per_step
        self.n_symbol = n_symbol
        self.embedding = nn.Embedding(n_symbol, symbol_embedding_dim)
        nn.init.xavier_uniform_(self.embedding.weight)
        self.encoder = _Encoder(encoder_embedding_dim, encoder_n_convolution, encoder_kernel_size)
        self.decoder = Decoder(
            n_mels,
            n_frames_per_step,
            encoder_embedding_dim,
            decoder_rnn_dim,
            decoder_max_step,
            decoder_dropout,
            decoder_early_stopping,
            attention_rnn_dim,
            attention_hidden_dim,
            attention_location_n_filter,
            attention_location_kernel_size,
            attention_dropout,
            prenet_dim,
            gate_threshold,
            prenet_dropout,
        )
        self.postnet = _Postnet(n_mels, postnet_embedding_dim, postnet_kernel_size, postnet_n_convolution)
        if n_frames_per_step == 1:
            self.export_axes = ExportAxes(
                dims=({1: "tokens"}, {}, {2: "frames"}, {}), lengths={1: "tokens", 3: "frames"}
            )
        else:  # target frames decoded several per step come in whole steps: only the tokens vary
            self.export_axes = ExportAxes(dims=({1: "tokens"},), lengths={1: "tokens"})
        record(self, params)

    @staticmethod
    def check_params(params: Any) -> None:
        """Kernels are odd; the encoder dimension is even (two LSTM directions) and equals the embedding's."""
        check_odd(params, "encoder_kernel_size", "attention_location_kernel_size", "postnet_kernel_size")
        if params.encoder_embedding_dim % 2:
            raise ValueError("encoder_embedding_dim must be even (two LSTM directions)")
        if params.symbol_embedding_dim != params.encoder_embedding_dim:
            raise ValueError("symbol_embedding_dim must equal encoder_embedding_dim")

    def forward(
        self,
        tokens: torch.Tensor,
        token_lengths: torch.Tensor,
        mel_specgram: torch.Tensor,
        mel_specgram_lengths: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forced pass: ``(mel, mel after postnet, gate logits, alignments)`` for target
        ``mel_specgram`` ``(B, n_mels, frames)``."""
        encoded = self.encoder(self.embedding(tokens).transpose(1, 2), token_lengths)
        mel, gates, alignments = self.decoder(encoded, mel_specgram, token_lengths)
        mel_postnet = mel + self.postnet(mel)
        if self.mask_padding:
            padded = lengths_to_padding_mask(mel_specgram_lengths, mel_specgram.size(2))
            mel = mel.masked_fill(padded.unsqueeze(1), 0.0)
            mel_postnet = mel_postnet.masked_fill(padded.unsqueeze(1), 0.0)
            gates = gates.masked_fill(padded, 1e3)
        return mel, mel_postnet, gates, alignments

    @torch.jit.export
    def infer(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Synthesise from ``tokens`` ``(B, T)`` (``lengths`` valid tokens each, all by default):
        ``(mel spectrograms (B, n_mels, frames), frames per item, alignments (B, frames, T))``."""
        batch, max_length = tokens.shape
        if lengths is None:
            lengths = torch.full((batch,), max_length, dtype=tokens.dtype, device=tokens.device)
        encoded = self.encoder(self.embedding(tokens).transpose(1, 2), lengths)
        mel, mel_lengths, _, alignments = self.decoder.infer(encoded, lengths)
        return mel + self.postnet(mel), mel_lengths, alignments

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``batch`` random token sequences of 5 and target spectrograms of 6 frames."""
        generator = torch.Generator().manual_seed(0)
        tokens = torch.randint(0, self.n_symbol, (batch, 5), generator=generator)
        mels = torch.randn(batch, self.n_mels, 6 * self.n_frames_per_step, generator=generator)
        return tokens, torch.full((batch,), 5), mels, torch.full((batch,), 6 * self.n_frames_per_step)
