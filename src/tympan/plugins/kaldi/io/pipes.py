"""Kaldi's pipes (``command |`` to read, ``| command`` to write), refused unless the caller allows them.

A pipe runs a shell command, so a script file or specifier from an untrusted source could run anything:
every entry point takes ``allow_pipes=False`` and raises
:class:`~tympan.core.errors.UnsupportedFormatError` naming the command unless it is ``True``. An allowed
command runs under ``/bin/sh``; its failure (a non-zero exit status) is a
:class:`~tympan.core.errors.KaldiFormatError` naming the command.

Example:
    >>> source = open_pipe_input("printf 'abc'", allow_pipes=True)
    >>> source.view(0, 10)
    b'abc'
    >>> source.close()
    >>> open_pipe_input("printf 'abc'", allow_pipes=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tympan.core.errors.UnsupportedFormatError: unsupported format printf 'abc' |: it is a pipe, ... allow_pipes=True ...
"""

from __future__ import annotations

import subprocess
from typing import BinaryIO, cast

from tympan.core.errors import KaldiFormatError, UnsupportedFormatError
from tympan.plugins.kaldi.io.sources import StreamSource

__all__ = ["PipeOutput", "PipeSource", "check_pipes_allowed", "open_pipe_input"]


def check_pipes_allowed(shown: str, allow_pipes: bool) -> None:
    """Raise :class:`~tympan.core.errors.UnsupportedFormatError` for the pipe ``shown`` unless allowed.

    Example:
        >>> check_pipes_allowed("cat a.ark |", allow_pipes=True)
    """
    if not allow_pipes:
        raise UnsupportedFormatError(shown, "it is a pipe, which runs a shell command; pass allow_pipes=True to run it")


class PipeSource(StreamSource):
    """The standard output of a running command, read forward; closing waits and checks its exit status.

    Example:
        >>> source = open_pipe_input("exit 3", allow_pipes=True)
        >>> source.close()
        Traceback (most recent call last):
        ...
        tympan.core.errors.KaldiFormatError: malformed Kaldi file exit 3 |: the command exited with status 3
    """

    def __init__(self, process: subprocess.Popen[bytes], name: str) -> None:
        super().__init__(cast(BinaryIO, process.stdout), name)  # Popen(stdout=PIPE) always has one
        self._process = process

    def close(self) -> None:
        super().close()
        if self._process.stdout is not None:
            self._process.stdout.close()
        status = self._process.wait()
        if status > 0:  # < 0: ended by a signal, e.g. SIGPIPE after we stopped reading early
            raise KaldiFormatError(self.name, f"the command exited with status {status}")


def open_pipe_input(command: str, allow_pipes: bool) -> PipeSource:
    """Start ``command`` under the shell and return its output as a forward-only source."""
    shown = f"{command} |"
    check_pipes_allowed(shown, allow_pipes)
    process = subprocess.Popen(command, shell=True, stdout=subprocess.PIPE)
    return PipeSource(process, shown)


class PipeOutput:
    """A command whose standard input receives what is written (``| command``); closing waits for it.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> pipe = PipeOutput(f"cat > {target}", allow_pipes=True)
        >>> _ = pipe.stream.write(b"hello")
        >>> pipe.close()
        >>> target.read_bytes()
        b'hello'
    """

    def __init__(self, command: str, allow_pipes: bool) -> None:
        self.name = f"| {command}"
        check_pipes_allowed(self.name, allow_pipes)
        self._process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE)
        self.stream = cast(BinaryIO, self._process.stdin)  # Popen(stdin=PIPE) always has one

    def close(self) -> None:
        """Close the command's input and wait; a non-zero exit status raises ``KaldiFormatError``."""
        self.stream.close()
        status = self._process.wait()
        if status != 0:
            raise KaldiFormatError(self.name, f"the command exited with status {status}")
