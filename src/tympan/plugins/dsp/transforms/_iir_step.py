"""The streaming step of a cascade of IIR sections: ``(chunk, state) -> (out, state)`` by two products.

Over a chunk of ``c`` samples, section ``b / a`` (``a0 = 1``) is linear in its input and in the outputs it
had before: ``y = M_x @ [x_prev, x] + M_y @ y_prev``, where ``x_prev`` are the last ``len(b) - 1`` inputs and
``y_prev`` the last ``len(a) - 1`` (unclipped) outputs of the previous chunk. ``M_x`` is the lower Toeplitz
matrix of the section's impulse response and each column of ``M_y`` the response to one past output; both
are computed once, in float64, by the DSP plugin's filter. Each call is then two matrix products per section,
with no recursion for ``torch.export`` to unroll; the state carries every section's ``x_prev`` and ``y_prev``.

Example:
    >>> import torch
    >>> a, b = torch.tensor([[1.0, -0.5]], dtype=torch.float64), torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    >>> step = IirStep("dsp:lfilter", a, b, clamp=False, chunk_samples=2)
    >>> out, state = step(torch.tensor([[1.0, 0.0]]), step.initial_state(1))
    >>> out.tolist(), step(torch.tensor([[0.0, 0.0]]), state)[0].tolist()
    ([[1.0, 0.5]], [[0.25, 0.125]])
"""

from __future__ import annotations

import torch

from tympan.core.budget import check_buffer_bytes
from tympan.core.streaming import StreamingStep, check_chunk_samples
from tympan.plugins.dsp.functional._iir import filter_waveform

__all__ = ["IirStep", "section_matrices"]


def _banded(taps: torch.Tensor, rows: int, columns: int, offset: int) -> torch.Tensor:
    """``M[n, j] = taps[n + offset - j]`` where that index lies in ``taps``, else 0."""
    index = torch.arange(rows).unsqueeze(1) + offset - torch.arange(columns)
    inside = (index >= 0) & (index < taps.shape[0])
    return torch.where(inside, taps[index.clamp(0, taps.shape[0] - 1)], torch.zeros((), dtype=taps.dtype))


def section_matrices(a: torch.Tensor, b: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M_x, M_y)`` of one section ``b / a`` (1-D float64, ``a[0] = 1``) over chunks of ``chunk`` samples.

    ``M_x`` is ``(chunk, len(b) - 1 + chunk)``, ``M_y`` is ``(chunk, len(a) - 1)``. Input ``x[j]`` (past ones
    included) drives output ``n`` by ``b[n - j]`` and past output ``y[-k]`` by ``-a[n + k]``; each column is
    that drive within the chunk, filtered by ``1 / a``.

    Example:
        >>> m_x, m_y = section_matrices(torch.tensor([1.0, -0.5]).double(), torch.tensor([2.0]).double(), 3)
        >>> m_x.tolist(), m_y.tolist()
        ([[2.0, 0.0, 0.0], [1.0, 2.0, 0.0], [0.5, 1.0, 2.0]], [[0.5], [0.25], [0.125]])
    """
    inputs, outputs = b.shape[0] - 1, a.shape[0] - 1
    drive = torch.cat([_banded(b, chunk, inputs + chunk, inputs), _banded(-a, chunk, outputs, outputs)], dim=1)
    one = torch.ones(1, 1, dtype=torch.float64)
    responses = filter_waveform(drive.T.contiguous(), a.unsqueeze(0), one, clamp=False).T
    return responses[:, : inputs + chunk].contiguous(), responses[:, inputs + chunk :].contiguous()


class IirStep(StreamingStep):
    """Sections ``b / a`` (rows of ``(sections, N + 1)`` and ``(sections, M + 1)``, ``a0 = 1``) in cascade, a
    chunk of ``chunk_samples`` samples at a time; ``clamp`` clips the final output to ``[-1, 1]``.

    ``name`` is the component's, for errors (the matrices grow with the square of ``chunk_samples``, within
    the buffer budget). The step adds no delay.

    Example:
        >>> a = torch.tensor([[1.0, -0.9]], dtype=torch.float64)
        >>> step = IirStep("dsp:lfilter", a, torch.tensor([[0.1]], dtype=torch.float64), False, 160)
        >>> step.state_size, step.delay
        (1, 0)
    """

    def __init__(
        self,
        name: str,
        a: torch.Tensor,
        b: torch.Tensor,
        clamp: bool,
        chunk_samples: int,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        check_chunk_samples(name, chunk_samples, 1, "samples")
        sections, inputs, outputs = a.shape[0], b.shape[1] - 1, a.shape[1] - 1
        itemsize = torch.empty(0, dtype=dtype).element_size()
        size = sections * chunk_samples * (chunk_samples + inputs + outputs) * max(itemsize, 8)
        check_buffer_bytes(name, {"chunk_samples": chunk_samples}, size)
        super().__init__(chunk_samples, sections * (inputs + outputs), chunk_samples, 0, dtype)
        self.sections, self.inputs, self.outputs, self.clamp = sections, inputs, outputs, clamp
        pairs = [section_matrices(a[s].double(), b[s].double(), chunk_samples) for s in range(sections)]
        self.register_buffer("m_x", torch.stack([m_x for m_x, _ in pairs]).to(dtype), persistent=False)
        self.register_buffer("m_y", torch.stack([m_y for _, m_y in pairs]).to(dtype), persistent=False)

    def forward(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, chunk_samples)`` filtered samples, and each section's last inputs and outputs."""
        signal = chunk.to(state.dtype)
        past = state.unflatten(1, (self.sections, self.inputs + self.outputs))
        states: list[torch.Tensor] = []
        for section in range(self.sections):
            before, past_out = past[:, section, : self.inputs], past[:, section, self.inputs :]
            extended = torch.cat([before, signal], dim=1)
            out = extended @ self.m_x[section].T + past_out @ self.m_y[section].T
            outputs = torch.cat([past_out, out], dim=1)
            states += [extended[:, extended.shape[1] - self.inputs :], outputs[:, outputs.shape[1] - self.outputs :]]
            signal = out
        if self.clamp:
            signal = signal.clamp(-1.0, 1.0)
        return signal, torch.cat(states, dim=1)
