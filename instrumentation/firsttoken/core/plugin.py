"""What the core needs to know about one SDK: its endpoints, client classes, stream and response types.

A provider module builds one `ProviderPlugin` from whatever version of its SDK is installed; a class or method that
version lacks is simply absent (and skipped when patching), never an import error.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from firsttoken.core.contract import Endpoint
from firsttoken.core.response_proxy import AsyncResponseProxy, SyncResponseProxy
from firsttoken.core.stream_proxy import AsyncStreamProxy, SyncStreamProxy

_MAX_CLIENT_CACHE = 1024

RESULT_PLAIN = 0
RESULT_STREAM = 1
RESULT_WRAPPER = 2


def optional_attr(module_name: str, *path: str) -> Any:
    """`module.a.b` or None when this SDK version does not have it."""
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError:
        return None
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def present_types(*candidates: Any) -> tuple[type[Any], ...]:
    """The candidates that exist in the installed SDK version (None marks one it lacks)."""
    return tuple(c for c in candidates if isinstance(c, type))


class ProviderPlugin:
    def __init__(
        self,
        *,
        name: str,
        base_client_module: str,
        endpoints: Mapping[str, Endpoint],
        client_provider_names: Mapping[str, str],
        sync_streams: tuple[type[Any], ...],
        async_streams: tuple[type[Any], ...],
        response_wrappers: tuple[type[Any], ...],
        native_span_hook: tuple[str, str] | None = None,
    ) -> None:
        self.name = name
        self.base_client_module = base_client_module
        self.endpoints = dict(endpoints)
        self.client_provider_names = dict(client_provider_names)
        self.sync_streams = sync_streams
        self.async_streams = async_streams
        self.response_wrappers = response_wrappers
        self.native_span_hook = native_span_hook
        # Set by the runtime: when True this provider's calls are left to the SDK's own tracing.
        self.defer_to_native = False
        self._provider_names: dict[type[Any], str] = {}
        # id(client) -> (its base URL object, (provider name, (host, port))); the base URL identity guards both
        # a client whose base_url was reassigned and an id reused by a new client. Read by `Runtime.begin` directly;
        # written only by `client_identity`.
        self.clients: dict[int, tuple[Any, tuple[str, tuple[str | None, int | None]]]] = {}
        self._response_proxy_cls: dict[type[Any], type[Any]] = {}
        # result type -> what `Runtime.observe` does with it (one of the RESULT_* kinds); a handful of types per SDK.
        # Read by `Runtime.observe` directly; written only by `result_kind`.
        self.result_kinds: dict[type[Any], int] = {}

    # --- request side ---------------------------------------------------------------------------------------------
    def body(self, options: Any) -> Mapping[str, Any]:
        """The JSON body as sent, with `extra_body` merged over it.

        Not copied on the hot path: readers type-check every value they take, so the SDK's NotGiven/Omit sentinels
        (which newer SDKs leave in the body until the request is prepared) read as absent without a filtering pass.
        """
        data = getattr(options, "json_data", None)
        if type(data) is not dict and not isinstance(data, Mapping):
            data = {}
        extra = getattr(options, "extra_json", None)
        if extra and isinstance(extra, Mapping):
            return {**data, **extra}
        return data

    def provider_name(self, client: Any) -> str:
        cls = type(client)
        name = self._provider_names.get(cls)
        if name is None:
            declared = getattr(cls, "_gen_ai_provider_name", None)
            name = declared if isinstance(declared, str) and declared else None
            if name is None or name == self.name:
                for klass in cls.__mro__:
                    mapped = self.client_provider_names.get(klass.__name__)
                    if mapped:
                        name = mapped
                        break
            name = name or self.name
            self._provider_names[cls] = name
        return name

    def client_identity(self, client: Any) -> tuple[str, tuple[str | None, int | None]]:
        """(gen_ai.provider.name, (server.address, server.port)) for a client; computed once per client."""
        base_url = getattr(client, "_base_url", None)
        cached = self.clients.get(id(client))
        if cached is not None and cached[0] is base_url:
            return cached[1]
        host = getattr(base_url, "host", None) or None
        port = getattr(base_url, "port", None)
        if port is None:
            scheme = getattr(base_url, "scheme", "")
            port = 443 if scheme == "https" else 80 if scheme == "http" else None
        value = (self.provider_name(client), (host, port))
        if len(self.clients) >= _MAX_CLIENT_CACHE:
            self.clients.clear()
        self.clients[id(client)] = (base_url, value)
        return value

    # --- result side ----------------------------------------------------------------------------------------------
    def result_kind(self, result: Any) -> int:
        """RESULT_STREAM, RESULT_WRAPPER (an SDK response wrapper) or RESULT_PLAIN (a parsed response).

        Cached per type, except for objects that present another class (proxies), whose answer is per object.
        """
        cls = type(result)
        kind = self.result_kinds.get(cls)
        if kind is None:
            if self.stream_proxy_class(result) is not None:
                kind = RESULT_STREAM
            elif isinstance(result, self.response_wrappers):
                kind = RESULT_WRAPPER
            else:
                kind = RESULT_PLAIN
            if result.__class__ is cls and len(self.result_kinds) < _MAX_CLIENT_CACHE:
                self.result_kinds[cls] = kind
        return kind

    def stream_proxy_class(self, result: Any) -> type[Any] | None:
        if isinstance(result, self.sync_streams):
            return SyncStreamProxy
        if isinstance(result, self.async_streams):
            return AsyncStreamProxy
        return None

    def response_proxy_class(self, wrapper: Any) -> type[Any]:
        cls = type(wrapper)
        proxy = self._response_proxy_cls.get(cls)
        if proxy is None:
            parse = getattr(cls, "parse", None)
            proxy = AsyncResponseProxy if inspect.iscoroutinefunction(parse) else SyncResponseProxy
            self._response_proxy_cls[cls] = proxy
        return proxy
