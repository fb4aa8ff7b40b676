"""The error hierarchy: one root, and subclasses that carry the facts a user needs.

Every error a public API raises on bad input derives from :class:`TympanError`. Several also derive from
the builtin a caller would naturally catch (``KeyError`` for an unknown name, ``ValueError`` for a bad
value), so existing ``except`` clauses keep working.

Example:
    >>> from tympan.core.errors import UnknownNameError, TympanError
    >>> err = UnknownNameError("mfc", kind="transform", suggestions=["dsp:mfcc"])
    >>> isinstance(err, (TympanError, KeyError))
    True
    >>> print(err)
    unknown transform 'mfc'; did you mean: dsp:mfcc? (list them with `tympan list transform`)

This module imports neither torch nor pydantic.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmbiguousNameError",
    "AudioDecodeError",
    "CheckpointError",
    "ComponentCheckError",
    "DatasetIndexError",
    "DatasetLayoutError",
    "DownloadError",
    "DuplicateNameError",
    "ExportError",
    "ExportedPackageError",
    "IntegrityError",
    "InvalidParameterError",
    "KaldiFormatError",
    "DecoderResourceError",
    "PipelineConfigError",
    "PluginLoadError",
    "SettingError",
    "TruncatedAudioWarning",
    "TympanError",
    "UnknownNameError",
    "UnsafeArchiveError",
    "UnsafeDestinationError",
    "UnsupportedFormatError",
    "SynthesisError",
    "RecipeConfigError",
    "TrainingError",
    "RunStateError",
    "InvalidInputError",
]

#: Problems an error message lists before it says how many more there are.
_SHOWN_PROBLEMS = 20
#: Characters one problem line shows at most.
_SHOWN_LINE = 500


def _bounded_lines(problems: Sequence[str]) -> str:
    """The first problems, one per line and each cut to a readable length, then how many were left out."""
    shown = [p if len(p) <= _SHOWN_LINE else p[: _SHOWN_LINE - 3] + "..." for p in problems[:_SHOWN_PROBLEMS]]
    if len(problems) > _SHOWN_PROBLEMS:
        shown.append(f"... and {len(problems) - _SHOWN_PROBLEMS} more")
    return "\n".join(f"  {p}" for p in shown)


class TympanError(Exception):
    """Root of every error tympan raises on bad input.

    Example:
        >>> try:
        ...     raise TympanError("something went wrong")
        ... except TympanError as err:
        ...     print(err)
        something went wrong
    """


class UnknownNameError(TympanError, KeyError):
    """A component name that no installed plugin provides.

    Carries the ``name``, the ``kind`` looked in (or ``None``) and close ``suggestions``.

    Example:
        >>> str(UnknownNameError("foo"))
        "unknown component 'foo' (list them with `tympan list`)"
    """

    def __init__(self, name: str, kind: str | None = None, suggestions: Sequence[str] = ()) -> None:
        self.name = name
        self.kind = kind
        self.suggestions = list(suggestions)
        super().__init__(name)

    def __str__(self) -> str:
        what = f"unknown {self.kind or 'component'} {self.name!r}"
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        listing = f"tympan list {self.kind}" if self.kind else "tympan list"
        return f"{what}{hint} (list them with `{listing}`)"


class AmbiguousNameError(TympanError, KeyError):
    """A bare name that several namespaces (or kinds) provide; ``candidates`` lists the qualified ones.

    Example:
        >>> print(AmbiguousNameError("gain", ["effect sox:gain", "transform acme:gain"]))
        'gain' is ambiguous; use one of: effect sox:gain, transform acme:gain
    """

    def __init__(self, name: str, candidates: Sequence[str]) -> None:
        self.name = name
        self.candidates = list(candidates)
        super().__init__(name)

    def __str__(self) -> str:
        return f"{self.name!r} is ambiguous; use one of: {', '.join(self.candidates)}"


class DuplicateNameError(TympanError):
    """Two providers claim one qualified name of one kind; ``providers`` names both.

    Example:
        >>> print(DuplicateNameError("transform", "acme:gain", ["acme-a 1.0", "acme-b 2.0"]))
        transform 'acme:gain' is provided by both acme-a 1.0 and acme-b 2.0; uninstall or disable one (TYMPAN_DISABLE_PLUGINS)
    """

    def __init__(self, kind: str, name: str, providers: Sequence[str]) -> None:
        self.kind = kind
        self.name = name
        self.providers = list(providers)
        super().__init__(kind, name)

    def __str__(self) -> str:
        both = " and ".join(self.providers)
        return (
            f"{self.kind} {self.name!r} is provided by both {both}; uninstall or disable one (TYMPAN_DISABLE_PLUGINS)"
        )


class PluginLoadError(TympanError, ImportError):
    """A plugin entry whose code failed to import.

    Carries the component ``name``, the ``distribution`` and its ``version``, the ``cause`` and an install
    ``hint``. Only the names of that plugin fail; every other name keeps working.

    Example:
        >>> err = PluginLoadError("acme:gain", "acme", "1.0", ModuleNotFoundError("No module named 'numba'"),
        ...                       hint="pip install 'acme[fast]'")
        >>> print(err)
        plugin acme 1.0 failed to load 'acme:gain': ModuleNotFoundError: No module named 'numba' (try: pip install 'acme[fast]')
    """

    def __init__(
        self,
        name: str,
        distribution: str | None,
        version: str | None,
        cause: BaseException | str,
        hint: str | None = None,
    ) -> None:
        super().__init__(str(cause))  # first: ImportError.__init__ resets ``name``
        self.name = name
        self.distribution = distribution
        self.version = version
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        who = " ".join(p for p in (self.distribution, self.version) if p) or "<runtime>"
        cause = f"{type(self.cause).__name__}: {self.cause}" if isinstance(self.cause, BaseException) else self.cause
        hint = f" (try: {self.hint})" if self.hint else ""
        return f"plugin {who} failed to load {self.name!r}: {cause}{hint}"


class InvalidParameterError(TympanError, ValueError):
    """Parameters a component rejects; each line names the component, the field and what is allowed.

    Example:
        >>> print(InvalidParameterError("dsp:mfcc", ["n_mfcc: Input should be greater than 0 (got -1)"]))
        invalid parameters for dsp:mfcc:
          n_mfcc: Input should be greater than 0 (got -1)
    """

    def __init__(self, component: str, problems: Sequence[str]) -> None:
        self.component = component
        self.problems = list(problems)
        super().__init__(component)

    def __str__(self) -> str:
        return f"invalid parameters for {self.component}:\n{_bounded_lines(self.problems)}"


class _ProblemsError(TympanError, ValueError):
    """Base of errors listing ``problems`` found in ``source`` (a file name, or None): a headline, then one
    problem a line (the headline: what is wrong, then the source where there is one)."""

    _what = "invalid input"

    def __init__(self, problems: Sequence[str], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__("; ".join(self.problems))

    def _headline(self) -> str:
        return f"{self._what} {self.source}" if self.source else self._what

    def __str__(self) -> str:
        return f"{self._headline()}:\n{_bounded_lines(self.problems)}"


class PipelineConfigError(_ProblemsError):
    """A pipeline configuration with problems; ``problems`` holds one ``location: message`` line each.

    Example:
        >>> print(PipelineConfigError(["steps[1].resample.new_freq: Input should be greater than 0"],
        ...                           source="pipe.yaml"))
        invalid pipeline configuration pipe.yaml:
          steps[1].resample.new_freq: Input should be greater than 0
    """

    _what = "invalid pipeline configuration"


class _FileError(TympanError):
    """Base of errors about one file: ``path`` (or a description of the source) and a ``reason``."""

    _what = "file error"

    def __init__(self, path: object, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(path, reason)

    def __str__(self) -> str:
        return f"{self._what} {self.path}: {self.reason}"


class AudioDecodeError(_FileError, ValueError):
    """Audio data that cannot be decoded (corrupt, truncated, absurd header).

    Example:
        >>> print(AudioDecodeError("a.wav", "header declares 480000 frames, file holds 1200"))
        cannot decode a.wav: header declares 480000 frames, file holds 1200
    """

    _what = "cannot decode"


class TruncatedAudioWarning(UserWarning):
    """A file holds less audio than its header declares and was read anyway (``strict=False``).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warnings.warn("a.wav: header declares 48000 frames, file holds 1200", TruncatedAudioWarning)
        >>> caught[0].category.__name__
        'TruncatedAudioWarning'
    """


class UnsupportedFormatError(_FileError, ValueError):
    """A format, encoding or operation no installed backend supports; ``reason`` says what to install.

    Example:
        >>> print(UnsupportedFormatError("a.m4a", "no backend reads m4a; pip install 'tympan[ffmpeg]'"))
        unsupported format a.m4a: no backend reads m4a; pip install 'tympan[ffmpeg]'
    """

    _what = "unsupported format"


class KaldiFormatError(_FileError, ValueError):
    """A malformed Kaldi ark/scp file or data directory; ``reason`` includes the key or byte offset.

    The optional ``key``, byte ``offset`` and 1-based ``line`` are kept as attributes and shown first.

    Example:
        >>> print(KaldiFormatError("feats.ark", "at offset 17: expected 'BFM ' or 'BDM '"))
        malformed Kaldi file feats.ark: at offset 17: expected 'BFM ' or 'BDM '
        >>> print(KaldiFormatError("feats.ark", "unknown token 'XM'", key="utt1", offset=5))
        malformed Kaldi file feats.ark: key 'utt1' at byte 5: unknown token 'XM'
    """

    _what = "malformed Kaldi file"

    def __init__(
        self, path: object, reason: str, *, key: str | None = None, offset: int | None = None, line: int | None = None
    ) -> None:
        self.key, self.offset, self.line = key, offset, line
        where = [f"line {line}"] if line is not None else []
        where += [f"key {key!r}"] if key is not None else []
        where += [f"at byte {offset}"] if offset is not None else []
        super().__init__(path, f"{' '.join(where)}: {reason}" if where else reason)


class DownloadError(_FileError):
    """A download that failed; ``path`` is the URL.

    Example:
        >>> print(DownloadError("https://example.org/a.tar.gz", "HTTP 404"))
        download failed https://example.org/a.tar.gz: HTTP 404
    """

    _what = "download failed"


class IntegrityError(_FileError):
    """A file whose checksum differs from the expected one.

    Example:
        >>> print(IntegrityError("a.tar.gz", "sha256 mismatch"))
        integrity check failed a.tar.gz: sha256 mismatch
    """

    _what = "integrity check failed"


class UnsafeArchiveError(_FileError):
    """An archive member that would escape the extraction directory or is otherwise unsafe.

    Example:
        >>> print(UnsafeArchiveError("a.tar", "member '../../etc/passwd' escapes the target"))
        unsafe archive a.tar: member '../../etc/passwd' escapes the target
    """

    _what = "unsafe archive"


class UnsafeDestinationError(_FileError):
    """A write refused because it would destroy something other than the intended file: a device, a FIFO,
    one of the inputs being read.

    Example:
        >>> print(UnsafeDestinationError("out/take.wav", "it is the input take.wav"))
        refusing to write out/take.wav: it is the input take.wav
    """

    _what = "refusing to write"


class ComponentCheckError(TympanError):
    """A component that fails one or more contract checks of :func:`tympan.testing.check_component`.

    Example:
        >>> print(ComponentCheckError("acme:gain", ["batch consistency: items differ by 0.5"]))
        acme:gain fails 1 contract check(s):
          batch consistency: items differ by 0.5
    """

    def __init__(self, name: str, failures: Sequence[str]) -> None:
        self.name = name
        self.failures = list(failures)
        super().__init__(name)

    def __str__(self) -> str:
        lines = "\n".join(f"  {f}" for f in self.failures)
        return f"{self.name} fails {len(self.failures)} contract check(s):\n{lines}"


class DecoderResourceError(_FileError, ValueError):
    """A malformed token list, lexicon or language model file; ``reason`` names the line and what is wrong.

    Example:
        >>> print(DecoderResourceError("lexicon.txt", "line 3: word 'cat' is spelt with 'k', not a token"))
        malformed decoder resource lexicon.txt: line 3: word 'cat' is spelt with 'k', not a token
    """

    _what = "malformed decoder resource"


class DatasetLayoutError(_FileError):
    """A corpus folder that lacks a file or folder its layout needs; ``reason`` gives the expected layout.

    Example:
        >>> print(DatasetLayoutError("root/LibriSpeech/dev-clean/19/198/19-198.trans.txt", "missing"))
        dataset layout root/LibriSpeech/dev-clean/19/198/19-198.trans.txt: missing
    """

    _what = "dataset layout"


class DatasetIndexError(TympanError, IndexError):
    """An item index outside a dataset (an ``IndexError``, so iteration by index ends as Python expects).

    Example:
        >>> print(DatasetIndexError("index 5 out of range for a corpus of 2 item(s)"))
        index 5 out of range for a corpus of 2 item(s)
    """


class SettingError(TympanError, ValueError):
    """An environment setting (``TYMPAN_*``) whose value tympan does not understand; names the variable, the
    value and what it accepts.

    Example:
        >>> print(SettingError("TYMPAN_STRICT_PLUGINS", "maybe", "1, 0, true, false, yes, no, on or off"))
        TYMPAN_STRICT_PLUGINS='maybe' is not understood; expected 1, 0, true, false, yes, no, on or off
    """

    def __init__(self, variable: str, value: str, expected: str) -> None:
        self.variable = variable
        self.value = value
        self.expected = expected
        super().__init__(variable, value)

    def __str__(self) -> str:
        shown = self.value if len(self.value) <= 80 else self.value[:77] + "..."
        return f"{self.variable}={shown!r} is not understood; expected {self.expected}"


class CheckpointError(_FileError, ValueError):
    """A checkpoint that cannot be loaded safely or does not fit the model; ``reason`` lists what is wrong.

    Raised for a pickle that ``torch.load(weights_only=True)`` refuses (no code from it is run), for a file
    that is no checkpoint, and for weights with missing, unexpected or wrongly shaped tensors.

    Example:
        >>> print(CheckpointError("model.pt", "missing tensors: encoder.weight"))
        cannot load checkpoint model.pt: missing tensors: encoder.weight
    """

    _what = "cannot load checkpoint"


class SynthesisError(TympanError):
    """Speech that cannot be synthesised: the synthesiser is missing or failed; the message says how to fix it.

    Example:
        >>> print(SynthesisError("espeak-ng not found; install it with `apt-get install espeak-ng`"))
        espeak-ng not found; install it with `apt-get install espeak-ng`
    """


class RecipeConfigError(_ProblemsError):
    """A training recipe with problems; ``problems`` holds one ``location: message`` line each.

    Example:
        >>> print(RecipeConfigError(["model.asr:conformer.num_layers: Input should be greater than 0"],
        ...                         source="asr.yaml"))
        invalid recipe asr.yaml:
          model.asr:conformer.num_layers: Input should be greater than 0
    """

    _what = "invalid recipe"


class TrainingError(TympanError):
    """A training run that cannot go on (a loss that stays NaN, say); the message says why and where.

    Example:
        >>> print(TrainingError("step 12: 3 non-finite losses in a row; stopping"))
        step 12: 3 non-finite losses in a row; stopping
    """


class RunStateError(_FileError, ValueError):
    """A run-state checkpoint that cannot be resumed from (missing, malformed or from another recipe).

    Example:
        >>> print(RunStateError("run/checkpoints/step-40", "model weights missing: model.safetensors"))
        cannot resume from run/checkpoints/step-40: model weights missing: model.safetensors
    """

    _what = "cannot resume from"


class InvalidInputError(InvalidParameterError, RuntimeError):
    """An input tensor a function cannot take (its shape, dtype or values), where torch's and torchaudio's own
    kernels report the same problem as ``RuntimeError``: it is both that and a ``ValueError``.

    Example:
        >>> err = InvalidInputError("forced_align", ["log_probs: expected a float tensor (got torch.int64)"])
        >>> isinstance(err, (RuntimeError, ValueError, InvalidParameterError))
        True
    """


class ExportError(_ProblemsError):
    """A component or pipeline that cannot be exported; ``problems`` holds one ``location: reason`` line each.

    Example:
        >>> print(ExportError(["steps[1].dsp:vad: the output length depends on the signal"], source="pipe.yaml"))
        cannot export pipe.yaml:
          steps[1].dsp:vad: the output length depends on the signal
    """

    def _headline(self) -> str:
        return f"cannot export {self.source or 'the module'}"


class ExportedPackageError(_FileError, ValueError):
    """A file that ``tympan.load_exported`` refuses: no tympan package, or one built with another torch.

    Example:
        >>> print(ExportedPackageError("a.pt2", "built with torch 2.5.0, this is torch 2.13.0"))
        cannot load exported package a.pt2: built with torch 2.5.0, this is torch 2.13.0
    """

    _what = "cannot load exported package"
