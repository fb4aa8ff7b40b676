"""A loopback HTTP server for testing download code: resumable, interruptible, misbehaving on request.

:class:`LoopbackServer` serves :class:`Route` objects on ``127.0.0.1`` from a thread. A route is the body
of a file plus how to misbehave: cut the connection after some bytes on the first requests, answer slowly,
ignore ``Range``, fail with a status first, redirect, or claim a content type. Every request is logged
(path, ``Range`` header, status), so a test can check what the client asked for.

Example:
    >>> import urllib.request
    >>> with LoopbackServer({"/a.bin": Route(b"abcdef", cut_after=[3])}) as server:
    ...     first = urllib.request.urlopen(server.url("/a.bin")).read(3)
    ...     ranged = urllib.request.Request(server.url("/a.bin"), headers={"Range": "bytes=3-"})
    ...     rest = urllib.request.urlopen(ranged).read()
    >>> first + rest, [entry.status for entry in server.log]
    (b'abcdef', [200, 206])
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["LoggedRequest", "LoopbackServer", "Route"]


@dataclass
class Route:
    """What one path serves, and how it misbehaves.

    Args:
        body: The file's bytes.
        content_type: The ``Content-Type`` header.
        cut_after: For the n-th request (in order), close the connection after this many body bytes.
        fail_first: Statuses to answer the first requests with (``[503, 503]``), before serving.
        redirect: Answer ``302`` with this ``Location`` instead.
        ranges: Honour ``Range`` requests (``206``); otherwise always send the whole body (``200``).
        delay_per_chunk: Seconds to sleep after each 64 KiB chunk (a slow server).
        status: The status of a normal answer.

    Example:
        >>> Route(b"x", fail_first=[503]).fail_first
        [503]
    """

    body: bytes = b""
    content_type: str = "application/octet-stream"
    cut_after: list[int] = field(default_factory=list)
    fail_first: list[int] = field(default_factory=list)
    redirect: str | None = None
    ranges: bool = True
    delay_per_chunk: float = 0.0
    status: int = 200
    requests: int = 0


@dataclass(frozen=True)
class LoggedRequest:
    """One request the server answered: its path, ``Range`` header and status.

    Example:
        >>> LoggedRequest("/a", None, 200).status
        200
    """

    path: str
    range: str | None
    status: int


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _answer(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.server.owner.log.append(LoggedRequest(self.path, self.headers.get("Range"), status))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self) -> None:
        route = self.server.owner.routes.get(self.path)
        if route is None:
            self._answer(404, {"Content-Length": "9"}, b"not found")
            return
        index = route.requests
        route.requests += 1
        if index < len(route.fail_first):
            self._answer(route.fail_first[index], {"Content-Length": "0"})
            return
        if route.redirect is not None:
            self._answer(302, {"Location": route.redirect, "Content-Length": "0"})
            return
        start, status = 0, route.status
        requested = self.headers.get("Range")
        size = len(route.body)
        headers = {"Content-Type": route.content_type}
        if requested and route.ranges and requested.startswith("bytes="):
            start = int(requested[6:].partition("-")[0] or 0)
            if start >= size:
                self._answer(416, {"Content-Range": f"bytes */{size}", "Content-Length": "0"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        headers["Content-Length"] = str(size - start)
        self._answer(status, headers)
        limit = route.cut_after[index] if index < len(route.cut_after) else None
        self._send_body(route, route.body[start:], limit)

    def _send_body(self, route: Route, body: bytes, limit: int | None) -> None:
        sent = 0
        try:
            for offset in range(0, len(body), 1 << 16):
                chunk = body[offset : offset + (1 << 16)]
                if limit is not None and sent + len(chunk) >= limit:
                    self.wfile.write(chunk[: max(limit - sent, 0)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
                if route.delay_per_chunk:
                    self.wfile.flush()
                    time.sleep(route.delay_per_chunk)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer


class LoopbackServer:
    """A threaded HTTP server on a free loopback port, serving ``routes`` (path -> :class:`Route`).

    Use it as a context manager; :meth:`url` builds addresses, :attr:`log` lists the requests answered.

    Example:
        >>> with LoopbackServer({}) as server:
        ...     server.url("/x").startswith("http://127.0.0.1:")
        True
    """

    def __init__(self, routes: Mapping[str, Route]) -> None:
        self.routes = dict(routes)
        self.log: list[LoggedRequest] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
