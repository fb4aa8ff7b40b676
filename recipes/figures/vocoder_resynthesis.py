"""The vocoder recipe's before/after picture: log-mel spectrograms of one held-out utterance, the reference and
the audio the model generated at the first and at the last validation of a run.

It reads the validation audio a run logged to TensorBoard (``<run>/tensorboard``; run with
``training.validate_first: true`` for the "before", and TensorBoard installed) and the model's hop from
``<run>/recipe.json``. The spectrograms are the 80-band natural-log mel spectrograms the task's ``mel_l1``
compares; TensorBoard stores each waveform scaled to its peak, so the levels of the panels are relative to
each one's peak. The titles carry the mel L1 distances the trainer logged for that utterance.

Command (from the repository root)::

    python recipes/figures/vocoder_resynthesis.py runs/vocoder recipes/figures/vocoder_resynthesis.png

Example:
    >>> import numpy as np
    >>> log_mel(np.zeros(16000, dtype=np.float32), 16000, 200).shape
    (80, 81)
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch


@dataclass
class Utterance:
    """One validation utterance's logged audio (name -> waveform) and caption at one step."""

    audio: dict[str, np.ndarray] = field(default_factory=dict)
    rate: int = 0
    caption: str = ""


def read_logged(run_dir: Path) -> dict[int, dict[str, Utterance]]:
    """The validation audio and captions in ``run_dir``'s TensorBoard files, by step and utterance."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"audio": 0, "tensors": 0})
    events.Reload()
    logged: dict[int, dict[str, Utterance]] = {}
    prefix = "valid/"
    for tag in events.Tags()["audio"]:
        if not tag.startswith(prefix):
            continue
        utterance, name = tag[len(prefix) :].rsplit("/", 1)
        for event in events.Audio(tag):
            waveform, rate = soundfile.read(io.BytesIO(event.encoded_audio_string), dtype="float32")
            entry = logged.setdefault(event.step, {}).setdefault(utterance, Utterance())
            entry.audio[name], entry.rate = waveform, int(rate)
    for tag in events.Tags()["tensors"]:
        if tag.startswith(prefix) and tag.endswith("/text_summary"):
            utterance = tag[len(prefix) : -len("/text_summary")]
            for event in events.Tensors(tag):
                if utterance in logged.get(event.step, {}):
                    logged[event.step][utterance].caption = event.tensor_proto.string_val[0].decode()
    return logged


def log_mel(waveform: np.ndarray, rate: int, hop: int) -> np.ndarray:
    """The task's ``mel_l1`` spectrogram of ``waveform`` (natural log, floor 1e-5): ``(80, frames)``."""
    from tympan.training.tasks.vocoder import log_mel_distance_spectrogram

    return log_mel_distance_spectrogram(torch.from_numpy(np.ascontiguousarray(waveform)), rate, hop).numpy()


def _hop(run_dir: Path) -> int:
    config = json.loads((run_dir / "recipe.json").read_text())
    (params,) = config["model"].values()
    return int(params["hop_length"])


def plot(run_dir: Path, output: Path, utterance: str | None = None) -> Path:
    """Write the picture of ``utterance`` (default: the first one logged at both ends) to ``output``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logged = read_logged(run_dir)
    if 0 not in logged or len(logged) < 2:  # the "before" panel is the untrained model's, at step 0
        raise ValueError(f"{run_dir}: no validation audio at step 0 and after it (set training.validate_first)")
    first, last = logged[0], logged[max(logged)]
    name = utterance or sorted(set(first) & set(last))[0]
    hop = _hop(run_dir)
    reference = log_mel(first[name].audio["reference"], first[name].rate, hop)
    panels = [(f"reference: {name}", reference)] + [
        (f"{label} (step {step}): {logged[step][name].caption.split(': ', 1)[-1]}",
         log_mel(logged[step][name].audio["generated"], logged[step][name].rate, hop))
        for label, step in (("before training", 0), ("after training", max(logged)))
    ]  # fmt: skip
    seconds = reference.shape[-1] * hop / first[name].rate
    figure, axes = plt.subplots(3, 1, figsize=(7, 6), sharex=True, layout="constrained")
    for axis, (title, mel) in zip(axes, panels, strict=True):
        image = axis.imshow(mel, origin="lower", aspect="auto", cmap="magma", extent=(0, seconds, 0, 80),
                            vmin=float(reference.max()) - 14, vmax=float(reference.max()))  # fmt: skip
        axis.set_title(title, fontsize=9)
        axis.set_ylabel("mel band")
    axes[-1].set_xlabel("seconds")
    figure.colorbar(image, ax=axes, label="log mel (natural log)")
    output.parent.mkdir(parents=True, exist_ok=True)
    _save_small_png(figure, output)
    plt.close(figure)
    return output


def _save_small_png(figure: Any, output: Path) -> None:
    """Save ``figure`` as a PNG of at most 128 colours (noise-like spectrograms make large true-colour files)."""
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    Image.open(buffer).convert("RGB").quantize(colors=128).save(output, optimize=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a run directory of the vocoder recipe")
    parser.add_argument("output", type=Path, help="the PNG to write")
    parser.add_argument("--utterance", help="the utterance id (default: the first logged at both ends)")
    args = parser.parse_args(argv)
    print(plot(args.run_dir, args.output, args.utterance))
    return 0


if __name__ == "__main__":
    sys.exit(main())
