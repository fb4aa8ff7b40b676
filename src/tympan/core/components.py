"""The interfaces of the kinds of component that run on tensors: transforms, effects, losses, datasets.

The bases add conveniences (``Params``, ``output_sample_rate``, declared capabilities); they are not a
gate: any ``nn.Module`` class registers as a transform or effect. Attributes the pipeline builder and
:func:`tympan.testing.check_component` read, all optional on third-party classes:

- ``Params``: the pydantic parameter model (derived from ``__init__`` when absent).
- ``sample_rate_param``: the constructor parameter that receives the input sample rate
  (default: ``"sample_rate"`` when the component takes one).
- ``output_sample_rate``: the sample rate of the output (default: the input's).
- ``produces_waveform``: whether the output is audio (effects) rather than features.
- ``scriptable``: whether ``torch.jit.script`` is part of the component's contract.
- ``example_input(batch)``: a method returning a typical input of ``batch`` items, for components whose
  input is not a waveform (a spectrogram, say); the contract checks feed it to ``forward``. A tuple is
  several inputs (``forward(*inputs)``), each with the batch along its first dimension; silence replaces
  the first.
- ``padded_input``: a :class:`PaddedInput` on models whose output for a padded item equals its output
  alone (within the item's length); the contract checks then trim each item to its length.
- ``produces_sources``: on separation models, whose pipeline output stacks sources along its first dimension.
- ``data_dependent_length``: true (or a sentence saying why) on components whose output length depends on
  the input's values (voice activity trimming): they cannot be exported with a dynamic time dimension, and
  :func:`tympan.testing.check_component` verifies that the declaration holds both ways.
- ``export_min_frames``: on components that need a minimum input length by nature (one analysis window, the
  frames a median runs over), the shortest input their exported program accepts; the export check starts its
  range there, and :func:`tympan.export.export_module` refuses a range starting below it.
- ``export_time_dim``: on components whose first input's time axis is not its last (``-2`` for
  ``(..., frames, dim)`` features): the axis the export and its check make dynamic (default ``-1``).
- ``export_axes``: on models, an :class:`ExportAxes` saying which dimensions of ``forward``'s inputs vary
  (time, tokens) besides the batch; :func:`tympan.testing.check_component` with ``export=True`` exports the
  model with those dimensions dynamic and compares it with eager at other sizes.

Example:
    >>> import torch
    >>> class Invert(Effect):
    ...     '''Flip the polarity.'''
    ...     def forward(self, waveform: torch.Tensor) -> torch.Tensor:
    ...         return -waveform
    >>> Invert()(torch.ones(1, 2, 3)).sum().item()
    -6.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from tympan.core.params import Params, params_of

__all__ = [
    "Transform",
    "Effect",
    "Loss",
    "Dataset",
    "ExportAxes",
    "PaddedInput",
    "input_rate_parameter",
    "produces_waveform",
]


class Transform(nn.Module):
    """A module from a tensor to a tensor; leading dimensions are batch, the last is time (or frames).

    Example:
        >>> class Square(Transform):
        ...     '''Element-wise square.'''
        ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
        ...         return x * x
        >>> Square()(torch.tensor([2.0])).item()
        4.0
    """

    Params: ClassVar[type[Params]]
    sample_rate_param: ClassVar[str | None] = None
    produces_waveform: ClassVar[bool] = False
    scriptable: ClassVar[bool] = True
    __jit_unused_properties__: ClassVar[list[str]] = ["output_sample_rate"]

    @property
    def output_sample_rate(self) -> int | None:
        """The sample rate of what ``forward`` returns, when this component knows it.

        Example:
            >>> class Identity(Transform):
            ...     def __init__(self, sample_rate: int = 16000) -> None:
            ...         super().__init__()
            ...         self.sample_rate = sample_rate
            ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
            ...         return x
            >>> Identity(8000).output_sample_rate
            8000
        """
        rate = getattr(self, "sample_rate", None)
        return int(rate) if rate is not None else None


class Effect(Transform):
    """A module from a waveform ``(..., channels, time)`` to a waveform ``(..., channels', time')``.

    Example:
        >>> class Mute(Effect):
        ...     def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        ...         return torch.zeros_like(waveform)
        >>> Mute.produces_waveform
        True
    """

    produces_waveform: ClassVar[bool] = True


class Loss(nn.Module):
    """A loss module; its computation also exists as a plain function, named by ``functional``.

    Example:
        >>> class L1(Loss):
        ...     def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ...         return (prediction - target).abs().mean()
        >>> L1()(torch.zeros(3), torch.ones(3)).item()
        1.0
    """

    Params: ClassVar[type[Params]]
    functional: ClassVar[Callable[..., torch.Tensor] | None] = None


class Dataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A dataset under ``root`` (fetched when ``download`` is true), optionally one ``subset`` of it.

    Items are typed records; :meth:`metadata` describes item ``i`` without reading its audio.

    Example:
        >>> class Tones(Dataset):
        ...     def __len__(self) -> int:
        ...         return 2
        ...     def metadata(self, index: int) -> dict[str, Any]:
        ...         return {"frequency": 440 * (index + 1)}
        ...     def __getitem__(self, index: int) -> torch.Tensor:
        ...         return torch.zeros(1)
        >>> Tones(root="/tmp").metadata(1)
        {'frequency': 880}
    """

    def __init__(self, root: str, download: bool = False, subset: str | None = None) -> None:
        self.root = root
        self.download = download
        self.subset = subset

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} does not define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define __getitem__")

    def metadata(self, index: int) -> Any:
        """The record of item ``index`` without its audio (override in subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not define metadata()")


def input_rate_parameter(component: Any) -> str | None:
    """The constructor parameter that receives the input sample rate, or ``None`` if there is none.

    Example:
        >>> class NeedsRate(Transform):
        ...     def __init__(self, sample_rate: int = 16000) -> None:
        ...         super().__init__()
        >>> input_rate_parameter(NeedsRate)
        'sample_rate'
    """
    declared = getattr(component, "sample_rate_param", None)
    if declared:
        return str(declared)
    return "sample_rate" if "sample_rate" in params_of(component).model_fields else None


def produces_waveform(component: Any, kind: str) -> bool:
    """Whether the component's output is audio: its own declaration, else true for effects.

    Example:
        >>> produces_waveform(torch.nn.Identity, "effect"), produces_waveform(torch.nn.Identity, "transform")
        (True, False)
    """
    declared = getattr(component, "produces_waveform", None)
    return bool(declared) if declared is not None else kind == "effect"


@dataclass(frozen=True)
class PaddedInput:
    """Where a model's padded batch and its lengths are: by position among ``forward``'s inputs and outputs.

    ``input`` is padded along its second dimension (time, after the batch) and ``lengths`` gives each item's
    valid length; the output at ``output`` has ``output_lengths`` valid steps along its second dimension.

    Example:
        >>> PaddedInput(input=0, lengths=1, output=0, output_lengths=1).lengths
        1
    """

    input: int
    lengths: int
    output: int
    output_lengths: int


@dataclass(frozen=True)
class ExportAxes:
    """The dimensions of a model's inputs that ``torch.export`` makes dynamic, besides the batch (dimension 0).

    ``dims[i]`` maps dimensions of ``forward``'s input ``i`` to axis names; dimensions sharing a name share a
    size. ``lengths`` maps inputs that hold per-item valid lengths to the axis they measure. ``min_sizes``
    gives an axis's smallest size where the model needs more than 2 (a convolution stack's receptive field).
    ``derived`` maps an axis whose size follows from another's to ``(base, a, b)``: its size is
    ``a * size(base) + b`` (samples from frames at a hop); its smallest size follows from its base's.
    ``runtime_checks``: size conditions that hold but that the shape solver cannot prove (relations between
    powers of a size, as a ``frames x frames`` position bias gives) are checked when the program runs instead
    of refusing the export (``torch.export``'s ``prefer_deferred_runtime_asserts_over_guards``).

    Example:
        >>> axes = ExportAxes(dims=({1: "frames"}, {}), lengths={1: "frames"}, min_sizes={"frames": 8})
        >>> axes.names(), axes.min_size("frames")
        (['frames'], 8)
        >>> hopped = ExportAxes(dims=({2: "samples"}, {3: "frames"}), derived={"samples": ("frames", 4, -16)})
        >>> hopped.names(), hopped.free_names(), hopped.derived_size("samples", {"frames": 10})
        (['samples', 'frames'], ['frames'], 24)
    """

    dims: tuple[dict[int, str], ...]
    lengths: dict[int, str] = field(default_factory=dict)
    min_sizes: dict[str, int] = field(default_factory=dict)
    derived: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    runtime_checks: bool = False

    def names(self) -> list[str]:
        """The axis names, in order of first appearance."""
        return list(dict.fromkeys(name for dims in self.dims for name in dims.values()))

    def free_names(self) -> list[str]:
        """The axis names whose sizes are not derived from another's."""
        return [name for name in self.names() if name not in self.derived]

    def derived_size(self, name: str, sizes: dict[str, int]) -> int:
        """The size of derived axis ``name`` given the sizes of the free axes."""
        base, scale, offset = self.derived[name]
        return scale * sizes[base] + offset

    def min_size(self, name: str) -> int:
        """The smallest size of axis ``name`` (2 unless declared)."""
        return self.min_sizes.get(name, 2)
