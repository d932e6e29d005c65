"""The demo's three services, each a realistic slice of production LLM traffic through the real SDK clients.

- `voice-agent`: streamed turns on Claude Haiku 4.5 and GPT-5 mini sharing one cached system prompt, with time to
  first token drawn around a voice budget (a few turns blow it), and some throttling (429, 529) the SDKs retry.
- `classifier`: a classification pipeline asking for structured output (OpenAI `response_format`, Claude a forced
  tool); some answers violate the schema or are not JSON at all.
- `planner`: planner tasks fanning out to sub-agent workers on threads, with tool calls (some malformed) and tool
  executions (some failing), and a few tasks that fail.

Everything random comes from one seeded generator per service, so `--seed` makes a run repeatable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import anthropic
import openai

import firsttoken

Tick = Callable[[], None]

SYSTEM_PROMPT = (
    "You are the voice agent of a travel company. Answer in one or two short sentences, confirm names and dates, "
    "never read out long lists. "
) * 30
LOOKUP_TOOL = {
    "name": "lookup_booking",
    "description": "Find a booking by reference",
    "input_schema": {
        "type": "object",
        "properties": {"reference": {"type": "string"}, "surname": {"type": "string"}},
        "required": ["reference", "surname"],
    },
}
CLASSIFY_SCHEMA = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": ["booking", "refund", "complaint", "other"]},
        "urgent": {"type": "boolean"},
    },
    "required": ["intent", "urgent"],
    "additionalProperties": False,
}
TENANTS = ("acme-travel", "globex-air", "initech-tours")


def _clients(base_url: str) -> tuple[anthropic.Anthropic, openai.OpenAI]:
    claude = anthropic.Anthropic(api_key="demo", base_url=base_url, max_retries=2)
    gpt = openai.OpenAI(api_key="demo", base_url=f"{base_url}/v1", max_retries=2)
    return claude, gpt


def _faults(rng: random.Random) -> dict[str, str]:
    """Mostly healthy; now and then throttled or overloaded for one attempt (the SDK's retry succeeds), rarely a
    server error on every attempt (the call fails)."""
    roll = rng.random()
    if roll < 0.015:
        return {"x-fake-fault": "500"}  # every attempt fails: the call ends in an error
    if roll < 0.06:
        return {"x-fake-fault": "429", "x-fake-fault-attempts": "1", "x-fake-retry-after": "0.05"}
    if roll < 0.09:
        return {"x-fake-fault": "529", "x-fake-fault-attempts": "1", "x-fake-retry-after": "0.05"}
    return {}


def voice_agent(base_url: str, rng: random.Random, turns: int, tick: Tick) -> None:
    claude, gpt = _clients(base_url)
    for turn in range(turns):
        tenant = rng.choice(TENANTS)
        ttft = str(round(rng.lognormvariate(5.4, 0.35)))  # median ~220 ms, a tail past 400
        headers = {"x-fake-ttft-ms": ttft, "x-fake-token-ms": "4", "x-fake-output-tokens": "24", **_faults(rng)}
        question = f"Turn {turn}: can I move my flight to {rng.choice(['Monday', 'Tuesday', 'Friday'])}?"
        with firsttoken.attributes(tenant=tenant, feature="voice"):
            try:
                if turn % 2 == 0:
                    with claude.messages.stream(
                        model="claude-haiku-4-5",
                        max_tokens=120,
                        system=[{"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}],
                        messages=[{"role": "user", "content": question}],
                        extra_headers=headers,
                    ) as stream:
                        for _ in stream.text_stream:
                            pass
                else:
                    chunks = gpt.chat.completions.create(
                        model="gpt-5-mini",
                        messages=[{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}],
                        stream=True,
                        stream_options={"include_usage": True},
                        extra_headers=headers,
                    )
                    for _ in chunks:
                        pass
            except (anthropic.APIError, openai.APIError):
                pass  # a failed turn is part of the picture: its span records the error
        tick()


def classifier(base_url: str, rng: random.Random, items: int, tick: Tick) -> None:
    claude, gpt = _clients(base_url)
    for item in range(items):
        roll = rng.random()
        quality = "schema-violating" if roll < 0.08 else "invalid-json" if roll < 0.11 else "valid"
        text = f"Ticket {item}: my bag did not arrive"
        with firsttoken.attributes(tenant=rng.choice(TENANTS), feature="triage"):
            try:
                if item % 3 == 0:
                    claude.messages.create(
                        model="claude-haiku-4-5",
                        max_tokens=64,
                        tools=[{"name": "classify", "input_schema": CLASSIFY_SCHEMA}],
                        tool_choice={"type": "tool", "name": "classify"},
                        messages=[{"role": "user", "content": text}],
                        extra_headers={
                            "x-fake-tool-call": "schema-violating" if quality != "valid" else "valid",
                            **_faults(rng),
                        },
                    )
                else:
                    gpt.chat.completions.create(
                        model="gpt-5-mini",
                        messages=[{"role": "user", "content": text}],
                        response_format={
                            "type": "json_schema",
                            "json_schema": {"name": "ticket", "schema": CLASSIFY_SCHEMA, "strict": True},
                        },
                        extra_headers={"x-fake-structured": quality, **_faults(rng)},
                    )
            except (anthropic.APIError, openai.APIError):
                pass
        tick()


def _research(claude: anthropic.Anthropic, rng: random.Random, worker: int) -> None:
    with firsttoken.task("research", agent="worker", worker=worker):
        malformed = rng.random() < 0.1
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=96,
            tools=[LOOKUP_TOOL],  # type: ignore[list-item]
            messages=[{"role": "user", "content": f"Find booking for worker {worker}"}],
            extra_headers={"x-fake-tool-call": "malformed" if malformed else "valid"},
        )
        with firsttoken.tool("lookup_booking") as run:
            time.sleep(rng.uniform(0.005, 0.04))  # the booking system's latency
            if malformed or rng.random() < 0.12:
                run.fail("booking system timeout" if not malformed else "bad arguments")
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=96,
            messages=[{"role": "user", "content": f"Summarise booking for worker {worker}"}],
        )


def planner(base_url: str, rng: random.Random, plans: int, tick: Tick, fan_out: int = 4) -> None:
    claude, gpt = _clients(base_url)
    with ThreadPoolExecutor(max_workers=fan_out) as pool:
        for plan in range(plans):
            with firsttoken.attributes(tenant=rng.choice(TENANTS), feature="itinerary"):
                try:
                    with firsttoken.task("plan_trip", agent="planner") as task:
                        gpt.chat.completions.create(
                            model="gpt-5-mini",
                            messages=[{"role": "user", "content": f"Plan trip {plan}"}],
                            extra_headers=_faults(rng),
                        )
                        seeds = [rng.random() for _ in range(fan_out)]
                        futures = [
                            pool.submit(firsttoken.in_context(_research), claude, random.Random(seed), worker)
                            for worker, seed in enumerate(seeds)
                        ]
                        for future in futures:
                            future.result()
                        if rng.random() < 0.15:
                            task.fail("itinerary incomplete")
                except (anthropic.APIError, openai.APIError):
                    pass
            tick()


SERVICES: dict[str, tuple[Callable[..., None], int]] = {
    # service name -> (workload, units per unit of scale)
    "voice-agent": (voice_agent, 40),
    "classifier": (classifier, 40),
    "planner": (planner, 8),
}


def run_service(name: str, base_url: str, seed: int, scale: float, tick: Tick) -> int:
    workload, units = SERVICES[name]
    count = max(1, round(units * scale))
    rng = random.Random(f"{seed}:{name}")
    workload(base_url, rng, count, tick)
    return count
