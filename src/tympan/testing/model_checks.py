"""The contract checks of ``model`` components, run by :func:`tympan.testing.check_component`.

A model's input is what its ``example_input(batch)`` returns (a tensor or a tuple of them, batch first);
outputs may be tensors, tuples, lists and ``None``, nested (a transducer returns its recurrent state). Checks:

- construction from defaults, on the ``meta`` device (validated and assembled, nothing allocated);
- forward in eval mode; finite output on silence (zeros in place of the first input when it is floating);
- batch consistency: each item run alone equals its row of the batch; when the model declares a
  :class:`~tympan.core.components.PaddedInput`, each item alone is first trimmed to its length, and
  outputs compared within theirs (padding changes nothing);
- pickling; ``torch.jit.script`` (on a copy) when the model declares ``scriptable``; ``torch.compile``
  (the ``aot_eager`` backend: graph capture and autograd tracing, without compiling kernels);
- finite gradients of every parameter on silence.

Example:
    >>> from tympan.testing import check_component
    >>> results = check_component("asr:wav2letter", {"num_classes": 5, "input_type": "mfcc", "num_features": 4})
    >>> sorted(r.check for r in results)[:3]
    ['batch consistency', 'construction', 'construction from defaults']
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import torch

from tympan.core.components import PaddedInput

__all__ = ["example_model_inputs", "flat_tensors", "model_checks"]

#: ``(name, check)`` pairs; a check returns a problem, or ``None``.
Checks = list[tuple[str, Callable[[], str | None]]]
Compare = Callable[[Any, Any, str], "str | None"]


def flat_tensors(output: Any) -> list[torch.Tensor]:
    """Every tensor in ``output`` (a tensor, or nested tuples and lists of them; ``None`` skipped).

    Example:
        >>> import torch
        >>> len(flat_tensors((torch.zeros(1), None, [[torch.ones(2), torch.ones(3)]])))
        3
    """
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [tensor for item in output for tensor in flat_tensors(item)]
    return []


def example_model_inputs(model: Any, batch: int) -> tuple[torch.Tensor, ...]:
    """The model's ``example_input(batch)`` as a tuple of tensors.

    Example:
        >>> from tympan import registry
        >>> model = registry.create("asr:wav2letter", num_classes=5, input_type="mfcc", num_features=4)
        >>> [tuple(t.shape) for t in example_model_inputs(model, 2)]
        [(2, 4, 50)]
    """
    made = model.example_input(batch)
    return tuple(made) if isinstance(made, (tuple, list)) else (made,)


def _silence(inputs: Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    first = torch.zeros_like(inputs[0]) if inputs[0].is_floating_point() else inputs[0]
    return (first, *inputs[1:])


def _item_inputs(inputs: Sequence[torch.Tensor], index: int, padded: PaddedInput | None) -> list[torch.Tensor]:
    items = [tensor[index : index + 1] for tensor in inputs]
    if padded is not None:
        length = int(inputs[padded.lengths][index])
        items[padded.input] = items[padded.input][:, :length]
    return items


def _item_outputs(output: Any, index: int, padded: PaddedInput | None) -> list[torch.Tensor]:
    """Row ``index`` of every batch output; the padded output trimmed to the item's length."""
    rows = [tensor[index : index + 1] for tensor in flat_tensors(output)]
    if padded is not None and isinstance(output, (tuple, list)):
        length = int(output[padded.output_lengths][index])
        rows[padded.output] = rows[padded.output][:, :length]
    return rows


def _trimmed(output: Any, padded: PaddedInput | None) -> list[torch.Tensor]:
    tensors = flat_tensors(output)
    if padded is not None and isinstance(output, (tuple, list)):
        length = int(output[padded.output_lengths][0])
        tensors[padded.output] = tensors[padded.output][:, :length]
    return tensors


def model_checks(name: str, build: Callable[..., Any], model: torch.nn.Module, compare: Compare) -> Checks:
    """The checks of ``model`` (built from ``name``'s parameters; ``build()`` builds it from defaults)."""
    model.eval()
    inputs = example_model_inputs(model, 3)
    padded: PaddedInput | None = getattr(model, "padded_input", None)
    reference: list[Any] = []

    def forward() -> str | None:
        with torch.no_grad():
            reference.append(model(*inputs))
        return None if flat_tensors(reference[0]) else "forward returned no tensor"

    def defaults() -> str | None:
        with torch.device("meta"):
            built = build()
        return None if isinstance(built, torch.nn.Module) else f"built a {type(built).__name__}"

    def silence() -> str | None:
        with torch.no_grad():
            out = model(*_silence(inputs))
        finite = all(bool(torch.isfinite(t).all()) for t in flat_tensors(out) if t.is_floating_point())
        return None if finite else "non-finite output on silence"

    def batch_consistency() -> str | None:
        with torch.no_grad():
            for index in range(inputs[0].shape[0]):
                alone = _trimmed(model(*_item_inputs(inputs, index, padded)), padded)
                problem = compare(_item_outputs(reference[0], index, padded), alone, f"item {index}")
                if problem:
                    return problem
        return None

    def pickling() -> str | None:
        clone = pickle.loads(pickle.dumps(model))
        with torch.no_grad():
            return compare(flat_tensors(reference[0]), flat_tensors(clone(*inputs)), "unpickled model")

    def scripting() -> str | None:
        scripted = torch.jit.script(copy.deepcopy(model))
        with torch.no_grad():
            return compare(flat_tensors(reference[0]), flat_tensors(scripted(*inputs)), "scripted model")

    def compiling() -> str | None:
        compiled = torch.compile(copy.deepcopy(model), backend="aot_eager")
        with torch.no_grad():
            return compare(flat_tensors(reference[0]), flat_tensors(compiled(*inputs)), "compiled model")

    def gradients() -> str | None:
        model.zero_grad(set_to_none=True)
        with torch.enable_grad():
            outputs = [t for t in flat_tensors(model(*_silence(inputs))) if t.is_floating_point() and t.requires_grad]
            if not outputs:
                return "no output depends on the parameters"
            sum(output.sum() for output in outputs).backward()
        broken = [n for n, p in model.named_parameters() if p.grad is not None and not torch.isfinite(p.grad).all()]
        model.zero_grad(set_to_none=True)
        return f"non-finite gradients on silence: {', '.join(broken[:5])}" if broken else None

    checks: Checks = [("forward", forward), ("construction from defaults", defaults)]
    checks += [("finite on silence", silence), ("batch consistency", batch_consistency), ("pickling", pickling)]
    if getattr(model, "scriptable", False):
        checks.append(("torchscript", scripting))
    checks += [("torch.compile", compiling), ("finite gradients on silence", gradients)]
    return checks
