"""The building blocks of Hybrid Demucs: encoder and decoder layers for the spectral and temporal branches,
and the residual branch inside each encoder layer (dilated convolutions, optionally a bidirectional LSTM and
local attention, with a learned per-channel scale).

Example:
    >>> import torch
    >>> layer = HEncLayer(2, 8, kernel_size=8, stride=4, freq=False, norm_type="group_norm", norm_groups=4)
    >>> layer(torch.randn(1, 2, 64)).shape
    torch.Size([1, 8, 16])
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from tympan.plugins.models._recurrence import exporting

__all__ = ["BLSTM", "DConv", "HDecLayer", "HEncLayer", "LayerScale", "LocalState", "ScaledEmbedding"]


def _norm(norm_type: str, groups: int, channels: int) -> nn.Module:
    return nn.GroupNorm(groups, channels) if norm_type == "group_norm" else nn.Identity()


class ScaledEmbedding(nn.Module):
    """An embedding stored divided by ``scale`` (so it learns faster) and optionally smoothed at
    initialisation by a running mean over the index; the frequency embedding of the spectral branch.

    Example:
        >>> import torch
        >>> ScaledEmbedding(6, 3)(torch.arange(6)).shape
        torch.Size([6, 3])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, scale: float = 10.0, smooth: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)
        if smooth:
            with torch.no_grad():
                running = torch.cumsum(self.embedding.weight, dim=0)
                counts = torch.arange(1, num_embeddings + 1, dtype=running.dtype, device=running.device)
                self.embedding.weight.copy_(running / counts.sqrt()[:, None])
        with torch.no_grad():
            self.embedding.weight.div_(scale)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(x) * self.scale


class LayerScale(nn.Module):
    """Multiplies each channel of ``(B, C, T)`` by a learned scale, initialised to ``init``.

    Example:
        >>> import torch
        >>> LayerScale(2, init=0.5)(torch.ones(1, 2, 3)).tolist()
        [[[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]]
    """

    def __init__(self, channels: int, init: float = 0.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale[:, None] * x


class BLSTM(nn.Module):
    """A bidirectional LSTM over ``(B, C, T)`` with a linear projection back to ``C`` channels and a skip
    connection. Sequences longer than 200 steps are cut into windows of 200 overlapping by half, run as one
    batch, and joined from the middle halves of the windows.

    Example:
        >>> import torch
        >>> BLSTM(4, layers=1, skip=True)(torch.randn(2, 4, 450)).shape
        torch.Size([2, 4, 450])
    """

    #: Steps up to which the LSTM runs over the whole sequence; beyond, over windows of this many.
    MAX_STEPS = 200

    def __init__(self, dim: int, layers: int = 1, skip: bool = False) -> None:
        super().__init__()
        self.max_steps = self.MAX_STEPS
        self.lstm = nn.LSTM(bidirectional=True, num_layers=layers, hidden_size=dim, input_size=dim)
        self.linear = nn.Linear(2 * dim, dim)
        self.skip = skip

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The LSTM and projection over ``(N, C, T)``."""
        return self.linear(self.lstm(x.permute(2, 0, 1))[0]).permute(1, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, steps = x.shape
        if steps <= self.max_steps:
            y = self._run(x)
        else:
            width = self.max_steps
            stride = width // 2
            count = (steps + stride - 1) // stride
            padded = nn.functional.pad(x, (0, (count - 1) * stride + width - steps))
            windows = padded.unfold(2, width, stride)  # (B, C, count, width)
            out = self._run(windows.permute(0, 2, 1, 3).reshape(-1, channels, width))
            out = out.reshape(batch, count, channels, width).permute(0, 2, 1, 3)  # (B, C, count, width)
            keep = stride // 2
            # the first window's head, then every window's middle half: count * stride samples, enough for all
            middles = out[:, :, :, keep : width - keep].reshape(batch, channels, count * stride)
            y = torch.cat([out[:, :, 0, :keep], middles], dim=-1)[..., :steps]
        return y + x if self.skip else y


class LocalState(nn.Module):
    """Local self-attention over time whose scores decay with distance at rates the queries choose
    (``ndecay`` rates per head); a frame does not attend to itself.

    Example:
        >>> import torch
        >>> LocalState(8, heads=2, ndecay=2)(torch.randn(1, 8, 5)).shape
        torch.Size([1, 8, 5])
    """

    def __init__(self, channels: int, heads: int = 4, ndecay: int = 4) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ValueError("Channels must be divisible by heads.")
        self.heads = heads
        self.ndecay = ndecay
        self.content = nn.Conv1d(channels, channels, 1)
        self.query = nn.Conv1d(channels, channels, 1)
        self.key = nn.Conv1d(channels, channels, 1)
        self.query_decay = nn.Conv1d(channels, heads * ndecay, 1)
        if ndecay:
            with torch.no_grad():
                self.query_decay.weight.mul_(0.01)
                self.query_decay.bias.fill_(-2.0)
        self.proj = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, steps = x.shape[0], x.shape[2]
        heads = self.heads
        positions = torch.arange(steps, device=x.device, dtype=x.dtype)
        distance = (positions[:, None] - positions[None, :]).abs()
        queries = self.query(x).view(batch, heads, -1, steps)
        keys = self.key(x).view(batch, heads, -1, steps)
        scores = torch.einsum("bhct,bhcs->bhts", keys, queries) / math.sqrt(keys.shape[2])
        if self.ndecay:
            rates = torch.arange(1, self.ndecay + 1, device=x.device, dtype=x.dtype)
            decay_q = torch.sigmoid(self.query_decay(x).view(batch, heads, -1, steps)) / 2
            decay_kernel = -rates.view(-1, 1, 1) * distance / math.sqrt(self.ndecay)
            scores = scores + torch.einsum("fts,bhfs->bhts", decay_kernel, decay_q)
        scores = scores.masked_fill(torch.eye(steps, device=x.device, dtype=torch.bool), -100)
        weights = torch.softmax(scores, dim=2)
        content = self.content(x).view(batch, heads, -1, steps)
        result = torch.einsum("bhts,bhct->bhcs", weights, content).reshape(batch, -1, steps)
        return x + self.proj(result)


class DConv(nn.Module):
    """The residual branch: ``depth`` blocks of a dilated convolution to ``channels / compress`` channels,
    norm, GELU, (LSTM, local attention), a 1x1 convolution to twice the channels, norm, GLU and a layer scale.

    Example:
        >>> import torch
        >>> DConv(8, compress=2, depth=2)(torch.randn(1, 8, 10)).shape
        torch.Size([1, 8, 10])
    """

    def __init__(
        self,
        channels: int,
        compress: float = 4,
        depth: int = 2,
        init: float = 1e-4,
        norm_type: str = "group_norm",
        attn: bool = False,
        heads: int = 4,
        ndecay: int = 4,
        lstm: bool = False,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError("Kernel size should not be divisible by 2")
        self.channels = channels
        self.compress = compress
        self.depth = abs(depth)
        hidden = int(channels / compress)
        layers = []
        for index in range(self.depth):
            dilation = 2**index if depth > 0 else 1
            modules: list[nn.Module] = [
                nn.Conv1d(channels, hidden, kernel_size, dilation=dilation, padding=dilation * (kernel_size // 2)),
                _norm(norm_type, 1, hidden),
                nn.GELU(),
            ]
            if lstm:
                modules.append(BLSTM(hidden, layers=2, skip=True))
            if attn:
                modules.append(LocalState(hidden, heads=heads, ndecay=ndecay))
            modules += [
                nn.Conv1d(hidden, 2 * channels, 1),
                _norm(norm_type, 1, 2 * channels),
                nn.GLU(1),
                LayerScale(channels, init),
            ]
            layers.append(nn.Sequential(*modules))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer(x)
        return x


class HEncLayer(nn.Module):
    """An encoder layer: strided convolution (along frequency for the spectral branch, time otherwise),
    optional injection of the temporal branch, norm, GELU, residual branch, 1x1 rewrite, norm and GLU.

    An ``empty`` layer is the convolution alone (the last temporal layer, merged into the spectral branch).
    """

    def __init__(
        self,
        chin: int,
        chout: int,
        kernel_size: int = 8,
        stride: int = 4,
        norm_groups: int = 4,
        empty: bool = False,
        freq: bool = True,
        norm_type: str = "group_norm",
        context: int = 0,
        dconv_kw: dict[str, Any] | None = None,
        pad: bool = True,
    ) -> None:
        super().__init__()
        padding = kernel_size // 4 if pad else 0
        self.freq = freq
        self.kernel_size = kernel_size
        self.stride = stride
        self.empty = empty
        self.pad = padding
        if freq:
            self.conv: nn.Module = nn.Conv2d(chin, chout, (kernel_size, 1), (stride, 1), (padding, 0))
            rewrite: nn.Module = nn.Conv2d(chout, 2 * chout, 1 + 2 * context, 1, context)
        else:
            self.conv = nn.Conv1d(chin, chout, kernel_size, stride, padding)
            rewrite = nn.Conv1d(chout, 2 * chout, 1 + 2 * context, 1, context)
        self.norm1 = _norm(norm_type, norm_groups, chout)
        if empty:
            self.rewrite: nn.Module = nn.Identity()
            self.norm2: nn.Module = nn.Identity()
            self.dconv: nn.Module = nn.Identity()
        else:
            self.rewrite = rewrite
            self.norm2 = _norm(norm_type, norm_groups, 2 * chout)
            self.dconv = DConv(chout, **(dconv_kw or {}))

    def forward(self, x: torch.Tensor, inject: torch.Tensor | None = None) -> torch.Tensor:
        if not self.freq and x.dim() == 4:
            x = x.reshape(x.shape[0], -1, x.shape[-1])
        # to a whole number of strides (exported programs always pad, by zero samples or more: no size guard)
        if not self.freq and ((not torch.jit.is_scripting() and exporting()) or x.shape[-1] % self.stride):
            x = nn.functional.pad(x, (0, (self.stride - x.shape[-1] % self.stride) % self.stride))
        y = self.conv(x)
        if self.empty:
            return y
        if inject is not None:
            if inject.shape[-1] != y.shape[-1]:
                raise ValueError("Injection shapes do not align")
            if inject.dim() == 3 and y.dim() == 4:
                inject = inject[:, :, None]
            y = y + inject
        y = nn.functional.gelu(self.norm1(y))
        if self.freq:
            batch, channels, freqs, steps = y.shape
            y = self.dconv(y.permute(0, 2, 1, 3).reshape(-1, channels, steps))
            y = y.view(batch, freqs, channels, steps).permute(0, 2, 1, 3)
        else:
            y = self.dconv(y)
        return nn.functional.glu(self.norm2(self.rewrite(y)), dim=1)


class HDecLayer(nn.Module):
    """A decoder layer: skip connection added, 1x1 rewrite, norm, GLU, transposed strided convolution, norm and
    GELU (not on the ``last`` layer); returns the output and the pre-transposition activation."""

    def __init__(
        self,
        chin: int,
        chout: int,
        last: bool = False,
        kernel_size: int = 8,
        stride: int = 4,
        norm_groups: int = 1,
        empty: bool = False,
        freq: bool = True,
        norm_type: str = "group_norm",
        context: int = 1,
        dconv_kw: dict[str, Any] | None = None,
        pad: bool = True,
    ) -> None:
        super().__init__()
        if pad and (kernel_size - stride) % 2 != 0:
            raise ValueError("Kernel size and stride do not align")
        self.pad = (kernel_size - stride) // 2 if pad else 0
        self.last = last
        self.freq = freq
        self.chin = chin
        self.empty = empty
        self.stride = stride
        self.kernel_size = kernel_size
        if freq:
            self.conv_tr: nn.Module = nn.ConvTranspose2d(chin, chout, (kernel_size, 1), (stride, 1))
            rewrite: nn.Module = nn.Conv2d(chin, 2 * chin, 1 + 2 * context, 1, context)
        else:
            self.conv_tr = nn.ConvTranspose1d(chin, chout, kernel_size, stride)
            rewrite = nn.Conv1d(chin, 2 * chin, 1 + 2 * context, 1, context)
        self.norm2 = _norm(norm_type, norm_groups, chout)
        if empty:
            self.rewrite: nn.Module = nn.Identity()
            self.norm1: nn.Module = nn.Identity()
        else:
            self.rewrite = rewrite
            self.norm1 = _norm(norm_type, norm_groups, 2 * chin)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.freq and x.dim() == 3:
            x = x.view(x.shape[0], self.chin, -1, x.shape[-1])
        if self.empty:
            if skip is not None:
                raise ValueError("Skip must be none when empty is true.")
            y = x
        else:
            if skip is None:
                raise ValueError("Skip must be given when empty is false.")
            y = nn.functional.glu(self.norm1(self.rewrite(x + skip)), dim=1)
        z = self.norm2(self.conv_tr(y))
        if self.freq:
            if self.pad:
                z = z[..., self.pad : -self.pad, :]
        else:
            z = z[..., self.pad : self.pad + length]
            if z.shape[-1] != length:
                raise ValueError("Last index of z must be equal to length")
        if not self.last:
            z = nn.functional.gelu(z)
        return z, y
