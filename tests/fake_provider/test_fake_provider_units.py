"""Unit tests of the fake provider's pure parts: controls, tokens, cache, schema values, core routing."""

from __future__ import annotations

import json
from typing import Any

import fastjsonschema
import jiter
import pydantic
import pytest

from firsttoken.testing import CONTROL_HEADERS, ControlError, FakeProvider, FakeProviderConfig, parse_controls
from firsttoken.testing.fake_provider.cache import PromptCache, breakpoints
from firsttoken.testing.fake_provider.generation import break_json
from firsttoken.testing.fake_provider.schema_values import SchemaValues
from firsttoken.testing.fake_provider.tokens import count_text, split_fragments, split_words, text_segment

CONFIG = FakeProviderConfig()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- controls -----------------------------------------------------------------------------


def test_controls_defaults_come_from_config() -> None:
    controls = parse_controls({}, FakeProviderConfig(ttft_ms=5, token_ms=2, output_tokens=3, hang_s=1))
    assert (controls.ttft_ms, controls.token_ms, controls.output_tokens, controls.hang_s) == (5, 2, 3, 1)
    assert controls.fault is None
    assert not controls.fault_active


def test_controls_parse_every_header_case_insensitively() -> None:
    controls = parse_controls(
        {
            "X-Fake-TTFT-ms": "12.5",
            "x-fake-token-ms": "3",
            "x-fake-output-tokens": "4",
            "x-fake-text": "hello there",
            "x-fake-tool-call": "Schema-Violating",
            "x-fake-tool-name": "lookup",
            "x-fake-tool-calls": "2",
            "x-fake-structured": "invalid-json",
            "x-fake-refusal": "1",
            "x-fake-thinking": "5",
            "x-fake-fault": "429",
            "x-fake-retry-after": "0.25",
            "x-fake-hang-s": "2",
            "x-fake-drop-after": "0",
            "x-fake-fault-attempts": "1",
            "x-fake-cache": "off",
            "x-fake-cache-min-tokens": "1024",
            "x-fake-response-model": "gpt-4o-2024-08-06",
            "x-stainless-retry-count": "1",
        },
        CONFIG,
    )
    assert controls.ttft_ms == 12.5
    assert controls.tool_call == "schema-violating"
    assert controls.tool_calls == 2
    assert controls.refusal is True
    assert controls.thinking_tokens == 5
    assert controls.cache is False
    assert controls.cache_min_tokens == 1024
    assert controls.response_model == "gpt-4o-2024-08-06"
    assert controls.attempt == 1
    assert not controls.fault_active  # attempt 1 is past the first (only) faulty attempt
    assert len(CONTROL_HEADERS) == 18


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("x-fake-ttft-ms", "soon", "must be a number"),
        ("x-fake-ttft-ms", "-1", ">= 0"),
        ("x-fake-output-tokens", "0", ">= 1"),
        ("x-fake-tool-call", "sometimes", "must be one of"),
        ("x-fake-fault", "418", "must be one of"),
        ("x-fake-refusal", "maybe", "1/0"),
        ("x-fake-ttft", "10", "unknown control header"),
    ],
)
def test_controls_reject_bad_headers(header: str, value: str, message: str) -> None:
    with pytest.raises(ControlError, match=message):
        parse_controls({header: value}, CONFIG)


def test_fault_attempts_compare_with_retry_count() -> None:
    headers = {"x-fake-fault": "500", "x-fake-fault-attempts": "2"}
    active = [parse_controls({**headers, "x-stainless-retry-count": str(n)}, CONFIG).fault_active for n in range(3)]
    assert active == [True, True, False]


# -- tokens -------------------------------------------------------------------------------


def test_token_counting_is_deterministic_and_at_least_one() -> None:
    assert count_text("") == 1
    assert count_text("abcd") == 1
    assert count_text("abcde") == 2
    assert count_text("é" * 4) == 2  # utf-8 bytes, not characters


@pytest.mark.parametrize("text", ["Hello world", "  leading and trailing  ", "one", "", "a\nb\tc"])
def test_split_words_round_trips(text: str) -> None:
    assert "".join(split_words(text)) == text


def test_split_fragments_round_trips() -> None:
    assert "".join(split_fragments('{"a": [1, 2, 3]}')) == '{"a": [1, 2, 3]}'


# -- cache --------------------------------------------------------------------------------


def test_cache_writes_then_reads_then_expires() -> None:
    clock = FakeClock()
    cache = PromptCache(clock)
    points = breakpoints("ns", [text_segment("x" * 400, "5m"), text_segment("tail")], min_tokens=0)
    first = cache.lookup(points)
    assert (first.read_tokens, first.written_for("5m")) == (0, 100)
    clock.now += 299
    assert cache.lookup(points).read_tokens == 100  # and refreshes the entry
    clock.now += 299
    assert cache.lookup(points).read_tokens == 100
    clock.now += 301
    assert cache.lookup(points).written_for("5m") == 100
    cache.reset()
    assert len(cache) == 0


def test_cache_splits_writes_by_ttl_and_reads_longest_prefix() -> None:
    cache = PromptCache(FakeClock())
    long_lived = text_segment("a" * 40, "1h")
    short_lived = text_segment("b" * 80, "5m")
    first = cache.lookup(breakpoints("ns", [long_lived, short_lived], min_tokens=0))
    assert (first.written_for("1h"), first.written_for("5m")) == (10, 20)
    changed = cache.lookup(breakpoints("ns", [long_lived, text_segment("c" * 80, "5m")], min_tokens=0))
    assert (changed.read_tokens, changed.written_for("1h"), changed.written_for("5m")) == (10, 0, 20)


def test_cache_respects_min_tokens_and_namespace() -> None:
    cache = PromptCache(FakeClock())
    segments = [text_segment("x" * 40, "5m")]
    assert breakpoints("ns", segments, min_tokens=11) == []
    cache.lookup(breakpoints("model-a", segments, min_tokens=0))
    assert cache.lookup(breakpoints("model-b", segments, min_tokens=0)).read_tokens == 0


# -- schema values ------------------------------------------------------------------------


class Address(pydantic.BaseModel):
    street: str
    zip_code: str = pydantic.Field(min_length=5, max_length=5)


class Person(pydantic.BaseModel):
    name: str
    age: int = pydantic.Field(ge=0, le=130)
    email: str | None = None
    tags: list[str]
    role: str = pydantic.Field(json_schema_extra={"enum": ["admin", "user"]})
    address: Address
    previous: list[Address] = []
    score: float = pydantic.Field(gt=0, lt=1)
    active: bool


class TreeNode(pydantic.BaseModel):
    label: str
    children: list[TreeNode] = []


SCHEMAS: list[dict[str, Any]] = [
    Person.model_json_schema(),
    TreeNode.model_json_schema(),
    {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"], "additionalProperties": False},
    {"type": "object", "properties": {"n": {"type": ["integer", "null"], "multipleOf": 5, "minimum": 7}}},
    {"type": "object", "additionalProperties": False},
    {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "format": "uuid"},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 2},
            "kind": {"const": "fixed"},
            "mixed": {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}]},
        },
        "required": ["when", "id", "pair", "kind", "mixed"],
    },
    {"type": "string", "enum": ["red", "green"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_valid_values_validate(schema: dict[str, Any], seed: int) -> None:
    import random

    value = SchemaValues(random.Random(seed)).valid(schema)
    fastjsonschema.validate(schema, value)
    json.dumps(value)


@pytest.mark.parametrize("schema", [s for s in SCHEMAS if s.get("additionalProperties") is not True])
def test_violating_values_fail(schema: dict[str, Any]) -> None:
    import random

    value = SchemaValues(random.Random(0)).violating(schema)
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        fastjsonschema.validate(schema, value)
    if schema.get("type") == "object":
        assert isinstance(value, dict)


def test_valid_person_parses_with_pydantic() -> None:
    import random

    person = Person.model_validate(SchemaValues(random.Random(5)).valid(Person.model_json_schema()))
    assert 0 <= person.age <= 130


@pytest.mark.parametrize("text", ["{}", "[]", '{"a": 1}', '{"a": {"b": [1, 2]}}', "12345", '"string"'])
def test_break_json_is_never_parseable(text: str) -> None:
    broken = break_json(text)
    with pytest.raises(ValueError):
        json.loads(broken)
    with pytest.raises(ValueError):
        jiter.from_json(broken.encode(), partial_mode=True)  # what the SDK stream helpers use


# -- core ---------------------------------------------------------------------------------


def _post(provider: FakeProvider, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    response = provider.handle("POST", path, headers, json.dumps(body).encode())
    return response.status, json.loads(response.body) if not response.is_stream else response


MESSAGE = {"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def test_routes_accept_both_openai_path_spellings_and_beta_query() -> None:
    provider = FakeProvider()
    assert _post(provider, "/v1/chat/completions", CHAT)[0] == 200
    assert _post(provider, "/chat/completions", CHAT)[0] == 200
    assert _post(provider, "/v1/messages?beta=true", MESSAGE)[0] == 200
    assert _post(provider, "/embeddings", {"model": "e", "input": "x"})[0] == 200


def test_unknown_path_is_a_provider_formatted_404() -> None:
    provider = FakeProvider()
    status, body = _post(provider, "/v1/messages/batches", MESSAGE)
    assert status == 404
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    status, body = _post(provider, "/v1/images/generations", CHAT)
    assert status == 404
    assert body["error"]["code"] == "unknown_url"


def test_bad_control_and_bad_body_are_400() -> None:
    provider = FakeProvider()
    status, body = _post(provider, "/v1/messages", MESSAGE, **{"x-fake-output-tokens": "many"})
    assert status == 400
    assert "x-fake-output-tokens" in body["error"]["message"]
    status, body = _post(provider, "/v1/messages", {"model": "m", "messages": []})
    assert (status, body["error"]["type"]) == (400, "invalid_request_error")
    response = provider.handle("POST", "/v1/chat/completions", {}, b"{not json")
    assert response.status == 400


def test_tool_call_without_tools_is_400() -> None:
    status, body = _post(FakeProvider(), "/v1/chat/completions", CHAT, **{"x-fake-tool-call": "valid"})
    assert status == 400
    assert "tools" in body["error"]["message"]


def test_seed_makes_runs_reproducible() -> None:
    def run(seed: int) -> list[bytes]:
        provider = FakeProvider(FakeProviderConfig(seed=seed))
        return [provider.handle("POST", "/v1/messages", {}, json.dumps(MESSAGE).encode()).body for _ in range(3)]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_stream_pacing_and_non_stream_delay() -> None:
    provider = FakeProvider(FakeProviderConfig(ttft_ms=100, token_ms=10, output_tokens=4))
    streamed = provider.handle("POST", "/v1/messages", {}, json.dumps({**MESSAGE, "stream": True}).encode())
    assert streamed.chunks is not None
    delays = [delay for delay, _ in streamed.chunks]
    assert delays[0] == 0  # message_start goes out at once
    assert sorted(d for d in delays if d) == [0.01, 0.01, 0.01, 0.1]
    plain = provider.handle("POST", "/v1/messages", {}, json.dumps(MESSAGE).encode())
    assert plain.delay_s == pytest.approx(0.1 + 4 * 0.01)


def test_health_endpoint() -> None:
    response = FakeProvider().handle("GET", "/health", {}, b"")
    assert response.status == 200
