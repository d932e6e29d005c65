"""Fixtures for the fake-provider tests: one real HTTP server per module, real SDK clients.

The prompt cache lives as long as the module's server, so tests that assert on
caching use a unique prompt (`unique` fixture) rather than resetting shared state.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import anthropic
import openai
import pytest

from firsttoken.testing import FakeProviderConfig, FakeProviderServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer(config=FakeProviderConfig(seed=7)) as running:
        yield running


@pytest.fixture
def unique() -> str:
    """A prompt fragment no other test uses, so cache state starts cold."""
    return f"[{uuid.uuid4().hex}] "


@pytest.fixture
def anthropic_client(server: FakeProviderServer) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(
        api_key="test", base_url=server.anthropic_base_url, max_retries=0, _strict_response_validation=True
    )
    with client:
        yield client


@pytest.fixture
def openai_client(server: FakeProviderServer) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        api_key="test", base_url=server.openai_base_url, max_retries=0, _strict_response_validation=True
    )
    with client:
        yield client


@pytest.fixture
async def async_anthropic_client(server: FakeProviderServer) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        api_key="test", base_url=server.anthropic_base_url, max_retries=0, _strict_response_validation=True
    )
    async with client:
        yield client


@pytest.fixture
async def async_openai_client(server: FakeProviderServer) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(
        api_key="test", base_url=server.openai_base_url, max_retries=0, _strict_response_validation=True
    )
    async with client:
        yield client
