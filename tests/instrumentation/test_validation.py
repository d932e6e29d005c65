"""Tool-call validity and structured-output adherence, as the span reports them, against the fake's outcomes."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from tests.instrumentation._flavor import Flavor
from tests.instrumentation.conftest import Telemetry

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}
ANTHROPIC_TOOL = {"name": "book_trip", "description": "Book a trip", "input_schema": SCHEMA}
CHAT_TOOL = {"type": "function", "function": {"name": "book_trip", "parameters": SCHEMA}}
RESPONSES_TOOL = {"type": "function", "name": "book_trip", "parameters": SCHEMA}


@pytest.mark.parametrize(("mode", "invalid"), [("valid", 0), ("malformed", 1), ("schema-violating", 1)])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_anthropic_tool_arguments(
    flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str, mode: str, invalid: int, stream: bool
) -> None:
    result = await flavor.call(
        anth.messages.create,
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": f"{unique}book"}],
        tools=[ANTHROPIC_TOOL],
        stream=stream,
        extra_headers={"x-fake-tool-call": mode},
    )
    if stream:
        await flavor.drain(result)
    attrs = telemetry.one()
    assert attrs["firsttoken.tool_calls.names"] == ("book_trip",)
    assert attrs["firsttoken.tool_calls.invalid"] == invalid
    assert attrs["firsttoken.tool_calls.arguments_valid"] == (invalid == 0,)


@pytest.mark.parametrize(("mode", "invalid"), [("valid", 0), ("malformed", 1), ("schema-violating", 1)])
async def test_openai_chat_tool_arguments_streamed(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str, mode: str, invalid: int
) -> None:
    stream = await flavor.call(
        oai.chat.completions.create,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": f"{unique}book"}],
        tools=[CHAT_TOOL],
        stream=True,
        extra_headers={"x-fake-tool-call": mode, "x-fake-tool-calls": "2"},
    )
    await flavor.drain(stream)
    attrs = telemetry.one()
    assert attrs["firsttoken.tool_calls.names"] == ("book_trip", "book_trip")
    assert attrs["firsttoken.tool_calls.invalid"] == 2 * invalid


@pytest.mark.parametrize(("mode", "invalid"), [("valid", 0), ("malformed", 1)])
async def test_responses_function_calls(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str, mode: str, invalid: int
) -> None:
    await flavor.call(
        oai.responses.create,
        model="gpt-5-mini",
        input=f"{unique}book",
        tools=[RESPONSES_TOOL],
        extra_headers={"x-fake-tool-call": mode},
    )
    attrs = telemetry.one()
    assert attrs["firsttoken.tool_calls.invalid"] == invalid
    assert attrs["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_no_tools_no_validation_attributes(openai_client: Any, telemetry: Telemetry, unique: str) -> None:
    openai_client.chat.completions.create(model="gpt-5-mini", messages=[{"role": "user", "content": unique}])
    attrs = telemetry.one()
    assert "firsttoken.tool_calls.invalid" not in attrs
    assert "firsttoken.structured_output.requested" not in attrs


CHAT_FORMAT = {"type": "json_schema", "json_schema": {"name": "trip", "schema": SCHEMA, "strict": True}}


@pytest.mark.parametrize(
    ("mode", "valid", "error"),
    [("valid", True, None), ("invalid-json", False, "invalid_json"), ("schema-violating", False, "schema:")],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_openai_chat_structured(
    flavor: Flavor,
    oai: Any,
    telemetry: Telemetry,
    unique: str,
    mode: str,
    valid: bool,
    error: str | None,
    stream: bool,
) -> None:
    result = await flavor.call(
        oai.chat.completions.create,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": f"{unique}plan"}],
        response_format=CHAT_FORMAT,
        stream=stream,
        extra_headers={"x-fake-structured": mode},
    )
    if stream:
        await flavor.drain(result)
    attrs = telemetry.one()
    assert attrs["firsttoken.structured_output.requested"] is True
    assert attrs["firsttoken.structured_output.valid"] is valid
    if error is None:
        assert "firsttoken.structured_output.error" not in attrs
    else:
        assert attrs["firsttoken.structured_output.error"].startswith(error)


async def test_refusal_is_its_own_outcome(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    await flavor.call(
        oai.chat.completions.create,
        model="gpt-5-mini",
        messages=[{"role": "user", "content": f"{unique}plan"}],
        response_format=CHAT_FORMAT,
        extra_headers={"x-fake-refusal": "1"},
    )
    attrs = telemetry.one()
    assert attrs["firsttoken.refusal"] is True
    assert attrs["firsttoken.structured_output.valid"] is False
    assert attrs["firsttoken.structured_output.error"] == "refused"


class Trip(pydantic.BaseModel):
    city: str
    days: int


async def test_anthropic_structured_outputs_and_parse(
    flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str
) -> None:
    ask = {"model": "claude-haiku-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": f"{unique}p"}]}
    parsed = await flavor.call(anth.messages.parse, **ask, output_format=Trip)
    assert isinstance(parsed.parsed_output, Trip)
    attrs = telemetry.one()
    assert attrs["firsttoken.structured_output.valid"] is True
    telemetry.clear()
    fmt = {"format": {"type": "json_schema", "schema": SCHEMA}}
    await flavor.call(
        anth.messages.create, **ask, output_config=fmt, extra_headers={"x-fake-structured": "schema-violating"}
    )
    attrs = telemetry.one()
    assert attrs["firsttoken.structured_output.valid"] is False
    assert attrs["firsttoken.structured_output.error"].startswith("schema:")


async def test_responses_structured(flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str) -> None:
    parsed = await flavor.call(oai.responses.parse, model="gpt-5-mini", input=f"{unique}p", text_format=Trip)
    assert isinstance(parsed.output_parsed, Trip)
    assert telemetry.one()["firsttoken.structured_output.valid"] is True


async def test_sdk_parse_failure_counts_against_adherence(
    flavor: Flavor, oai: Any, telemetry: Telemetry, unique: str
) -> None:
    """`parse()` raises inside the SDK when the output breaks the schema: the call fails, adherence counts it."""
    with pytest.raises(Exception) as caught:
        await flavor.call(
            oai.chat.completions.parse,
            model="gpt-5-mini",
            messages=[{"role": "user", "content": f"{unique}p"}],
            response_format=Trip,
            extra_headers={"x-fake-structured": "schema-violating"},
        )
    attrs = telemetry.one()
    assert attrs["error.type"] == type(caught.value).__qualname__
    assert attrs["firsttoken.structured_output.requested"] is True
    assert attrs["firsttoken.structured_output.valid"] is False
    assert attrs["firsttoken.structured_output.error"].startswith("sdk_parse:")


async def test_forced_tool_choice_is_a_schema(flavor: Flavor, anth: Any, telemetry: Telemetry, unique: str) -> None:
    await flavor.call(
        anth.messages.create,
        model="claude-haiku-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": f"{unique}book"}],
        tools=[ANTHROPIC_TOOL],
        tool_choice={"type": "tool", "name": "book_trip"},
        extra_headers={"x-fake-tool-call": "schema-violating"},
    )
    attrs = telemetry.one()
    assert attrs["firsttoken.structured_output.requested"] is True
    assert attrs["firsttoken.structured_output.valid"] is False
    assert attrs["firsttoken.tool_calls.invalid"] == 1


def test_tool_schemas_are_reread_when_the_tool_list_changes() -> None:
    from firsttoken.validation.tool_calls import cached_tool_schemas

    first = {"name": "a", "input_schema": {"type": "object"}}
    tools: list[Any] = [first]
    assert cached_tool_schemas(tools) == {"a": {"type": "object"}}
    assert cached_tool_schemas(tools) is cached_tool_schemas(tools)  # same list, same tools: built once
    tools.append({"name": "b", "parameters": {"type": "array"}})
    assert cached_tool_schemas(tools) == {"a": {"type": "object"}, "b": {"type": "array"}}
    tools[0] = {"name": "c"}
    assert cached_tool_schemas(tools) == {"c": None, "b": {"type": "array"}}
