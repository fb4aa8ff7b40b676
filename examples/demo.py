"""The demo: the bundled speech clip through a pipeline configured by name, to MFCCs and a picture.

Run with ``make demo`` (or ``python examples/demo.py --outdir demo-output``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import tympan
from tympan import registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", type=Path, default=Path("demo-output"))
    parser.add_argument("--config", type=Path, default=Path(__file__).with_name("mfcc.yaml"))
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)

    clip = tympan.assets.path("speech")
    info = tympan.info(clip)
    print(f"{clip.name}: {info.duration:.2f} s, {info.sample_rate} Hz, {info.num_channels} channel(s), {info.encoding}")
    waveform, rate = tympan.load(clip)

    pipeline = tympan.Pipeline.from_config(args.config)
    mfcc = pipeline(waveform)
    print(f"pipeline {pipeline.step_names} -> MFCC {tuple(mfcc.shape)} (channels, coefficients, frames)")
    torch.save(mfcc, args.outdir / "speech.mfcc.pt")

    to_db = registry.create("amplitude_to_db", stype="power", top_db=80.0)
    mel = registry.create("mel_spectrogram", sample_rate=rate, n_fft=400, hop_length=160, n_mels=80)
    picture = args.outdir / "spectrogram.png"
    save_picture(to_db(mel(waveform))[0], mfcc[0], rate, hop_length=160, path=picture)
    print(f"wrote {args.outdir / 'speech.mfcc.pt'} and {picture}")


def save_picture(mel_db: torch.Tensor, mfcc: torch.Tensor, rate: int, hop_length: int, path: Path) -> None:
    """Plot the log-mel spectrogram above the MFCCs (without c0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seconds = mel_db.shape[-1] * hop_length / rate
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, constrained_layout=True)
    image = top.imshow(mel_db.numpy(), origin="lower", aspect="auto", extent=(0, seconds, 0, mel_db.shape[0]))
    top.set(title="log-mel spectrogram (dB)", ylabel="mel band")
    figure.colorbar(image, ax=top)
    shown = mfcc[1:]  # c0 (log energy) has a far larger range than the others
    image = bottom.imshow(shown.numpy(), origin="lower", aspect="auto", extent=(0, seconds, 1, mfcc.shape[0]))
    bottom.set(title="MFCC 1-12", xlabel="time (s)", ylabel="coefficient")
    figure.colorbar(image, ax=bottom)
    figure.savefig(path, dpi=100)
    plt.close(figure)


if __name__ == "__main__":
    main()
