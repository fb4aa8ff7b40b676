"""tympan.data.download against a loopback HTTP server: resume, integrity, HTML pages, redirects, locks."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from tympan.core.errors import DownloadError, IntegrityError
from tympan.plugins.datasets import downloader
from tympan.plugins.datasets.downloader import WeakChecksumWarning, download
from tympan.testing.loopback import LoopbackServer, Route

SHA = hashlib.sha256


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_downloads_verifies_and_leaves_only_the_file(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/corpus.tar.gz"] = Route(payload)
    path = download(server.url("/corpus.tar.gz"), tmp_path, sha256=SHA(payload).hexdigest(), progress=False)
    assert path == tmp_path / "corpus.tar.gz" and path.read_bytes() == payload
    assert _left(tmp_path) == ["corpus.tar.gz"]
    # a second call finds the verified file and asks the server nothing
    download(server.url("/corpus.tar.gz"), tmp_path, sha256=SHA(payload).hexdigest(), progress=False)
    assert len(server.log) == 1


def test_interrupted_transfers_resume_with_range_requests(
    server: LoopbackServer, payload: bytes, tmp_path: Path
) -> None:
    cuts = [len(payload) // 3, len(payload) // 3]
    server.routes["/a.bin"] = Route(payload, cut_after=cuts)
    path = download(server.url("/a.bin"), tmp_path / "a.bin", sha256=SHA(payload).hexdigest(), progress=False)
    assert path.read_bytes() == payload
    ranges = [entry.range for entry in server.log]
    assert ranges[0] is None and ranges[1] == f"bytes={cuts[0]}-" and ranges[2] == f"bytes={2 * cuts[0]}-"
    assert [entry.status for entry in server.log] == [200, 206, 206]


def test_a_server_ignoring_ranges_restarts_from_zero(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(payload, cut_after=[1000], ranges=False)
    path = download(server.url("/a.bin"), tmp_path / "a.bin", sha256=SHA(payload).hexdigest(), progress=False)
    assert path.read_bytes() == payload


def test_a_transfer_that_keeps_failing_leaves_nothing(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(payload, cut_after=[100] * 10)
    with pytest.raises(DownloadError, match=r"a\.bin.*transfer ended at byte .* \(gave up after 2 tries\)"):
        download(server.url("/a.bin"), tmp_path / "a.bin", tries=2, progress=False)
    assert _left(tmp_path) == []


def test_retried_statuses_then_success(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(payload, fail_first=[503, 429])
    assert download(server.url("/a.bin"), tmp_path / "a.bin", progress=False).read_bytes() == payload


def test_http_errors_are_download_errors_naming_the_url(server: LoopbackServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"missing\.tar\.gz: HTTP 404"):
        download(server.url("/missing.tar.gz"), tmp_path / "x", progress=False)
    assert _left(tmp_path) == []


def test_a_wrong_checksum_is_an_integrity_error_and_keeps_the_old_file(
    server: LoopbackServer, payload: bytes, tmp_path: Path
) -> None:
    server.routes["/a.bin"] = Route(payload)
    (tmp_path / "a.bin").write_bytes(b"old")
    with pytest.raises(IntegrityError, match=r"a\.bin: sha256 is"):
        download(server.url("/a.bin"), tmp_path / "a.bin", sha256="0" * 64, progress=False)
    assert _left(tmp_path) == ["a.bin"] and (tmp_path / "a.bin").read_bytes() == b"old"


def test_an_existing_file_that_fails_its_checksum_is_fetched_again(
    server: LoopbackServer, payload: bytes, tmp_path: Path
) -> None:
    server.routes["/a.bin"] = Route(payload)
    (tmp_path / "a.bin").write_bytes(b"stale")
    download(server.url("/a.bin"), tmp_path / "a.bin", sha256=SHA(payload).hexdigest(), progress=False)
    assert (tmp_path / "a.bin").read_bytes() == payload


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/octet-stream"])
def test_an_html_page_with_status_200_is_a_download_error(
    server: LoopbackServer, tmp_path: Path, content_type: str
) -> None:
    page = b"\n<!DOCTYPE html><html><body>Please log in</body></html>"
    server.routes["/corpus.tar.gz"] = Route(page, content_type=content_type)
    with pytest.raises(DownloadError, match="HTML page"):
        download(server.url("/corpus.tar.gz"), tmp_path, progress=False)
    assert _left(tmp_path) == []


def test_redirects_are_followed(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/old/a.bin"] = Route(redirect=server.url("/new/a.bin"))
    server.routes["/new/a.bin"] = Route(payload)
    assert download(server.url("/old/a.bin"), tmp_path, progress=False).read_bytes() == payload
    assert [entry.status for entry in server.log] == [302, 200]


def test_a_redirect_to_another_scheme_is_refused(server: LoopbackServer, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    server.routes["/a.bin"] = Route(redirect=secret.as_uri())
    with pytest.raises(DownloadError, match=r"(refused redirect to|Redirection to url) .?file:"):
        download(server.url("/a.bin"), tmp_path / "out", progress=False)
    assert _left(tmp_path) == ["secret.txt"]


def test_ctrl_c_keeps_the_part_file_and_the_next_call_resumes(
    server: LoopbackServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.routes["/a.bin"] = Route(payload)

    def interrupt(self: object, count: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(downloader.ByteProgress, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        download(server.url("/a.bin"), tmp_path / "a.bin", progress=False)
    assert _left(tmp_path) == ["a.bin.part"]
    kept = (tmp_path / "a.bin.part").stat().st_size
    assert 0 < kept < len(payload)
    monkeypatch.undo()
    download(server.url("/a.bin"), tmp_path / "a.bin", sha256=SHA(payload).hexdigest(), progress=False)
    assert server.log[-1].range == f"bytes={kept}-" and _left(tmp_path) == ["a.bin"]


_CHILD = """
import sys
from tympan.plugins.datasets.downloader import download
download(sys.argv[1], sys.argv[2], progress=False)
print("done", flush=True)
"""


def _child(url: str, dest: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _CHILD, url, str(dest)], stdout=subprocess.PIPE, text=True)


def test_a_killed_process_leaves_a_part_file_that_the_next_call_resumes(
    server: LoopbackServer, payload: bytes, tmp_path: Path
) -> None:
    server.routes["/slow.bin"] = Route(payload, delay_per_chunk=0.05)
    child = _child(server.url("/slow.bin"), tmp_path / "slow.bin")
    part = tmp_path / "slow.bin.part"
    deadline = time.monotonic() + 60
    while (not part.exists() or part.stat().st_size < (1 << 18)) and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    kept = part.stat().st_size
    assert 0 < kept < len(payload)
    server.routes["/slow.bin"].delay_per_chunk = 0.0
    download(server.url("/slow.bin"), tmp_path / "slow.bin", sha256=SHA(payload).hexdigest(), progress=False)
    assert server.log[-1].range == f"bytes={kept}-"
    assert (tmp_path / "slow.bin").read_bytes() == payload and _left(tmp_path) == ["slow.bin"]


def test_two_processes_never_interleave_bytes(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(payload, delay_per_chunk=0.005)
    children = [_child(server.url("/a.bin"), tmp_path / "a.bin") for _ in range(2)]
    outputs = [child.communicate(timeout=120)[0] for child in children]
    assert outputs == ["done\n", "done\n"]
    assert (tmp_path / "a.bin").read_bytes() == payload and _left(tmp_path) == ["a.bin"]
    assert len(server.log) == 1  # the second process waited for the lock and found the file in place


def test_mirror_folder_and_mirror_url(
    server: LoopbackServer, payload: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "corpus.tar.gz").write_bytes(payload)
    monkeypatch.setenv("TYMPAN_DATA_MIRROR", str(mirror))
    digest = SHA(payload).hexdigest()
    got = download("https://unreachable.invalid/x/corpus.tar.gz", tmp_path / "a", sha256=digest, progress=False)
    assert got.read_bytes() == payload
    server.routes["/base/corpus.tar.gz"] = Route(payload)
    monkeypatch.setenv("TYMPAN_DATA_MIRROR", server.url("/base"))
    got = download("https://unreachable.invalid/x/corpus.tar.gz", tmp_path / "b", sha256=digest, progress=False)
    assert got.read_bytes() == payload and server.log[-1].path == "/base/corpus.tar.gz"


def test_a_local_path_is_an_offline_source(payload: bytes, tmp_path: Path) -> None:
    source = tmp_path / "corpus.zip"
    source.write_bytes(payload)
    digest = SHA(payload).hexdigest()
    assert download(str(source), tmp_path / "out", sha256=digest, progress=False).read_bytes() == payload
    with pytest.raises(DownloadError, match="No such file"):
        download(str(tmp_path / "absent.zip"), tmp_path / "out2", progress=False)
    assert not (tmp_path / "out2").exists() and not (tmp_path / "out2.part").exists()


def test_md5_only_verifies_with_a_warning(server: LoopbackServer, payload: bytes, tmp_path: Path) -> None:
    server.routes["/a.bin"] = Route(payload)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        download(server.url("/a.bin"), tmp_path, md5=hashlib.md5(payload).hexdigest(), progress=False)
    assert [w.category for w in caught] == [WeakChecksumWarning]
    with pytest.raises(IntegrityError, match="md5 is"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        download(server.url("/a.bin"), tmp_path / "b.bin", md5="0" * 32, progress=False)
    assert not (tmp_path / "b.bin").exists() and os.listdir(tmp_path) == ["a.bin"]
