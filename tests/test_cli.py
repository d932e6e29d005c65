"""The `firsttoken` command's dispatch."""

from __future__ import annotations

import pytest

from firsttoken_collector.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "fake-provider" in capsys.readouterr().out


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_no_command_is_a_usage_error() -> None:
    assert main([]) == 2


def test_fake_provider_is_dispatched() -> None:
    assert main(["fake-provider", "--port", "not-a-port"]) == 2
