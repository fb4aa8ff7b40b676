"""Component names: ``namespace:name``, their grammar, and distribution-name normalisation.

Example:
    >>> split_name("dsp:mfcc")
    ('dsp', 'mfcc')
    >>> split_name("mfcc")
    (None, 'mfcc')
    >>> is_qualified_name("tympan.plugins.dsp:MFCC")
    False
"""

from __future__ import annotations

import re

__all__ = [
    "FIRST_PARTY_DISTRIBUTION",
    "FIRST_PARTY_NAMESPACES",
    "first_party_rank",
    "is_qualified_name",
    "is_bare_name",
    "split_name",
    "normalize_distribution",
]

FIRST_PARTY_DISTRIBUTION = "tympan"

#: First-party namespaces in the order a bare name shared between them resolves: ``mfcc`` is ``dsp:mfcc``
#: (torchaudio's definition) rather than ``kaldi:mfcc``, ``fade`` is ``dsp:fade`` rather than ``sox:fade``.
FIRST_PARTY_NAMESPACES = ("dsp", "io", "loss", "decoder", "data", "asr", "ssl", "tts", "sep", "sox", "kaldi")

_NAMESPACE = r"[a-z][a-z0-9_]*"
_NAME = r"[A-Za-z0-9][A-Za-z0-9_\-]*"
_QUALIFIED_RE = re.compile(rf"^{_NAMESPACE}:{_NAME}$")
_BARE_RE = re.compile(rf"^{_NAME}$")


def is_qualified_name(name: str) -> bool:
    """Whether ``name`` is a well-formed ``namespace:name`` (no dots, slashes or spaces).

    Example:
        >>> is_qualified_name("sox:gain"), is_qualified_name("gain"), is_qualified_name("os.path:join")
        (True, False, False)
    """
    return bool(_QUALIFIED_RE.match(name))


def is_bare_name(name: str) -> bool:
    """Whether ``name`` is a well-formed name without a namespace.

    Example:
        >>> is_bare_name("mel_spectrogram"), is_bare_name("a.b")
        (True, False)
    """
    return bool(_BARE_RE.match(name))


def split_name(name: str) -> tuple[str | None, str]:
    """Split a name into ``(namespace, bare name)``; the namespace is ``None`` for a bare name.

    Example:
        >>> split_name("kaldi:fbank")
        ('kaldi', 'fbank')
    """
    namespace, sep, bare = name.rpartition(":")
    return (namespace, bare) if sep else (None, name)


def normalize_distribution(name: str) -> str:
    """A distribution name in PEP 503 normal form, for comparisons.

    Example:
        >>> normalize_distribution("Tympan_Example.Plugin")
        'tympan-example-plugin'
    """
    return re.sub(r"[-_.]+", "-", name).lower()


def first_party_rank(name: str) -> int:
    """Where a first-party qualified name's namespace stands in :data:`FIRST_PARTY_NAMESPACES` (unknown: last).

    Example:
        >>> first_party_rank("dsp:mfcc") < first_party_rank("kaldi:mfcc")
        True
    """
    namespace = split_name(name)[0]
    return (
        FIRST_PARTY_NAMESPACES.index(namespace) if namespace in FIRST_PARTY_NAMESPACES else len(FIRST_PARTY_NAMESPACES)
    )
