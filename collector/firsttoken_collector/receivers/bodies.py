"""Reading an HTTP request body within a size limit, decompressing gzip incrementally.

OTLP applies the size limit after decompression, so a small gzip body can expand to gigabytes ("gzip bomb"). The body
is inflated in bounded steps (`max_length`), so memory never exceeds the limit plus one step however large the
expansion would be.
"""

from __future__ import annotations

import zlib
from typing import Protocol

_STEP = 256 * 1024


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class LineReadable(Readable, Protocol):
    def readline(self, size: int = ..., /) -> bytes: ...


class BodyTooLarge(Exception):
    """The body (after decompression) is over the limit: 413."""


class BadEncoding(Exception):
    """Unsupported Content-Encoding (415) or a corrupt compressed stream (400); `status` says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BadChunking(Exception):
    """A malformed or truncated `Transfer-Encoding: chunked` body (400, connection closed)."""


def read_exact(stream: Readable, length: int) -> bytes:
    """Read `length` bytes (fewer only if the client hung up)."""
    chunks: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, _STEP))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


_MAX_CHUNK_LINE = 4096
_MAX_TRAILER_LINES = 100
_HEX_DIGITS = b"0123456789abcdefABCDEF"


def read_chunked(stream: LineReadable, limit: int) -> bytes:
    """A `Transfer-Encoding: chunked` body, de-chunked; BodyTooLarge as soon as it would pass `limit` bytes.

    The limit applies to the raw (possibly still compressed) bytes here, as Content-Length does; `decode_content`
    applies it again after decompression. Chunk extensions are ignored, trailers read and dropped.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        line = stream.readline(_MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise BadChunking("truncated chunked body" if len(line) <= _MAX_CHUNK_LINE else "chunk size line too long")
        size_text = line.split(b";", 1)[0].strip()
        if not size_text or len(size_text) > 16 or size_text.strip(_HEX_DIGITS):
            raise BadChunking(f"bad chunk size {size_text[:32]!r}")
        size = int(size_text, 16)
        if size == 0:
            break
        total += size
        if total > limit:
            raise BodyTooLarge(f"request body exceeds {limit} bytes")
        chunk = read_exact(stream, size)
        if len(chunk) < size or stream.readline(3) not in (b"\r\n", b"\n"):
            raise BadChunking("truncated or malformed chunk")
        chunks.append(chunk)
    for _ in range(_MAX_TRAILER_LINES):
        trailer = stream.readline(_MAX_CHUNK_LINE + 1)
        if trailer in (b"\r\n", b"\n"):
            return b"".join(chunks)
        if not trailer.endswith(b"\n"):
            raise BadChunking("truncated chunked trailer")
    raise BadChunking("too many chunked trailer lines")


def gunzip_limited(data: bytes, limit: int) -> bytes:
    """Inflate gzip `data`; BodyTooLarge as soon as the output would pass `limit` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    try:
        while pending:
            piece = pending[:_STEP]
            pending = pending[_STEP:]
            while piece:
                out += inflater.decompress(piece, limit + 1 - len(out))
                if len(out) > limit:
                    raise BodyTooLarge(f"decompressed body exceeds {limit} bytes")
                piece = inflater.unconsumed_tail
            if inflater.eof:
                break
        out += inflater.flush(max(1, limit + 1 - len(out)))
    except zlib.error as error:
        raise BadEncoding(400, f"corrupt gzip body: {error}") from None
    if len(out) > limit:
        raise BodyTooLarge(f"decompressed body exceeds {limit} bytes")
    if not inflater.eof:
        raise BadEncoding(400, "truncated gzip body")
    return bytes(out)


def decode_content(data: bytes, encoding: str, limit: int) -> bytes:
    """The body after Content-Encoding (`gzip`, `identity` or none)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(data) > limit:
            raise BodyTooLarge(f"body exceeds {limit} bytes")
        return data
    if encoding in ("gzip", "x-gzip"):
        return gunzip_limited(data, limit)
    raise BadEncoding(415, f"unsupported Content-Encoding {encoding!r} (use gzip or identity)")
