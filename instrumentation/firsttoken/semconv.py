"""Attribute and metric names: the one vocabulary the SDK writes and the collector reads.

GenAI names follow the OpenTelemetry GenAI semantic conventions (status Development, late 2026); the `firsttoken.*`
names are this product's own contract (docs/span-attributes.md). The collector's column mapping imports this module,
so a rename here is a rename everywhere.
"""

from __future__ import annotations

from typing import Final

# --- GenAI semantic conventions ------------------------------------------------------------------------------------
PROVIDER_NAME: Final = "gen_ai.provider.name"
SYSTEM_DEPRECATED: Final = "gen_ai.system"
OPERATION_NAME: Final = "gen_ai.operation.name"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
REQUEST_STREAM: Final = "gen_ai.request.stream"
REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
USAGE_CACHE_WRITE_INPUT_TOKENS_ANTHROPIC_SDK: Final = "gen_ai.usage.cache_write.input_tokens"
USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
AGENT_NAME: Final = "gen_ai.agent.name"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_TYPE: Final = "gen_ai.tool.type"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# Event carrying captured content when the capture mode asks for events.
EVENT_INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"

# --- firsttoken product attributes -------------------------------------------------------------------------------
COST_USD: Final = "firsttoken.cost.usd"
COST_INPUT_USD: Final = "firsttoken.cost.input_usd"
COST_OUTPUT_USD: Final = "firsttoken.cost.output_usd"
COST_CACHE_READ_USD: Final = "firsttoken.cost.cache_read_usd"
COST_CACHE_WRITE_USD: Final = "firsttoken.cost.cache_write_usd"
COST_PRICED: Final = "firsttoken.cost.priced"
CACHE_HIT: Final = "firsttoken.cache.hit"
CACHE_HIT_RATIO: Final = "firsttoken.cache.hit_ratio"
USAGE_CACHE_CREATION_5M: Final = "firsttoken.usage.cache_creation.ephemeral_5m_input_tokens"
USAGE_CACHE_CREATION_1H: Final = "firsttoken.usage.cache_creation.ephemeral_1h_input_tokens"
USAGE_MISSING: Final = "firsttoken.usage.missing"
COUNTED_INPUT_TOKENS: Final = "firsttoken.count_tokens.input_tokens"
STREAM_COMPLETED: Final = "firsttoken.stream.completed"
STREAM_CHUNKS: Final = "firsttoken.stream.chunks"
TOOL_CALLS_NAMES: Final = "firsttoken.tool_calls.names"
TOOL_CALLS_IDS: Final = "firsttoken.tool_calls.ids"
TOOL_CALLS_COUNT: Final = "firsttoken.tool_calls.count"
TOOL_CALLS_INVALID: Final = "firsttoken.tool_calls.invalid"
STRUCTURED_REQUESTED: Final = "firsttoken.structured_output.requested"
STRUCTURED_VALID: Final = "firsttoken.structured_output.valid"
STRUCTURED_ERROR: Final = "firsttoken.structured_output.error"
REFUSAL: Final = "firsttoken.refusal"
RETRIES: Final = "firsttoken.retries"
THROTTLED: Final = "firsttoken.throttled"
ERROR_CATEGORY: Final = "firsttoken.error.category"
API_SURFACE: Final = "firsttoken.api.surface"
TASK_ID: Final = "firsttoken.task.id"
TASK_NAME: Final = "firsttoken.task.name"

# --- metrics (semantic-convention names, units and bucket boundaries) ------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
TOKEN_TYPE: Final = "gen_ai.token.type"

DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
)  # fmt: skip

# Operation names used by firsttoken spans.
OP_CHAT: Final = "chat"
OP_EMBEDDINGS: Final = "embeddings"
OP_COUNT_TOKENS: Final = "count_tokens"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

# Error categories: the dashboards' throttle and fault breakdown reads these, not SDK class names.
ERROR_RATE_LIMIT: Final = "rate_limit"
ERROR_OVERLOADED: Final = "overloaded"
ERROR_TIMEOUT: Final = "timeout"
ERROR_CONNECTION: Final = "connection"
ERROR_SERVER: Final = "server_error"
ERROR_CLIENT: Final = "client_error"
ERROR_STREAM_INTERRUPTED: Final = "stream_interrupted"
ERROR_CANCELLED: Final = "cancelled"
ERROR_OTHER: Final = "other"
