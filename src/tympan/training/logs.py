"""What a run records, on rank 0: ``metrics.jsonl`` (one JSON object per logged step or validation),
TensorBoard logs (scalars, validation audio, spectrogram pictures, text), progress bars, ``results.json``.

TensorBoard is optional (``pip install 'tympan[train]'``); without it the JSON files hold the same numbers.

Example:
    >>> import json, pathlib, tempfile
    >>> run = pathlib.Path(tempfile.mkdtemp())
    >>> log = RunLog(run, tensorboard=False, progress=False)
    >>> log.scalars(10, {"train/loss": 1.5})
    >>> log.close()
    >>> json.loads((run / "metrics.jsonl").read_text())
    {'step': 10, 'train/loss': 1.5}
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from tympan.core.files import atomic_write
from tympan.training.tasks.base import Sample

__all__ = ["Progress", "RunLog", "log_spectrogram", "picture", "write_results"]


def log_spectrogram(waveform: torch.Tensor, n_fft: int = 512) -> torch.Tensor:
    """A picture of ``waveform`` ``(1, time)``: its log-magnitude spectrogram scaled to [0, 1], low frequencies
    at the bottom, ``(frequency, frames)``.

    Example:
        >>> log_spectrogram(torch.randn(1, 4000)).shape
        torch.Size([257, 32])
    """
    window = torch.hann_window(n_fft, device=waveform.device)
    spectrum = torch.stft(waveform.reshape(-1).float(), n_fft, n_fft // 4, window=window, return_complex=True).abs()
    decibels = 20 * torch.log10(spectrum + 1e-6)
    return picture(decibels.clamp_min(decibels.max() - 80))


def picture(values: torch.Tensor) -> torch.Tensor:
    """``values`` ``(rows, columns)`` as a grey picture: scaled to [0, 1], the first row at the bottom.

    Example:
        >>> picture(torch.tensor([[0.0, 2.0], [4.0, 8.0]]))
        tensor([[0.5000, 1.0000],
                [0.0000, 0.2500]])
    """
    low, high = values.min(), values.max()
    return ((values - low) / (high - low + 1e-9)).flip(0)


class Progress:
    """A progress bar over one epoch's batches on a terminal (nothing elsewhere), showing the running loss.

    Example:
        >>> bar = Progress("epoch 1/1", 3, enabled=False)
        >>> bar.update(0.5)
        >>> bar.close()
    """

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self._bar: Any = None
        self._loss = float("nan")
        if enabled and sys.stderr.isatty() and total:
            import click

            self._bar = click.progressbar(
                length=total, label=label, file=sys.stderr, show_pos=True, item_show_func=self._show
            )
            self._bar.__enter__()

    def _show(self, _: Any) -> str:
        return f"loss {self._loss:.4g}"

    def update(self, loss: float) -> None:
        """One more batch, with its loss."""
        self._loss = loss
        if self._bar is not None:
            self._bar.update(1, current_item=loss)

    def close(self) -> None:
        """End the bar's line."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    return {key: float(value) for key, value in values.items() if math.isfinite(float(value))}


class RunLog:
    """The run's logs; see the module docstring. ``tensorboard=None`` writes them when TensorBoard is installed.

    Example:
        >>> import tempfile
        >>> RunLog(Path(tempfile.mkdtemp()), tensorboard=False, progress=False).writer is None
        True
    """

    def __init__(self, run_dir: Path, tensorboard: bool | None, progress: bool, resumed_at: int | None = None) -> None:
        self.run_dir = run_dir
        self.progress_enabled = progress
        self.path = run_dir / "metrics.jsonl"
        if resumed_at is not None:
            self._drop_after(resumed_at)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (held for the run)
        self.writer: Any = None
        if tensorboard or (tensorboard is None and importlib.util.find_spec("tensorboard") is not None):
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resumed_at)

    def _drop_after(self, step: int) -> None:
        """Forget what an interrupted run logged after the checkpoint it resumes from."""
        if not self.path.is_file():
            return
        kept = [line for line in self.path.read_text(encoding="utf-8").splitlines() if json.loads(line)["step"] <= step]
        with atomic_write(self.path) as handle:
            handle.write("".join(line + "\n" for line in kept).encode())

    def scalars(self, step: int, values: Mapping[str, float]) -> None:
        """Record ``values`` at ``step`` (non-finite ones are left out of TensorBoard)."""
        self._file.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
        self._file.flush()
        if self.writer is not None:
            for key, value in _finite(values).items():
                self.writer.add_scalar(key, value, step)

    def samples(self, step: int, split: str, samples: Iterable[Sample]) -> None:
        """Validation examples in TensorBoard: text, audio and a spectrogram picture of each audio, and the
        sample's own pictures (each scaled to [0, 1], its first row, the lowest frequency, at the bottom)."""
        if self.writer is None:
            return
        for sample in samples:
            tag = f"{split}/{sample.id}"
            if sample.text:
                self.writer.add_text(tag, sample.text, step)
            for name, (waveform, rate) in sample.audio.items():
                peak = float(waveform.abs().max()) or 1.0
                self.writer.add_audio(f"{tag}/{name}", (waveform.reshape(-1) / peak).float(), step, sample_rate=rate)
                self.writer.add_image(f"{tag}/{name}", log_spectrogram(waveform)[None], step)
            for name, values in sample.images.items():
                self.writer.add_image(f"{tag}/{name}", picture(values.float())[None], step)

    def progress(self, label: str, total: int) -> Progress:
        """A progress bar for ``total`` batches (when enabled)."""
        return Progress(label, total, self.progress_enabled)

    def close(self) -> None:
        """Flush and close the files."""
        self._file.close()
        if self.writer is not None:
            self.writer.close()


def write_results(run_dir: Path, results: Mapping[str, Any]) -> Path:
    """Write ``results.json`` atomically; return its path.

    Example:
        >>> import tempfile
        >>> write_results(Path(tempfile.mkdtemp()), {"valid": {"accuracy": 0.9}}).name
        'results.json'
    """
    path = run_dir / "results.json"
    with atomic_write(path) as handle:
        handle.write((json.dumps(results, indent=2, default=float) + "\n").encode())
    return path
