"""Contract checks every component meets: ``check_component(name)``.

The checks, by kind:

- every kind: the ``Params`` model exports a JSON Schema; the component constructs from (default)
  parameters through ``registry.create``;
- transforms and effects: finite output on silence; a batch equals its items; the module survives
  pickling (DataLoader workers) with the same output; ``torch.jit.script`` gives the same output when the
  class declares ``scriptable = True``. The input is a waveform, or what the module's ``example_input(batch)``
  returns when it defines one;
- backends: a write / info / load round trip of a short WAV when the backend writes WAV;
- models: construction from defaults (on the meta device), finite output and gradients on silence, batch
  consistency (with padding, where the model declares it), pickling, TorchScript (``scriptable``) and
  ``torch.compile``, on what ``example_input(batch)`` returns (see :mod:`tympan.testing.model_checks`);
- with ``export=True``, transforms and effects: dynamic ``torch.export`` (see
  :mod:`tympan.testing.export_checks`); models: the same over their declared axes (see
  :mod:`tympan.testing.model_export_checks`).

Example:
    >>> results = check_component("dsp:mfcc")
    >>> all(result.ok for result in results), sorted(result.check for result in results)[:2]
    (True, ['batch consistency', 'construction'])
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from tympan.core.components import input_rate_parameter
from tympan.core.errors import ComponentCheckError
from tympan.core.params import params_of
from tympan.registry import Registry, default_registry

__all__ = ["CheckResult", "check_component", "example_inputs"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one contract check.

    Example:
        >>> CheckResult("pickling", True).line()
        'ok       pickling'
    """

    check: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        """One line for a report."""
        return f"{'ok' if self.ok else 'FAILED':<8} {self.check}{': ' + self.detail if self.detail else ''}"


def _compare(expected: torch.Tensor, actual: torch.Tensor, what: str) -> str | None:
    if expected.shape != actual.shape:
        return f"{what}: shape {tuple(actual.shape)} != {tuple(expected.shape)}"
    scale = max(float(expected.abs().max()), 1.0) if expected.numel() else 1.0
    worst = float((expected - actual).abs().max()) if expected.numel() else 0.0
    return None if worst <= 1e-4 * scale else f"{what}: differs by {worst:.3g} (scale {scale:.3g})"


def _tensors(output: Any) -> list[torch.Tensor]:
    """The tensors of a module's output: itself, or the items of a tuple or list."""
    return list(output) if isinstance(output, (tuple, list)) else [output]


def _item(output: Any, index: int) -> list[torch.Tensor]:
    """Batch item ``index`` of every tensor of ``output``."""
    return [t[index] for t in _tensors(output)]


def _compare_all(expected: Any, actual: Any, what: str) -> str | None:
    """:func:`_compare` over each tensor of two outputs (a tensor or a tuple of them)."""
    wanted, got = _tensors(expected), _tensors(actual)
    if len(wanted) != len(got):
        return f"{what}: {len(got)} outputs, {len(wanted)} expected"
    for position, (a, b) in enumerate(zip(wanted, got, strict=True)):
        problem = _compare(a, b, what if len(wanted) == 1 else f"{what}, output {position}")
        if problem:
            return problem
    return None


class _Checker:
    """Runs the checks for one component and collects the results."""

    def __init__(
        self, name: str, registry: Registry, params: Mapping[str, Any], sample_rate: int, frames: int, export: bool
    ) -> None:
        self.entry = registry.resolve(name)
        self.export = export
        self.registry = registry
        self.params = dict(params)
        self.sample_rate = sample_rate
        self.frames = frames
        self.results: list[CheckResult] = []

    def record(self, check: str, run: Callable[[], str | None]) -> None:
        try:
            problem = run()
        except Exception as exc:  # a check reports any failure of the component as a failed check
            problem = f"{type(exc).__name__}: {exc}"
        self.results.append(CheckResult(check, problem is None, problem or ""))

    def construct(self) -> Any:
        component = self.entry.load()
        rate_param = input_rate_parameter(component) if self.entry.kind in ("transform", "effect") else None
        params = dict(self.params)
        if rate_param and rate_param not in params:
            params[rate_param] = self.sample_rate
        return self.registry.create(self.entry.name, self.entry.kind, **params)

    def run(self) -> list[CheckResult]:
        component = self.entry.load()
        self.record("params schema", lambda: json.dumps(params_of(component).model_json_schema()) and None)
        built: list[Any] = []
        self.record("construction", lambda: built.append(self.construct()))
        if not built:
            return self.results
        instance = built[0]
        if self.entry.kind in ("transform", "effect"):
            self.check_module(instance)
        elif self.entry.kind == "backend":
            self.record("wav round trip", lambda: self.check_backend(instance))
        elif self.entry.kind == "model":
            self.check_model(instance)
        return self.results

    def check_model(self, model: torch.nn.Module) -> None:
        from tympan.testing.model_checks import model_checks

        def from_defaults() -> Any:
            return self.registry.create(self.entry.name, self.entry.kind)

        for check, run in model_checks(self.entry.name, from_defaults, model, _compare_all):
            self.record(check, run)
            if check == "forward" and not self.results[-1].ok:
                return
        if self.export:
            from tympan.testing.model_checks import example_model_inputs
            from tympan.testing.model_export_checks import model_export_checks

            for check, run in model_export_checks(model, example_model_inputs(model, 3), _compare_all):
                self.record(check, run)

    def example(self, batch: int, module: Any = None) -> tuple[torch.Tensor, ...]:
        """The module's ``example_input(batch)``, else random audio (see :func:`example_inputs`)."""
        return example_inputs(module, self.entry.kind, batch, self.frames)

    def check_module(self, module: torch.nn.Module) -> None:
        module.eval()
        inputs = self.example(3, module)
        outputs: list[Any] = []
        with torch.no_grad():
            self.record("forward", lambda: outputs.append(module(*inputs)))
            if not outputs:
                return
            reference = outputs[0]

            def silence() -> str | None:
                out = module(torch.zeros_like(inputs[0]), *inputs[1:])
                finite = all(bool(torch.isfinite(t).all()) for t in _tensors(out))
                return None if finite else "non-finite output on silence"

            def batch_consistency() -> str | None:
                for i in range(inputs[0].shape[0]):
                    problem = _compare_all(_item(reference, i), module(*(t[i] for t in inputs)), f"item {i}")
                    if problem:
                        return problem
                return None

            def pickling() -> str | None:
                clone = pickle.loads(pickle.dumps(module))
                return _compare_all(reference, clone(*inputs), "unpickled module")

            def scripting() -> str | None:
                return _compare_all(reference, torch.jit.script(module)(*inputs), "scripted module")

            self.record("finite on silence", silence)
            self.record("batch consistency", batch_consistency)
            self.record("pickling", pickling)
            if getattr(module, "scriptable", False):
                self.record("torchscript", scripting)
        if self.export:
            from tympan.testing.export_checks import export_checks

            for check, run in export_checks(module, inputs, self.sample_rate):
                self.record(check, run)

    def check_backend(self, backend: Any) -> str | None:
        if not backend.can_write("wav"):
            return None
        waveform = self.example(1)[0][:, : self.sample_rate // 10].clamp(-1, 1)
        buffer = io.BytesIO()
        backend.save(buffer, waveform, self.sample_rate, format="wav", encoding="PCM_F", bits_per_sample=32)
        data = buffer.getvalue()
        info = backend.info(data, "wav")
        if (info.sample_rate, info.num_frames) != (self.sample_rate, waveform.shape[-1]):
            return f"info() reports {info.sample_rate} Hz, {info.num_frames} frames"
        loaded, rate = backend.load(data, format="wav")
        if rate != self.sample_rate:
            return f"load() reports {rate} Hz, {self.sample_rate} Hz written"
        return _compare(waveform, loaded, "loaded waveform")


def example_inputs(module: Any, kind: str, batch: int, frames: int) -> tuple[torch.Tensor, ...]:
    """A typical input of ``batch`` items for ``module``: its ``example_input(batch)`` (one tensor or a tuple
    of them) when it defines one, else random audio of ``frames`` samples, ``(batch, 2, frames)`` for an
    effect and ``(batch, frames)`` otherwise.

    Example:
        >>> [tuple(t.shape) for t in example_inputs(torch.nn.Identity(), "effect", 3, 100)]
        [(3, 2, 100)]
    """
    maker = getattr(module, "example_input", None)
    if callable(maker):
        made = maker(batch)
        return tuple(torch.as_tensor(t) for t in made) if isinstance(made, (tuple, list)) else (torch.as_tensor(made),)
    generator = torch.Generator().manual_seed(0)
    shape = (batch, 2, frames) if kind == "effect" else (batch, frames)
    return (0.5 * torch.randn(shape, generator=generator),)


def check_component(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    sample_rate: int = 16000,
    num_frames: int = 4000,
    registry: Registry | None = None,
    raise_on_failure: bool = True,
    export: bool = False,
) -> list[CheckResult]:
    """Run the contract checks on the component ``name`` built with ``params``.

    Components that take an input sample rate get ``sample_rate`` unless ``params`` sets it. Raises
    :class:`~tympan.core.errors.ComponentCheckError` listing the failed checks (unless
    ``raise_on_failure`` is false); returns every result. ``export`` adds the export check of transforms and
    effects (:mod:`tympan.testing.export_checks`: dynamic ``torch.export`` equal to eager on other lengths
    and batch sizes, or a failing export where the component declares a data-dependent output length), and of
    models over the axes they declare (:mod:`tympan.testing.model_export_checks`).

    Example:
        >>> [r.check for r in check_component("dsp:resample", {"new_freq": 8000})][-1]
        'torchscript'
    """
    checker = _Checker(name, registry or default_registry(), params or {}, sample_rate, num_frames, export)
    results = checker.run()
    failures = [result.line() for result in results if not result.ok]
    if failures and raise_on_failure:
        raise ComponentCheckError(checker.entry.name, failures)
    return results
