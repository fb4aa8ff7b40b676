"""Pretrained-weight bundles: fetched once over HTTP (a loopback server here) or from a file URL, verified,
cached under TYMPAN_HOME, and loaded into the model they name; nothing from the internet."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torchaudio
from _parity import TINY

from tympan.core.errors import IntegrityError, UnknownNameError
from tympan.plugins.models import Bundle, ConvTasNet, get_bundle, register_bundle, save_weights


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A loopback HTTP server over a folder: ``(base URL, folder, paths requested)``."""
    folder = tmp_path / "served"
    folder.mkdir()
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            requested.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder, requested
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetched_once_then_read_from_the_cache(
    served: tuple[str, Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, folder, requested = served
    model = ConvTasNet(**TINY["sep:conv_tasnet"]).eval()
    save_weights(model, folder / "tasnet.safetensors")
    monkeypatch.setenv("TYMPAN_HOME", str(tmp_path / "home"))
    bundle = Bundle("tasnet_tiny", f"{base}/tasnet.safetensors", _digest(folder / "tasnet.safetensors"))
    loaded = bundle.load(progress=False).eval()
    assert bundle.path() == tmp_path / "home" / "models" / "tasnet_tiny" / "tasnet.safetensors"
    assert bundle.path().is_file()
    mixture = torch.randn(1, 1, 400)
    with torch.no_grad():
        assert torch.equal(loaded(mixture), model(mixture))
    bundle.load(progress=False)
    assert requested == ["/tasnet.safetensors"]  # the second load read the cache


def test_torchaudio_state_dict_bundle_builds_its_component(tmp_path: Path) -> None:
    reference = torchaudio.models.ConvTasNet(**TINY["sep:conv_tasnet"]).eval()
    source = tmp_path / "convtasnet.pth"
    torch.save(reference.state_dict(), source)
    bundle = Bundle("tasnet_ta", source.as_uri(), _digest(source), "sep:conv_tasnet", TINY["sep:conv_tasnet"])
    model = bundle.load(home=tmp_path / "home", progress=False).eval()
    mixture = torch.randn(2, 1, 400)
    with torch.no_grad():
        assert torch.equal(model(mixture), reference(mixture))


def test_a_wrong_checksum_keeps_nothing(served: tuple[str, Path, list[str]], tmp_path: Path) -> None:
    base, folder, _ = served
    save_weights(ConvTasNet(**TINY["sep:conv_tasnet"]), folder / "tasnet.safetensors")
    bundle = Bundle("tasnet_bad", f"{base}/tasnet.safetensors", "0" * 64)
    with pytest.raises(IntegrityError):
        bundle.fetch(home=tmp_path / "home", progress=False)
    assert not any(path.is_file() for path in (tmp_path / "home").rglob("*"))


def test_registry_of_bundles() -> None:
    bundle = register_bundle(Bundle("tympan_test_bundle", "https://example.org/x.safetensors", "b" * 64))
    assert get_bundle("tympan_test_bundle") is bundle
    with pytest.raises(UnknownNameError, match="did you mean: tympan_test_bundle"):
        get_bundle("tympan_test_bundel")
    with pytest.raises(ValueError, match="already registered"):
        register_bundle(Bundle("tympan_test_bundle", "https://example.org/y.safetensors", "b" * 64))
    with pytest.raises(ValueError, match="64 lowercase hex"):
        Bundle("x", "https://example.org/x.pt", "abc")
