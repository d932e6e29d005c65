"""A bad collector setting fails at start with a message naming it; good ones mean what the docs say."""

from __future__ import annotations

from pathlib import Path

import pytest

from firsttoken_collector.cli import main
from firsttoken_collector.config import CollectorConfigError, load_config


def test_defaults_are_embedded_loopback_and_the_standard_ports(tmp_path: Path) -> None:
    config = load_config(env={"FIRSTTOKEN_DATA_DIR": str(tmp_path)})
    assert config.clickhouse.embedded_path == tmp_path.resolve() / "clickhouse"
    assert (config.host, config.http_port, config.grpc_port) == ("127.0.0.1", 4318, 4317)
    assert config.token is None
    assert config.wal_fsync


def test_server_url_with_credentials(tmp_path: Path) -> None:
    config = load_config(
        env={
            "FIRSTTOKEN_DATA_DIR": str(tmp_path),
            "FIRSTTOKEN_CLICKHOUSE_URL": "https://writer:p%40ss@ch.internal:9443/llm",
        }
    )
    target = config.clickhouse
    assert (target.host, target.port, target.secure, target.username, target.password, target.database) == (
        "ch.internal",
        9443,
        True,
        "writer",
        "p@ss",
        "llm",
    )
    assert "p@ss" not in target.describe()


@pytest.mark.parametrize(
    ("env", "setting", "fragment"),
    [
        ({"FIRSTTOKEN_CLICKHOUSE_URL": "ftp://ch:21/x"}, "FIRSTTOKEN_CLICKHOUSE_URL", "scheme"),
        ({"FIRSTTOKEN_CLICKHOUSE_URL": "http://u:secret@:8123"}, "FIRSTTOKEN_CLICKHOUSE_URL", "no host"),
        ({"FIRSTTOKEN_CLICKHOUSE_URL": "http://ch:99999/x"}, "FIRSTTOKEN_CLICKHOUSE_URL", "not a URL"),
        ({"FIRSTTOKEN_CLICKHOUSE_URL": "http://ch:8123/bad-db;drop"}, "FIRSTTOKEN_CLICKHOUSE_URL", "database name"),
        ({"FIRSTTOKEN_CLICKHOUSE_URL": "chdb://relative/dir"}, "FIRSTTOKEN_CLICKHOUSE_URL", "absolute"),
        ({"FIRSTTOKEN_MAX_REQUEST_BYTES": "lots"}, "FIRSTTOKEN_MAX_REQUEST_BYTES", "integer"),
        ({"FIRSTTOKEN_MAX_REQUEST_BYTES": "12"}, "FIRSTTOKEN_MAX_REQUEST_BYTES", "between"),
        ({"FIRSTTOKEN_COLLECTOR_HTTP_PORT": "70000"}, "FIRSTTOKEN_COLLECTOR_HTTP_PORT", "between"),
        ({"FIRSTTOKEN_COLLECTOR_TOKEN": "short"}, "FIRSTTOKEN_COLLECTOR_TOKEN", "16 characters"),
        ({"FIRSTTOKEN_WAL_FSYNC": "sometimes"}, "FIRSTTOKEN_WAL_FSYNC", "expected"),
        ({"FIRSTTOKEN_BATCH_DELAY_SECONDS": "0"}, "FIRSTTOKEN_BATCH_DELAY_SECONDS", "between"),
        ({"FIRSTTOKEN_SELF_METRICS_SECONDS": "-1"}, "FIRSTTOKEN_SELF_METRICS_SECONDS", "between 0 and 3600"),
        ({"FIRSTTOKEN_SELF_METRICS_SECONDS": "soon"}, "FIRSTTOKEN_SELF_METRICS_SECONDS", "integer"),
        (
            {"FIRSTTOKEN_SPILL_MAX_BYTES": str(2 << 20), "FIRSTTOKEN_MAX_REQUEST_BYTES": str(8 << 20)},
            "FIRSTTOKEN_SPILL_MAX_BYTES",
            "at least",
        ),
        ({"FIRSTTOKEN_COLLECTOR_HOST": "0.0.0.0"}, "FIRSTTOKEN_COLLECTOR_HOST", "FIRSTTOKEN_COLLECTOR_TOKEN"),
    ],
)
def test_bad_settings_name_themselves(tmp_path: Path, env: dict[str, str], setting: str, fragment: str) -> None:
    with pytest.raises(CollectorConfigError) as info:
        load_config(env={"FIRSTTOKEN_DATA_DIR": str(tmp_path), **env})
    assert str(info.value).startswith(setting)
    assert fragment in str(info.value)
    assert "secret" not in str(info.value)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(CollectorConfigError, match=r"^FIRSTTOKEN_DATA_DIR: .* not a directory"):
        load_config(env={"FIRSTTOKEN_DATA_DIR": str(tmp_path / "file")})


def test_a_public_bind_is_allowed_with_a_token_or_insecure(tmp_path: Path) -> None:
    base = {"FIRSTTOKEN_DATA_DIR": str(tmp_path), "FIRSTTOKEN_COLLECTOR_HOST": "0.0.0.0"}
    assert load_config(env={**base, "FIRSTTOKEN_COLLECTOR_TOKEN": "x" * 32}).token == "x" * 32
    assert load_config(env=base, insecure=True).insecure


def test_collector_command_exits_2_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIRSTTOKEN_CLICKHOUSE_URL", "mysql://nope")
    assert main(["collector", "--data-dir", str(tmp_path)]) == 2
    assert "FIRSTTOKEN_CLICKHOUSE_URL" in capsys.readouterr().err


def test_db_migrate_prints_and_applies_idempotently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "migrate", "--print", "--data-dir", str(tmp_path)]) == 0
    assert "CREATE TABLE IF NOT EXISTS `firsttoken`.`otel_traces`" in capsys.readouterr().out
    assert main(["db", "migrate", "--data-dir", str(tmp_path)]) == 0
    assert "applied" in capsys.readouterr().out
    assert main(["db", "migrate", "--data-dir", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["db", "migrate", "--ttl-days", "14", "--data-dir", str(tmp_path)]) == 0
    assert "retention changed, llm_calls: 30 days -> 14 days" in capsys.readouterr().out
    assert main(["db", "migrate", "--ttl-days", "14", "--data-dir", str(tmp_path)]) == 0
    assert "retention changed" not in capsys.readouterr().out
    assert main(["prices", "sync", "--data-dir", str(tmp_path)]) == 0
    assert "price rows" in capsys.readouterr().out


def test_report_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as bad_window:
        main(["report", "--since", "soon", "--data-dir", str(tmp_path)])
    assert bad_window.value.code == 2
    assert "expected a duration like 30m" in capsys.readouterr().err
    assert main(["report", "--clickhouse-url", "http://u:secret@127.0.0.1:1/db"]) == 4
    err = capsys.readouterr().err
    assert "cannot open ClickHouse (http://u@127.0.0.1:1/db)" in err
    assert "secret" not in err
    assert main(["db", "migrate", "--data-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["report", "--data-dir", str(tmp_path), "--since", "30m"]) == 0
    assert "no LLM calls in the last 30 min" in capsys.readouterr().err
