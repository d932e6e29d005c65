"""Pricing tests run at a fixed instant, so the genai-prices data they check against selects the same prices."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from firsttoken.pricing import Pricer

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def warned() -> list[str]:
    return []


@pytest.fixture
def pricer(warned: list[str]) -> Pricer:
    return Pricer(warn=warned.append, clock=NOW.timestamp)
