"""Platform clients (Azure OpenAI here; Bedrock and Vertex share the same resource classes and request())."""

from __future__ import annotations

from typing import Any

import openai

from firsttoken import _instrument
from firsttoken.testing import FakeProvider
from tests.instrumentation.conftest import HTTPX, Telemetry


def _azure_transport(seen: list[str]) -> Any:
    fake = FakeProvider()

    def handler(request: Any) -> Any:
        seen.append(request.url.path)
        # Azure routes by deployment: /openai/deployments/{deployment}/chat/completions?api-version=...
        path = "/v1/" + request.url.path.rsplit("/", 2)[-2] + "/" + request.url.path.rsplit("/", 1)[-1]
        answer = fake.handle(request.method, path, dict(request.headers), request.content)
        return HTTPX.Response(answer.status, headers=dict(answer.headers), content=answer.body)

    return HTTPX.MockTransport(handler)


def test_azure_openai(telemetry: Telemetry) -> None:
    seen: list[str] = []
    client = openai.AzureOpenAI(
        api_key="azure-key",
        api_version="2025-04-01-preview",
        azure_endpoint="https://contoso.openai.azure.com",
        http_client=HTTPX.Client(transport=_azure_transport(seen)),
    )
    completion = client.chat.completions.create(
        model="gpt-5-mini-deployment", messages=[{"role": "user", "content": "hello"}]
    )
    assert seen == ["/openai/deployments/gpt-5-mini-deployment/chat/completions"]
    attrs = telemetry.one()
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["server.address"] == "contoso.openai.azure.com"
    assert attrs["gen_ai.request.model"] == "gpt-5-mini-deployment"
    assert attrs["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens


def test_a_method_the_sdk_lacks_is_skipped() -> None:
    patches: list[Any] = []
    assert _instrument._patch(patches, "openai._base_client", "SyncAPIClient.no_such_method", lambda *a: None) is False
    assert _instrument._patch(patches, "openai._base_client", "NoSuchClass.request", lambda *a: None) is False
    assert _instrument._patch(patches, "no_such_sdk._base_client", "SyncAPIClient.request", lambda *a: None) is False
    assert patches == []
