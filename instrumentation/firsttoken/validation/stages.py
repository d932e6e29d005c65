"""The end-of-call stage that writes tool-call validity and structured-output adherence onto the span."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.util.types import AttributeValue

from firsttoken import semconv
from firsttoken.validation.schemas import SchemaValidators
from firsttoken.validation.structured import StructuredSpec, check_structured
from firsttoken.validation.tool_calls import check_tool_calls

if TYPE_CHECKING:
    from firsttoken.core.call import LLMCall
    from firsttoken.core.runtime import Stage

TOOL_CALLS_ARGUMENTS_VALID = "firsttoken.tool_calls.arguments_valid"

# Exceptions the SDKs' own `parse()` helpers raise after a successful HTTP response, when the model's output does
# not fit: the call failed, but it is the model's structured output that failed, and adherence must count it.
_SDK_PARSE_FAILURES = {
    "ValidationError": "schema_violation",
    "JSONDecodeError": "invalid_json",
    "LengthFinishReasonError": "truncated",
    "ContentFilterFinishReasonError": "refused",
}


def validation_stage(validators: SchemaValidators | None = None) -> Stage:
    validators = validators or SchemaValidators()

    def on_end(call: LLMCall, attrs: dict[str, AttributeValue]) -> None:
        facts = call.facts
        request = call.request
        if call.failed:
            parse_failure = _SDK_PARSE_FAILURES.get(call.error_type or "")
            if parse_failure is not None and isinstance(request.structured, StructuredSpec):
                attrs[semconv.STRUCTURED_REQUESTED] = True
                attrs[semconv.STRUCTURED_VALID] = False
                attrs[semconv.STRUCTURED_ERROR] = f"sdk_parse:{parse_failure}"
            return  # otherwise no answer to judge: an error is not the model's output
        if attrs.get(semconv.STREAM_COMPLETED) is False:
            return  # a stream cut short holds no complete answer
        if facts.tool_names and facts.tool_arguments is not None:
            verdicts = check_tool_calls(facts.tool_names, facts.tool_arguments, request.tools, validators)
            attrs[semconv.TOOL_CALLS_INVALID] = verdicts.count(False)
            attrs[TOOL_CALLS_ARGUMENTS_VALID] = verdicts
        spec = request.structured
        if isinstance(spec, StructuredSpec):
            attrs[semconv.STRUCTURED_REQUESTED] = True
            valid, error = check_structured(spec, facts, request.tools, validators)
            if valid is not None:
                attrs[semconv.STRUCTURED_VALID] = valid
            if error:
                attrs[semconv.STRUCTURED_ERROR] = error

    return on_end
