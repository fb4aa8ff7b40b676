"""Crafted destinations for ``tympan.save`` and ``tympan convert``: devices, FIFOs, symbolic links (to files,
to nothing, to directories, to devices, in loops), names at the length limit, and saves interrupted by a
termination signal.

Nothing but the intended file may change: a device or FIFO is refused and stays what it was, a link is
written through to its target and stays a link, and no temporary file is left behind.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

from _harness import Attack

FAMILY = "saves"


def _save(target: Callable[[Path], Path], **options: object) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import torch

        import tympan

        return tympan.save(target(scratch), 0.25 * torch.ones(1, 800), 8000, **options)

    return run


def _convert(target: Callable[[Path], Path], *extra: str) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import torch
        from click.testing import CliRunner

        import tympan
        from tympan.cli import cli

        source = scratch / "source.wav"
        if not source.exists():
            tympan.save(source, 0.25 * torch.ones(1, 800), 8000)
        result = CliRunner().invoke(cli, ["convert", str(source), str(target(scratch)), *extra])
        return _cli_outcome(result)

    return run


def _cli_outcome(result: object) -> object:
    """A CLI result as an exception (what the command failed with) or a value."""
    from tympan.core.errors import TympanError

    exception = getattr(result, "exception", None)
    if exception is not None and not isinstance(exception, SystemExit):
        raise exception
    if getattr(result, "exit_code", 0) != 0:
        raise TympanError(getattr(result, "output", "").strip())
    return result


# -- destinations -------------------------------------------------------------------------------------------


def device(scratch: Path) -> Path:
    """A character device node with /dev/null's numbers, made in the scratch folder (as root), or a FIFO."""
    path = scratch / "device.wav"
    if not path.exists() and not path.is_symlink():
        try:
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            os.mkfifo(path)
    return path


def fifo(scratch: Path) -> Path:
    path = scratch / "fifo.wav"
    if not path.exists():
        os.mkfifo(path)
    return path


def _link(scratch: Path, name: str, target: str) -> Path:
    """The symbolic link ``scratch/name`` to ``target`` (relative), made once."""
    link = scratch / name
    if not link.is_symlink():
        link.symlink_to(target)
    return link


def link_to_file(scratch: Path) -> Path:
    if not (scratch / "link.wav").is_symlink():
        (scratch / "real.wav").write_bytes(b"old contents")
    return _link(scratch, "link.wav", "real.wav")


def link(name: str, target: str, prepare: Callable[[Path], object] = lambda scratch: None) -> Callable[[Path], Path]:
    """A destination maker: ``prepare(scratch)``, then the link ``name`` to ``target``."""

    def make(scratch: Path) -> Path:
        prepare(scratch)
        return _link(scratch, name, target)

    return make


link_chain = link("chain.wav", "link.wav", link_to_file)
dangling_link = link("dangling.wav", "created.wav")
link_to_directory = link("folder-link.wav", "folder", lambda scratch: (scratch / "folder").mkdir(exist_ok=True))
link_to_device = link("device-link.wav", "device.wav", device)
link_loop = link("loop.wav", "loop.wav")


def long_name(length: int) -> Callable[[Path], Path]:
    def make(scratch: Path) -> Path:
        return scratch / ("n" * (length - 4) + ".wav")

    return make


# -- post-checks ---------------------------------------------------------------------------------------------


def _leftovers(scratch: Path) -> list[str]:
    return sorted(p.name for p in scratch.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp"))


def untouched(kind: str, name: str) -> Callable[[Path], str | None]:
    """The destination is still a ``kind`` (``"char"``, ``"fifo"``), and nothing was left behind."""

    def check(scratch: Path) -> str | None:
        mode = os.lstat(scratch / name).st_mode
        still = stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) if kind == "device" else stat.S_ISFIFO(mode)
        if not still:
            return f"clobbered: {name} is now a {stat.filemode(mode)} file"
        return f"left behind: {_leftovers(scratch)}" if _leftovers(scratch) else None

    return check


def written_through(link: str, target: str) -> Callable[[Path], str | None]:
    """``link`` is still a link and ``target`` now holds audio."""

    def check(scratch: Path) -> str | None:
        if not (scratch / link).is_symlink():
            return f"clobbered: the link {link} was replaced by a file"
        data = (scratch / target).read_bytes() if (scratch / target).exists() else b""
        if not data.startswith(b"RIFF"):
            return f"{target} does not hold the audio written through {link}"
        return f"left behind: {_leftovers(scratch)}" if _leftovers(scratch) else None

    return check


def clean(scratch: Path) -> str | None:
    return f"left behind: {_leftovers(scratch)}" if _leftovers(scratch) else None


# -- termination signals ---------------------------------------------------------------------------------

_INTERRUPTED = textwrap.dedent(
    """
    import os, signal, sys
    import soundfile, torch, tympan
    write = soundfile.SoundFile.write
    def interrupted(self, data):
        os.kill(os.getpid(), signal.{signal})
        return write(self, data)
    soundfile.SoundFile.write = interrupted
    {call}
    """
)


def _signalled(sig: str, call: str) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import torch

        import tympan
        from tympan.core.errors import TympanError

        tympan.save(scratch / "source.wav", 0.25 * torch.ones(1, 800), 8000)
        code = _INTERRUPTED.format(signal=sig, call=call.format(scratch=str(scratch)))
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        expected = -getattr(signal, sig)
        if done.returncode not in (expected, 128 + getattr(signal, sig)):
            raise TympanError(f"exit status {done.returncode}, not killed by {sig}: {done.stderr[-300:]}")
        return done

    return run


def attacks() -> Iterator[Attack]:
    """Every crafted destination, for ``save`` and ``convert``."""
    for via, action in (("save", _save), ("convert", _convert)):
        yield Attack(FAMILY, f"{via}-device", action(device), check=untouched("device", "device.wav"))
        yield Attack(FAMILY, f"{via}-fifo", action(fifo), check=untouched("fifo", "fifo.wav"))
        yield Attack(FAMILY, f"{via}-link-to-device", action(link_to_device), check=untouched("device", "device.wav"))
        yield Attack(FAMILY, f"{via}-link-to-directory", action(link_to_directory), check=clean)
        yield Attack(FAMILY, f"{via}-link-loop", action(link_loop), check=clean)
        yield Attack(FAMILY, f"{via}-directory", action(lambda s: s), check=clean)
        yield Attack(FAMILY, f"{via}-missing-folder", action(lambda s: s / "no" / "x.wav"), check=clean)
        yield Attack(
            FAMILY,
            f"{via}-parent-is-file",
            action(lambda s: link_to_file(s).parent / "real.wav" / "x.wav"),
            check=clean,
        )
        succeed = {"refuse": False, "succeed": True}
        yield Attack(
            FAMILY, f"{via}-link", action(link_to_file), check=written_through("link.wav", "real.wav"), **succeed
        )
        yield Attack(
            FAMILY, f"{via}-link-chain", action(link_chain), check=written_through("chain.wav", "real.wav"), **succeed
        )
        yield Attack(
            FAMILY,
            f"{via}-dangling-link",
            action(dangling_link),
            check=written_through("dangling.wav", "created.wav"),
            **succeed,
        )
        for length in (240, 245, 250, 255):
            yield Attack(FAMILY, f"{via}-name-{length}", action(long_name(length)), check=clean, **succeed)
        yield Attack(FAMILY, f"{via}-name-256", action(long_name(256)), check=clean)
    yield Attack(
        FAMILY, "convert-onto-itself", _convert(lambda s: s / "source.wav"), check=clean, refuse=False, succeed=True
    )
    yield Attack(
        FAMILY,
        "convert-onto-itself-resampled",
        _convert(lambda s: s / "source.wav", "--rate", "16000"),
        check=clean,
        refuse=False,
        succeed=True,
    )
    for sig in ("SIGTERM", "SIGHUP"):
        save = "tympan.save('{scratch}/out.flac', torch.zeros(1, 8000), 8000)"
        yield Attack(FAMILY, f"save-{sig}", _signalled(sig, save), check=clean, refuse=False, succeed=True, seconds=60)
        convert = (
            "from tympan.cli import main\n"
            "sys.argv = ['tympan', 'convert', '{scratch}/source.wav', '{scratch}/out.flac']\nmain()"
        )
        yield Attack(
            FAMILY, f"convert-{sig}", _signalled(sig, convert), check=clean, refuse=False, succeed=True, seconds=60
        )
