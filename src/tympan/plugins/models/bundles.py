"""Pretrained weights by name: bundles of a URL, a SHA-256 and the model they fit, cached under ``TYMPAN_HOME``.

A :class:`Bundle` is fetched on first use (never at import) through :func:`tympan.data.download`: resumed,
checked against its SHA-256 before it is kept, written atomically, locked against a second process doing the
same. The file then lives in ``$TYMPAN_HOME/models/<bundle name>/`` (``TYMPAN_HOME`` defaults to
``$XDG_CACHE_HOME/tympan``, or ``~/.cache/tympan``) and later uses read it from there. A safetensors file
written by :func:`~tympan.plugins.models.checkpoints.save_weights` names its model; a plain state dict
(torchaudio's ``.pth`` files, read with ``weights_only=True``) is loaded into the bundle's ``component`` built
with its ``params``.

Bundles are registered by name (:func:`register_bundle`, by a plugin or a notebook); :func:`get_bundle`
finds one, with close matches when the name is unknown.

Example:
    >>> import hashlib, pathlib, tempfile, torch
    >>> from tympan.plugins.models import Wav2Letter, save_weights
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> save_weights(Wav2Letter(num_classes=5, input_type="mfcc", num_features=13), folder / "w2l.safetensors")
    >>> digest = hashlib.sha256((folder / "w2l.safetensors").read_bytes()).hexdigest()
    >>> bundle = Bundle("w2l_demo", (folder / "w2l.safetensors").as_uri(), digest)
    >>> model = bundle.load(home=folder / "home", progress=False)
    >>> model.tympan_component, bundle.path(home=folder / "home").parent.name
    ('asr:wav2letter', 'w2l_demo')
"""

from __future__ import annotations

import difflib
import os
import re
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from tympan.core.errors import UnknownNameError

__all__ = [
    "HOME_VARIABLE",
    "Bundle",
    "UnknownBundleError",
    "bundle_names",
    "cache_home",
    "get_bundle",
    "register_bundle",
]

#: The environment variable naming tympan's cache folder.
HOME_VARIABLE = "TYMPAN_HOME"

_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_BUNDLES: dict[str, Bundle] = {}
_LOCK = threading.Lock()


class UnknownBundleError(UnknownNameError):
    """A bundle name nobody registered; ``suggestions`` holds close ones.

    Example:
        >>> print(UnknownBundleError("wav2vec2_bsae", suggestions=["wav2vec2_base"]))
        unknown bundle 'wav2vec2_bsae'; did you mean: wav2vec2_base? (list them with bundle_names())
    """

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        super().__init__(name, kind="bundle", suggestions=suggestions or [])

    def __str__(self) -> str:
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"unknown bundle {self.name!r}{hint} (list them with bundle_names())"


def cache_home() -> Path:
    """tympan's cache folder: ``TYMPAN_HOME``, else ``$XDG_CACHE_HOME/tympan``, else ``~/.cache/tympan``.

    Example:
        >>> import os
        >>> os.environ["TYMPAN_HOME"] = "/tmp/tympan-home"
        >>> str(cache_home())
        '/tmp/tympan-home'
        >>> del os.environ["TYMPAN_HOME"]
    """
    configured = os.environ.get(HOME_VARIABLE)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tympan"


@dataclass(frozen=True)
class Bundle:
    """Pretrained weights: where to fetch them, their SHA-256, and (for a plain state dict) the model they fit.

    Example:
        >>> Bundle("demo", "https://example.org/demo.pt", "0" * 64, component="asr:wav2letter").filename
        'demo.pt'
    """

    name: str
    url: str
    sha256: str
    component: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"bundle name {self.name!r}: letters, digits, '_', '.' and '-' only")
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"bundle {self.name}: sha256 must be 64 lowercase hex digits, got {self.sha256!r}")
        if not self.filename:
            raise ValueError(f"bundle {self.name}: the URL {self.url!r} names no file")

    @property
    def filename(self) -> str:
        """The file name the URL ends with."""
        return Path(urllib.parse.urlsplit(self.url).path).name

    def path(self, home: str | os.PathLike[str] | None = None) -> Path:
        """Where the file is cached: ``<home>/models/<name>/<file name>`` (``home`` defaults to
        :func:`cache_home`)."""
        return Path(home or cache_home()) / "models" / self.name / self.filename

    def fetch(self, home: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
        """The cached file, downloaded and verified first if it is not there (or no longer verifies).

        Raises :class:`~tympan.core.errors.DownloadError` or :class:`~tympan.core.errors.IntegrityError`; no
        partial or unverified file is left in the cache.
        """
        from tympan.data import download

        return download(self.url, self.path(home), sha256=self.sha256, progress=progress)

    def load(self, home: str | os.PathLike[str] | None = None, progress: bool = True) -> nn.Module:
        """The model with the bundle's weights: rebuilt by the name its checkpoint carries, or built from
        ``component`` and ``params`` for a plain state dict."""
        from tympan.plugins.models.checkpoints import COMPONENT_KEY, load, load_weights, read_metadata
        from tympan.registry import default_registry

        path = self.fetch(home, progress)
        if COMPONENT_KEY in read_metadata(path):
            return load(path)
        if self.component is None:
            from tympan.core.errors import CheckpointError

            raise CheckpointError(path, f"bundle {self.name} names no component and its file names none")
        model: nn.Module = default_registry().create(self.component, "model", **dict(self.params))
        return load_weights(model, path)


def register_bundle(bundle: Bundle) -> Bundle:
    """Make ``bundle`` known by its name; registering the same bundle again changes nothing.

    Example:
        >>> register_bundle(Bundle("doc_example", "https://example.org/doc.safetensors", "a" * 64)).name
        'doc_example'
        >>> "doc_example" in bundle_names()
        True
    """
    with _LOCK:
        known = _BUNDLES.get(bundle.name)
        if known is not None and known != bundle:
            raise ValueError(f"another bundle is already registered as {bundle.name!r}")
        _BUNDLES[bundle.name] = bundle
    return bundle


def bundle_names() -> list[str]:
    """The registered bundle names, sorted.

    Example:
        >>> isinstance(bundle_names(), list)
        True
    """
    return sorted(_BUNDLES)


def get_bundle(name: str) -> Bundle:
    """The bundle registered as ``name``; :class:`UnknownBundleError` (an ``UnknownNameError``) with close matches.

    Example:
        >>> get_bundle("no_such")
        Traceback (most recent call last):
        ...
        tympan.plugins.models.bundles.UnknownBundleError: unknown bundle 'no_such' (list them with bundle_names())
    """
    try:
        return _BUNDLES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_BUNDLES), n=3)
        raise UnknownBundleError(name, close) from None
