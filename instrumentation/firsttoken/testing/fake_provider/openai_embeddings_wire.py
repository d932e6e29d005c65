"""OpenAI Embeddings: `POST /v1/embeddings`.

The openai SDK asks for `encoding_format: "base64"` unless told otherwise and
decodes little-endian float32 itself, so both encodings are served from the same
float32 vector. Vectors are unit length and derived from the input text, so equal
inputs embed equally (cosine similarity 1) across requests and providers.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
import random
import struct
from typing import Any

from firsttoken.testing.fake_provider.context import RequestContext, WireResult
from firsttoken.testing.fake_provider.errors import ApiError
from firsttoken.testing.fake_provider.tokens import canonical_json, count_text


def handle_embeddings(ctx: RequestContext) -> WireResult:
    """Create embeddings for a string, a list of strings, or token-id arrays."""
    model = ctx.response_model()
    inputs = _inputs(ctx.require("input", (str, list)))
    dimensions = ctx.optional("dimensions", int) or ctx.config.embedding_dimensions
    if dimensions < 1:
        raise ApiError(400, "dimensions: must be at least 1", param="dimensions")
    encoding = ctx.optional("encoding_format", str) or "float"
    if encoding not in ("float", "base64"):
        raise ApiError(400, "encoding_format: must be 'float' or 'base64'", param="encoding_format")
    data = []
    prompt_tokens = 0
    for index, value in enumerate(inputs):
        prompt_tokens += count_text(value) if isinstance(value, str) else len(value)
        packed = _packed_vector(f"{ctx.body['model']}|{canonical_json(value)}", dimensions)
        embedding: Any = (
            base64.b64encode(packed).decode("ascii")
            if encoding == "base64"
            else list(struct.unpack(f"<{dimensions}f", packed))
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    return WireResult(payload={"object": "list", "data": data, "model": model, "usage": usage})


def _inputs(raw: str | list[Any]) -> list[str | list[int]]:
    """Normalise `input` to a list of strings or token-id lists, rejecting empties like the real API."""
    if isinstance(raw, str) or (raw and all(isinstance(x, int) and not isinstance(x, bool) for x in raw)):
        items: list[Any] = [raw]
    else:
        items = raw
    if not items:
        raise ApiError(400, "input: must not be empty", param="input")
    for item in items:
        is_tokens = isinstance(item, list) and all(isinstance(x, int) for x in item)
        if not (isinstance(item, str) or is_tokens) or not item:
            raise ApiError(400, "input: each item must be a non-empty string or array of token ids", param="input")
    return items


@functools.lru_cache(maxsize=1024)
def _packed_vector(key: str, dimensions: int) -> bytes:
    """A unit vector seeded by `key` as little-endian float32 (cached: benchmarks repeat inputs)."""
    rng = random.Random(hashlib.sha256(key.encode("utf-8")).digest())
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return struct.pack(f"<{dimensions}f", *(x / norm for x in raw))
