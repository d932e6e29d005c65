"""`FakeProviderServer`: the fake provider over real HTTP/1.1 sockets on localhost.

Built on the stdlib `ThreadingHTTPServer` (one daemon thread per connection), so
it needs no dependency and serves many concurrent requests. Non-streamed
responses keep the connection alive; streams use chunked transfer encoding and
flush every SSE event as its own chunk with Nagle disabled, so the client sees
the configured TTFT and inter-token delays. Every wait is on a stop event, so
`stop()` returns promptly even while requests hang. Client disconnects are
expected (timeouts, cancelled streams) and only logged at debug level.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from firsttoken.testing.fake_provider.config import FakeProviderConfig
from firsttoken.testing.fake_provider.core import FakeProvider
from firsttoken.testing.fake_provider.response import FakeResponse, Fault

logger = logging.getLogger(__name__)

_DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], provider: FakeProvider) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.provider = provider
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for
        # seconds without DNS; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped client is routine here.
        logger.debug("fake provider: error on connection from %s", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Unblock handler threads stuck reading idle keep-alive connections."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            _shutdown(connection)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            logger.debug("fake provider: error closing connection", exc_info=True)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("fake provider: " + format, *args)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        try:
            body = self._read_body()
            headers = {name: _header_text(value) for name, value in self.headers.items()}
            response = self.server.provider.handle(self.command, self.path, headers, body)
            self._send(response)
        except _DISCONNECTS:
            logger.debug("fake provider: client went away during %s %s", self.command, self.path)
            self.close_connection = True

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _wait(self, seconds: float) -> bool:
        """Sleep unless the server stops first; False means stop and close."""
        return seconds <= 0 or not self.server.stopping.wait(seconds)

    def _interrupted(self, fault: Fault | None, index: int) -> bool:
        """Apply a fault due before chunk `index` (0: before the head); True means cut the connection."""
        if fault is None or fault.after_chunks != index:
            return False
        return fault.kind == "drop" or not self._wait(fault.hang_s)

    def _abort(self) -> None:
        self.close_connection = True
        _shutdown(self.connection)

    def _send(self, response: FakeResponse) -> None:
        if response.chunks is None:
            self._send_body(response)
        else:
            self._send_stream(response, response.chunks)

    def _send_head(self, response: FakeResponse, framing: tuple[str, str]) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header(*framing)
        self.end_headers()

    def _send_body(self, response: FakeResponse) -> None:
        # A fault here (after_chunks == 0) strikes before the status line.
        if self._interrupted(response.fault, 0) or not self._wait(response.delay_s):
            self._abort()
            return
        self._send_head(response, ("content-length", str(len(response.body))))
        self.wfile.write(response.body)

    def _send_stream(self, response: FakeResponse, chunks: tuple[tuple[float, bytes], ...]) -> None:
        self._send_head(response, ("transfer-encoding", "chunked"))
        for index, (delay, data) in enumerate(chunks):
            if self._interrupted(response.fault, index) or not self._wait(delay):
                self._abort()
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        if response.fault is not None and response.fault.kind == "drop":
            self._abort()  # drop_after >= number of chunks: still no terminator
            return
        self.wfile.write(b"0\r\n\r\n")


def _header_text(value: str) -> str:
    """Undo http.server's latin-1 decoding of UTF-8 header bytes (e.g. a non-ASCII `x-fake-text`)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _shutdown(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer


class FakeProviderServer:
    """A real HTTP server around a `FakeProvider`, on 127.0.0.1 by default.

    Use as a context manager, or call `start()` / `stop()`. Port 0 (the default)
    picks a free port; read it back from `.port` or the URLs.

    Args:
        provider: The provider to serve; a new one built from `config` when omitted.
        host: Interface to bind.
        port: TCP port, 0 for any free one.
        config: Defaults for a provider created here (ignored when `provider` is given).
    """

    def __init__(
        self,
        provider: FakeProvider | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config: FakeProviderConfig | None = None,
    ) -> None:
        self.provider = provider or FakeProvider(config)
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeProviderServer:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            return self
        self._server = _Server(self._address, self.provider)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-provider:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: in-flight waits end at once and open connections are closed."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (only known once started)."""
        if self._server is None:
            raise RuntimeError("FakeProviderServer is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        """The bound interface."""
        return self._address[0]

    @property
    def url(self) -> str:
        """Root URL, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        """`base_url` for `anthropic.Anthropic` (the SDK adds `/v1/...` itself)."""
        return self.url

    @property
    def openai_base_url(self) -> str:
        """`base_url` for `openai.OpenAI` (which expects the `/v1` suffix)."""
        return self.url + "/v1"
