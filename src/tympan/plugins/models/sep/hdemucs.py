"""Hybrid Demucs (Défossez, 2021): music source separation by two U-Nets, one over the waveform and one over
the complex spectrogram, sharing their innermost layers; the spectral branch predicts each source's
spectrogram directly (no mask) and the two branches' outputs are summed.

Example:
    >>> import torch
    >>> model = HDemucs(["bass", "other"], audio_channels=1, channels=4, nfft=64, depth=2)
    >>> model(torch.randn(1, 1, 800)).shape
    torch.Size([1, 2, 1, 800])
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field
from torch import nn

from tympan.core.components import ExportAxes
from tympan.plugins.models._component import model_arguments, model_builder, record
from tympan.plugins.models.sep._hdemucs_layers import BLSTM, HDecLayer, HEncLayer, ScaledEmbedding

__all__ = ["HDemucs", "hdemucs_high", "hdemucs_low", "hdemucs_medium"]

_SOURCES = ["drums", "bass", "other", "vocals"]

SourceNames = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]],
    Field(min_length=1, max_length=64, description="Names of the sources to separate, in output order."),
]


def _rescale(module: nn.Module) -> None:
    """Scale every convolution's weights and bias by ``sqrt(0.1 / std(weights))`` (initialisation)."""
    with torch.no_grad():
        for sub in module.modules():
            if isinstance(sub, (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d, nn.ConvTranspose2d)):
                scale = (sub.weight.std() / 0.1) ** 0.5
                sub.weight.div_(scale)
                if sub.bias is not None:
                    sub.bias.div_(scale)


def _spectrogram(x: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Normalised complex STFT with a Hann window over the last dimension, other dimensions kept."""
    flat = x.reshape(-1, x.shape[-1])
    window = torch.hann_window(n_fft, device=x.device).to(x.dtype)  # a float32 window, as the reference's
    z = torch.stft(
        flat,
        n_fft,
        hop_length,
        window=window,
        win_length=n_fft,
        normalized=True,
        center=True,
        return_complex=True,
        pad_mode="reflect",
    )
    return z.view(list(x.shape[:-1]) + list(z.shape[-2:]))


def _inverse_spectrogram(z: torch.Tensor, hop_length: int) -> torch.Tensor:
    """Inverse of :func:`_spectrogram`: ``hop_length * (frames - 1)`` samples."""
    freqs, frames = z.shape[-2], z.shape[-1]
    n_fft = 2 * freqs - 2
    window = torch.hann_window(n_fft, device=z.device).to(z.real.dtype)
    x = torch.istft(
        z.reshape(-1, freqs, frames),
        n_fft,
        hop_length,
        window=window,
        win_length=n_fft,
        normalized=True,
        center=True,
    )
    return x.view(list(z.shape[:-2]) + [x.shape[-1]])  # noqa: RUF005 (TorchScript)


class HDemucs(nn.Module):
    """Hybrid Demucs: ``(batch, audio_channels, time)`` mixtures to ``(batch, sources, audio_channels, time)``.

    Example:
        >>> import torch
        >>> model = HDemucs(["a", "b", "c"], audio_channels=2, channels=4, nfft=256, depth=4)
        >>> [type(layer).__name__ for layer in model.time_encoder]
        ['HEncLayer', 'HEncLayer', 'HEncLayer']
    """

    qualified_name: ClassVar[str] = "sep:hdemucs"
    scriptable: ClassVar[bool] = True
    produces_waveform: ClassVar[bool] = True
    produces_sources: ClassVar[bool] = True

    def __init__(
        self,
        sources: SourceNames = _SOURCES,
        audio_channels: Annotated[int, Field(ge=1, le=64, description="Channels of the input audio.")] = 2,
        channels: Annotated[int, Field(ge=1, le=4096, description="Channels of the first layer.")] = 48,
        growth: Annotated[int, Field(ge=1, le=8, description="Channel growth per layer.")] = 2,
        nfft: Annotated[int, Field(ge=16, le=1 << 16, description="FFT size of the spectral branch.")] = 4096,
        depth: Annotated[int, Field(ge=1, le=12, description="Number of layers of each branch.")] = 6,
        freq_emb: Annotated[
            float, Field(ge=0.0, le=10.0, description="Weight of the frequency embedding (0: none).")
        ] = 0.2,
        emb_scale: Annotated[int, Field(ge=1, le=1000, description="Scale of the frequency embedding.")] = 10,
        emb_smooth: Annotated[bool, Field(description="Smooth the embedding's initialisation.")] = True,
        kernel_size: Annotated[int, Field(ge=1, le=64, description="Kernel of the encoder layers.")] = 8,
        time_stride: Annotated[int, Field(ge=1, le=64, description="Stride of time-only layers.")] = 2,
        stride: Annotated[int, Field(ge=1, le=64, description="Stride of the encoder layers.")] = 4,
        context: Annotated[int, Field(ge=0, le=16, description="Context of the decoders' 1x1 rewrite.")] = 1,
        context_enc: Annotated[int, Field(ge=0, le=16, description="Context of the encoders' 1x1 rewrite.")] = 0,
        norm_starts: Annotated[int, Field(ge=0, le=12, description="First layer with group norm.")] = 4,
        norm_groups: Annotated[int, Field(ge=1, le=64, description="Groups of those norms.")] = 4,
        dconv_depth: Annotated[int, Field(ge=0, le=16, description="Blocks of each residual branch.")] = 2,
        dconv_comp: Annotated[int, Field(ge=1, le=64, description="Channel compression of the branches.")] = 4,
        dconv_attn: Annotated[int, Field(ge=0, le=12, description="First layer with local attention.")] = 4,
        dconv_lstm: Annotated[int, Field(ge=0, le=12, description="First layer with a BLSTM.")] = 4,
        dconv_init: Annotated[float, Field(ge=0.0, le=1.0, description="Initial layer scale.")] = 1e-4,
    ) -> None:
        params = model_arguments(type(self), locals())
        super().__init__()
        self.depth = depth
        self.nfft = nfft
        self.audio_channels = audio_channels
        self.sources = list(sources)
        self.kernel_size = kernel_size
        self.context = context
        self.stride = stride
        self.channels = channels
        self.hop_length = nfft // 4
        self.freq_emb: ScaledEmbedding | None = None
        self.freq_emb_scale = float(freq_emb)
        self.freq_encoder = nn.ModuleList()
        self.freq_decoder = nn.ModuleList()
        self.time_encoder = nn.ModuleList()
        self.time_decoder = nn.ModuleList()
        self._build(params, growth, freq_emb, emb_scale, emb_smooth, time_stride, context_enc)
        _rescale(self)
        # the branches' lengths agree through nested floor divisions (strides, hops, windows), which hold but
        # which the shape solver cannot prove: they are checked when the program runs
        self.export_axes = ExportAxes(
            dims=({2: "samples"},), min_sizes={"samples": _shortest_exported(params)}, runtime_checks=True
        )
        record(self, params)

    def _build(
        self,
        params: Any,
        growth: int,
        freq_emb: float,
        emb_scale: int,
        emb_smooth: bool,
        time_stride: int,
        context_enc: int,
    ) -> None:
        chin, chin_z = self.audio_channels, 2 * self.audio_channels
        chout = chout_z = self.channels
        bins = _frequency_bins(params)
        for index in range(self.depth):
            freqs = bins[index]
            freq = freqs > 1
            kernel, stride, pad, last_freq = self.kernel_size, self.stride, True, False
            if not freq:
                kernel, stride = 2 * time_stride, time_stride
            if freq and freqs <= self.kernel_size:
                kernel, pad, last_freq = freqs, False, True
            dconv = {
                "lstm": index >= params.dconv_lstm,
                "attn": index >= params.dconv_attn,
                "depth": params.dconv_depth,
                "compress": params.dconv_comp,
                "init": params.dconv_init,
            }
            norm = "group_norm" if index >= params.norm_starts else "none"
            common = {"norm_type": norm, "norm_groups": params.norm_groups, "dconv_kw": dconv}
            freq_kw = {"kernel_size": kernel, "stride": stride, "freq": freq, "pad": pad, **common}
            time_kw = {"kernel_size": self.kernel_size, "stride": self.stride, "freq": False, "pad": True, **common}
            if last_freq:
                chout_z = max(chout, chout_z)
                chout = chout_z
            self.freq_encoder.append(HEncLayer(chin_z, chout_z, context=context_enc, **freq_kw))
            if freq:
                if last_freq and self.nfft == 2048:
                    time_kw.update(stride=2, kernel_size=4)
                self.time_encoder.append(HEncLayer(chin, chout, context=context_enc, empty=last_freq, **time_kw))
            if index == 0:
                chin = self.audio_channels * len(self.sources)
                chin_z = 2 * chin
            self.freq_decoder.insert(0, HDecLayer(chout_z, chin_z, last=index == 0, context=self.context, **freq_kw))
            if freq:
                time_decoder = HDecLayer(chout, chin, empty=last_freq, last=index == 0, context=self.context, **time_kw)
                self.time_decoder.insert(0, time_decoder)
            chin, chin_z = chout, chout_z
            chout, chout_z = int(growth * chout), int(growth * chout_z)
            if index == 0 and freq_emb:
                self.freq_emb = ScaledEmbedding(bins[1], chin_z, smooth=emb_smooth, scale=emb_scale)

    @staticmethod
    def check_params(params: Any) -> None:
        """Kernel and stride leave an even padding; the branches shrink the spectrum to one bin in time."""
        if (params.kernel_size - params.stride) % 2:
            raise ValueError("kernel_size - stride must be even")
        if params.nfft & (params.nfft - 1):
            raise ValueError(f"nfft must be a power of two, got {params.nfft}")
        bins = _frequency_bins(params)
        freqs = bins[-1]
        time_scale = 1  # how much the time branch has shrunk when the spectral branch reaches one bin
        for layer_bins in bins[:-1]:
            if layer_bins > 1:
                last = layer_bins <= params.kernel_size
                time_scale *= 2 if last and params.nfft == 2048 else params.stride
        if freqs > 1:
            raise ValueError(f"depth {params.depth} leaves {freqs} frequency bins; the spectral branch needs 1")
        if time_scale != params.nfft // 4:
            raise ValueError(
                f"nfft {params.nfft} with kernel_size {params.kernel_size} and stride {params.stride}: the time "
                f"branch shrinks {time_scale}x where the spectral branch's hop is {params.nfft // 4}"
            )
        for index in range(params.depth):
            width = params.channels * params.growth**index
            if index >= params.dconv_attn and int(width / params.dconv_comp) % 4:
                raise ValueError(
                    f"layer {index} has {width} channels; with local attention (dconv_attn) its "
                    f"{int(width / params.dconv_comp)} compressed channels must be a multiple of 4 heads"
                )
            if index >= params.norm_starts and width % params.norm_groups:
                raise ValueError(f"layer {index} has {width} channels, not a multiple of norm_groups")

    def _spec(self, x: torch.Tensor) -> torch.Tensor:
        hop = self.hop_length
        frames = (x.shape[-1] + hop - 1) // hop
        pad = hop // 2 * 3
        right = pad + frames * hop - x.shape[-1]  # at least pad, less than pad + hop
        # reflection needs more samples than it mirrors, which pad + hop samples always are (the first test is
        # a range an exported program's minimum length decides)
        if x.shape[-1] < pad + hop and x.shape[-1] <= right:
            x = nn.functional.pad(x, (0, right - x.shape[-1] + 1))
        x = nn.functional.pad(x, (pad, right), mode="reflect")
        z = _spectrogram(x, self.nfft, hop)[..., :-1, :]
        return z[..., 2 : 2 + frames]

    def _ispec(self, z: torch.Tensor, length: int) -> torch.Tensor:
        hop = self.hop_length
        z = nn.functional.pad(z, [2, 2, 0, 1])
        pad = hop // 2 * 3
        return _inverse_spectrogram(z, hop)[..., pad : pad + length]

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Separate ``input`` ``(batch, audio_channels, time)`` into ``(batch, sources, audio_channels, time)``."""
        if input.ndim != 3:
            raise ValueError(f"Expected 3D tensor with dimensions (batch, channel, frames). Found: {input.shape}")
        if input.shape[1] != self.audio_channels:
            raise ValueError(
                "The channel dimension of input Tensor must match `audio_channels` of HDemucs model. "
                f"Found:{input.shape[1]}."
            )
        length = input.shape[-1]
        z = self._spec(input)
        batch, channels, freqs, frames = z.shape
        x = torch.view_as_real(z).permute(0, 1, 4, 2, 3).reshape(batch, 2 * channels, freqs, frames)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) / (1e-5 + std)
        mean_t = input.mean(dim=(1, 2), keepdim=True)
        std_t = input.std(dim=(1, 2), keepdim=True)
        xt = (input - mean_t) / (1e-5 + std_t)

        saved: list[torch.Tensor] = []
        saved_t: list[torch.Tensor] = []
        lengths: list[int] = []
        lengths_t: list[int] = []
        for index, encode in enumerate(self.freq_encoder):
            lengths.append(x.shape[-1])
            inject: torch.Tensor | None = None
            for time_index, time_encode in enumerate(self.time_encoder):
                if time_index == index:
                    lengths_t.append(xt.shape[-1])
                    xt = time_encode(xt)
                    if time_encode.empty:
                        inject = xt
                    else:
                        saved_t.append(xt)
            x = encode(x, inject)
            if index == 0 and self.freq_emb is not None:
                bins = torch.arange(x.shape[-2], device=x.device)
                embedding = self.freq_emb(bins).t()[None, :, :, None].expand_as(x)
                x = x + self.freq_emb_scale * embedding
            saved.append(x)

        x = torch.zeros_like(x)
        xt = torch.zeros_like(x)
        offset = self.depth - len(self.time_decoder)
        for index, decode in enumerate(self.freq_decoder):
            x, pre = decode(x, saved.pop(-1), lengths.pop(-1))
            for time_index, time_decode in enumerate(self.time_decoder):
                if time_index == index - offset:
                    length_t = lengths_t.pop(-1)
                    if time_decode.empty:
                        if pre.shape[2] != 1:
                            raise ValueError(f"If tdec empty is True, pre shape does not match {pre.shape}")
                        xt, _ = time_decode(pre[:, :, 0], None, length_t)
                    else:
                        xt, _ = time_decode(xt, saved_t.pop(-1), length_t)

        sources = len(self.sources)
        x = x.view(batch, sources, -1, freqs, frames) * std[:, None] + mean[:, None]
        spectra = x.view(batch, sources, -1, 2, freqs, frames).permute(0, 1, 2, 4, 5, 3).contiguous()
        waveform = self._ispec(torch.view_as_complex(spectra), length)
        xt = xt.view(batch, sources, -1, length) * std_t[:, None] + mean_t[:, None]
        return xt + waveform

    @torch.jit.export
    def pipeline_step(self, x: torch.Tensor) -> torch.Tensor:
        """The model as a pipeline step: ``(audio_channels, time)`` (or a batch of them) to
        ``(sources, ..., audio_channels, time)``."""
        batched = x.reshape(-1, x.shape[-2], x.shape[-1])
        separated = self.forward(batched).transpose(0, 1)
        return separated.reshape([len(self.sources)] + list(x.shape))  # noqa: RUF005 (TorchScript)

    def example_input(self, batch: int) -> torch.Tensor:
        """``batch`` random mixtures of two hops of the spectral branch."""
        generator = torch.Generator().manual_seed(0)
        return torch.randn(batch, self.audio_channels, 2 * self.nfft, generator=generator)


def _frequency_bins(params: Any) -> list[int]:
    """The frequency bins each of the ``depth`` encoder layers takes in, then those the last one leaves: the
    spectral branch's ``nfft // 2`` bins shrink by ``stride`` per layer until a layer whose kernel covers them
    all folds them into one; a layer taking one bin is a time-only layer.

    Example:
        >>> from types import SimpleNamespace
        >>> _frequency_bins(SimpleNamespace(nfft=4096, depth=6, stride=4, kernel_size=8))
        [2048, 512, 128, 32, 8, 1, 1]
    """
    bins = [params.nfft // 2]
    for _ in range(params.depth):
        bins.append(1 if bins[-1] <= params.kernel_size else bins[-1] // params.stride)
    return bins


def _shortest_exported(params: Any) -> int:
    """The fewest samples an exported program takes: enough that every BLSTM runs over windows, so that the
    program holds one of its two paths (and that the spectrogram's reflection needs no extra padding).

    The spectral branch's innermost LSTM sees the most shrunken time axis: one step per hop, shrunk again by
    ``time_stride`` in each time-only layer up to it (the time branch, whose strides multiply to the hop over
    the spectral layers, never shrinks more).

    Example:
        >>> from types import SimpleNamespace
        >>> params = dict(nfft=4096, depth=6, stride=4, kernel_size=8, time_stride=2, dconv_lstm=4, dconv_depth=2)
        >>> _shortest_exported(SimpleNamespace(**params))  # 200 steps of 2 x 1024 samples, and one
        409601
        >>> _shortest_exported(SimpleNamespace(**{**params, "dconv_lstm": 6}))  # no LSTM: 2.5 hops
        2560
    """
    hop = params.nfft // 4
    shortest = hop // 2 * 3 + hop
    if params.dconv_lstm >= params.depth or params.dconv_depth == 0:
        return shortest
    time_only = sum(freqs == 1 for freqs in _frequency_bins(params)[:-1])
    return max(shortest, BLSTM.MAX_STEPS * hop * params.time_stride**time_only + 1)


def _factory(nfft: int, depth: int, sources: list[str]) -> HDemucs:
    return HDemucs(sources=sources, nfft=nfft, depth=depth)


@model_builder("sep:hdemucs_low")
def hdemucs_low(sources: SourceNames = _SOURCES) -> HDemucs:
    """Hybrid Demucs for 8 kHz audio: ``nfft`` 1024, depth 5.

    Example:
        >>> hdemucs_low(["speech", "noise"]).nfft
        1024
    """
    return _factory(1024, 5, sources)


@model_builder("sep:hdemucs_medium")
def hdemucs_medium(sources: SourceNames = _SOURCES) -> HDemucs:
    """Hybrid Demucs for 16-32 kHz audio: ``nfft`` 2048, depth 6.

    Example:
        >>> hdemucs_medium(["speech", "noise"]).depth
        6
    """
    return _factory(2048, 6, sources)


@model_builder("sep:hdemucs_high")
def hdemucs_high(sources: SourceNames = _SOURCES) -> HDemucs:
    """Hybrid Demucs for 44.1-48 kHz audio: ``nfft`` 4096, depth 6 (the MUSDB-HQ configuration).

    Example:
        >>> hdemucs_high().sources
        ['drums', 'bass', 'other', 'vocals']
    """
    return _factory(4096, 6, sources)
