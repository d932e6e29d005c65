"""docker-compose.yml, the Dockerfile and the OpenTelemetry Collector config, checked without Docker.

No Docker engine runs here, so these tests read the files and hold them against what the code actually does: the
collector's settings (`firsttoken_collector.config`), its command line (`firsttoken_collector.cli`), the tables the
migrations create, and what the docs promise. Each failure names what a user would hit: an image that moves under
them, a mount of a file that is not there, a setting the collector ignores, a port the docs get wrong.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from firsttoken_collector import cli, tables
from firsttoken_collector import config as collector_config
from firsttoken_collector.config import load_config, parse_clickhouse_url
from firsttoken_collector.schema import render

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
OTELCOL_CONFIG = ROOT / "collector" / "otelcol" / "config.yaml"
DEPLOYMENT_DOC = ROOT / "docs" / "deployment.md"
COLLECTOR_DOC = ROOT / "docs" / "collector.md"
DASHBOARDS = ROOT / "dashboards"

EXPECTED_SERVICES = {"clickhouse", "migrate", "collector", "grafana", "otelcol"}
ONE_SHOT_SERVICES = {"migrate"}
# Services whose image has no shell or HTTP client, so compose cannot probe them from inside; each one's health
# endpoint must be published instead (checked below).
PROBED_FROM_OUTSIDE = {"otelcol": 13133}
DATABASE = "firsttoken"
COLLECTOR_SETTINGS = {value for name, value in vars(collector_config).items() if name.startswith("ENV_")}
EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(\.\d+)?(-[A-Za-z0-9.]+)?(@sha256:[0-9a-f]{64})?$")
TOKEN = "t" * 32


# ---- reading the files -------------------------------------------------------------------------------------------

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value: str, env: Mapping[str, str] | None = None) -> str:
    """Compose's variable substitution (`${X:-default}`, `${X-default}`, `${X}`, `$$`), with `env` as the shell."""
    env = env or {}

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        current = env.get(name)
        if operator == ":-":
            return current or argument
        if operator == "-":
            return argument if current is None else current
        if operator in (":?", "?"):
            raise AssertionError(f"${{{name}}} is required: {argument}")
        return current or ""

    return _VARIABLE.sub(substitute, value)


def compose_variables(text: str) -> dict[str, str | None]:
    """Every `${NAME...}` in the compose file, with its default (None: no default)."""
    found: dict[str, str | None] = {}
    for match in _VARIABLE.finditer(text):
        name = match.group(1) or match.group(4)
        if name:
            found[name] = match.group(3) if match.group(2) in (":-", "-") else None
    return found


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), "docker-compose.yml is not a mapping"
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def otelcol() -> dict[str, Any]:
    document = yaml.safe_load(OTELCOL_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{OTELCOL_CONFIG} is not a mapping"
    return document


def environment(service: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, "") for item in raw)
    return {key: interpolate(str(value), env) for key, value in raw.items()}


def published_ports(service: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, host port, container port) for every published port, short or long syntax."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append((str(entry.get("host_ip", "")), int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        assert len(parts) == 3, f"publish {entry!r} with an explicit host address, like 127.0.0.1:{parts[-1]}"
        ports.append((parts[0], int(parts[1]), int(parts[2])))
    return ports


def mounts(service: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(source, container path) of every volume entry; bind mounts have a path-like source."""
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            yield str(entry["source"]), str(entry["target"])
        else:
            source, target = str(entry).split(":")[:2]
            yield source, target


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends in a line continuation"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1] if " " in text else "") for text in logical]


def dockerfile(instruction: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == instruction]


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"use the exec (JSON) form: {arguments}"
    return [str(item) for item in value]


def clear_collector_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in COLLECTOR_SETTINGS:
        monkeypatch.delenv(name, raising=False)


class _RecordingCollector:
    """Stands in for firsttoken_collector.app.Collector: keeps the configuration the real CLI built, serves nothing."""

    configs: list[collector_config.CollectorConfig] = []

    def __init__(self, config: collector_config.CollectorConfig) -> None:
        self.configs.append(config)

    def serve_forever(self, grace: float) -> int:
        return 0


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[collector_config.CollectorConfig]:
    from firsttoken_collector import app

    configs: list[collector_config.CollectorConfig] = []
    monkeypatch.setattr(_RecordingCollector, "configs", configs)
    monkeypatch.setattr(app, "Collector", _RecordingCollector)
    return configs


# ---- the compose file --------------------------------------------------------------------------------------------


def test_compose_defines_the_stack_and_keeps_the_otelcol_profile_optional(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == EXPECTED_SERVICES
    assert services["otelcol"].get("profiles") == ["otelcol"], "the OpenTelemetry Collector runs only on request"
    for name in EXPECTED_SERVICES - {"otelcol"}:
        assert not services[name].get("profiles"), f"{name} must start with a plain `docker compose up`"


def test_every_variable_has_a_local_default_and_is_documented() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    variables = compose_variables(text)
    assert variables, "credentials should come from the environment, not be written into the compose file"
    for name, default in variables.items():
        assert default is not None, f"${{{name}}} has no default: `docker compose up` would run with it empty"
        assert name in doc, f"{name} is read by docker-compose.yml but docs/deployment.md does not mention it"


def test_every_image_is_pinned_to_an_exact_version(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            build = service["build"]
            assert build == {"context": ".", "dockerfile": "Dockerfile"}, f"{name} should build this repo's image"
            continue
        image = service.get("image", "")
        assert ":" in image, f"{name}: image {image!r} has no tag (that is `latest`)"
        tag = image.rsplit(":", 1)[1] if "@" not in image else image.split(":", 1)[1]
        assert EXACT_VERSION.match(tag), f"{name}: {image!r} is not pinned to an exact version (no latest, no 26.8)"
    for base in dockerfile("FROM"):
        image = base.split()[0]
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), image


def test_the_grafana_plugin_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["grafana"])
    plugins: dict[str, str] = {}
    for entry in filter(None, (item.strip() for item in env.get("GF_PLUGINS_PREINSTALL_SYNC", "").split(","))):
        plugin_id, _, version = entry.partition("@")
        plugins[plugin_id] = version
    for entry in filter(None, (item.strip() for item in env.get("GF_INSTALL_PLUGINS", "").split(","))):
        plugin_id, _, version = entry.partition(" ")
        plugins[plugin_id] = version.strip()
    assert "grafana-clickhouse-datasource" in plugins, "Grafana would start without the ClickHouse datasource plugin"
    assert EXACT_VERSION.match(plugins["grafana-clickhouse-datasource"]), plugins


def test_bind_mounted_paths_exist_in_the_repo(services: dict[str, dict[str, Any]]) -> None:
    pending = []
    for name, service in services.items():
        for source, target in mounts(service):
            if not is_bind(source):
                continue
            assert source.startswith("./"), f"{name}: mount {source} relative to the repo, not the machine"
            path = (ROOT / source).resolve()
            assert path.is_relative_to(ROOT), f"{name}: {source} is outside the repo"
            if path.exists():
                continue
            if path.is_relative_to(DASHBOARDS) and not _dashboards_present():
                pending.append(source)
                continue
            raise AssertionError(f"{name}: {source} (mounted at {target}) does not exist: the container would see none")
    if pending:
        pytest.skip(f"dashboards/ is not written yet; not checked: {', '.join(pending)}")


def test_named_volumes_are_declared(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = set(compose.get("volumes") or {})
    used = {source for service in services.values() for source, _ in mounts(service) if not is_bind(source)}
    assert used <= declared, f"undeclared volumes: {used - declared}"
    assert {"/var/lib/clickhouse", "/var/lib/firsttoken", "/var/lib/grafana"} <= {
        target for service in services.values() for source, target in mounts(service) if not is_bind(source)
    }, "ClickHouse data, the collector's write-ahead log and Grafana's state must outlive the containers"


def test_firsttoken_settings_in_compose_dockerfile_and_docs_are_ones_the_collector_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    used: dict[str, str] = {}
    for name, service in services.items():
        for key in environment(service):
            if key.startswith("FIRSTTOKEN_"):
                used[key] = f"docker-compose.yml ({name})"
    sources = {"docker-compose.yml": COMPOSE_FILE, "Dockerfile": DOCKERFILE, "docs/deployment.md": DEPLOYMENT_DOC}
    for label, path in sources.items():
        for key in re.findall(r"FIRSTTOKEN_[A-Z0-9_]+", path.read_text(encoding="utf-8")):
            used.setdefault(key, label)
    assert used, "no FIRSTTOKEN_* setting found at all"
    unknown = {key: where for key, where in used.items() if key not in COLLECTOR_SETTINGS}
    assert not unknown, f"the collector does not read these (typo?): {unknown}"


def test_the_clickhouse_url_parses_and_points_at_the_clickhouse_service(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    clickhouse_env = environment(services["clickhouse"])
    assert clickhouse_env["CLICKHOUSE_DB"] == DATABASE
    urls = {}
    for name in ("migrate", "collector"):
        url = environment(services[name]).get(collector_config.ENV_CLICKHOUSE_URL)
        assert url, f"{name} has no {collector_config.ENV_CLICKHOUSE_URL}: it would write to embedded chDB instead"
        urls[name] = url
        target = parse_clickhouse_url(url, data_dir=tmp_path, database="unused")
        assert not target.embedded
        assert target.host == "clickhouse"
        assert target.port in {port for _, _, port in published_ports(services["clickhouse"])} | {8123}
        assert target.port == 8123, "clickhouse-connect speaks HTTP: the URL needs port 8123"
        assert target.database == DATABASE
        assert target.username == clickhouse_env["CLICKHOUSE_USER"]
        assert target.password == clickhouse_env["CLICKHOUSE_PASSWORD"]
    assert urls["migrate"] == urls["collector"], "migrations and the collector must target the same database"
    # A password from the environment reaches the URL too (it must then be URL-safe: docs/deployment.md says so).
    env = {"CLICKHOUSE_USER": "writer", "CLICKHOUSE_PASSWORD": "s3cret-Value"}
    url = environment(services["collector"], env)[collector_config.ENV_CLICKHOUSE_URL]
    target = parse_clickhouse_url(url, data_dir=tmp_path, database="unused")
    assert (target.username, target.password) == ("writer", "s3cret-Value")
    assert environment(services["clickhouse"], env)["CLICKHOUSE_PASSWORD"] == "s3cret-Value"


def _documented_default(setting: str) -> int:
    for line in COLLECTOR_DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"| `{setting}`"):
            return int(line.split("|")[3].strip())
    raise AssertionError(f"docs/collector.md has no row for {setting}")


def test_collector_ports_agree_with_the_docs_the_dockerfile_and_the_code(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    http_port = _documented_default(collector_config.ENV_HTTP_PORT)
    grpc_port = _documented_default(collector_config.ENV_GRPC_PORT)
    defaults = load_config({collector_config.ENV_DATA_DIR: str(tmp_path)})
    assert (defaults.http_port, defaults.grpc_port) == (http_port, grpc_port)
    exposed = {int(port) for arguments in dockerfile("EXPOSE") for port in arguments.split()}
    assert exposed == {http_port, grpc_port}
    published = published_ports(services["collector"])
    assert {(host, container) for _, host, container in published} == {(http_port, http_port), (grpc_port, grpc_port)}
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{http_port}" in doc
    assert f"http://127.0.0.1:{grpc_port}" in doc


def test_ports_are_published_on_loopback_only_and_never_collide(services: dict[str, dict[str, Any]]) -> None:
    doc = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    seen: dict[int, str] = {}
    for name, service in services.items():
        for host_ip, host_port, _ in published_ports(service):
            assert host_ip == "127.0.0.1", f"{name}: port {host_port} would be reachable from other machines"
            assert host_port not in seen, f"{name} and {seen[host_port]} both publish host port {host_port}"
            seen[host_port] = name
            assert str(host_port) in doc, f"docs/deployment.md does not mention host port {host_port} ({name})"


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    one_shot = {name for name, service in services.items() if str(service.get("restart", "")) == "no"}
    assert one_shot == ONE_SHOT_SERVICES
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        if name in PROBED_FROM_OUTSIDE:
            port = PROBED_FROM_OUTSIDE[name]
            assert any(container == port for _, _, container in published_ports(service)), name
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check.get("test")
        assert test, f"{name} has no healthcheck: depends_on cannot wait for it"
        assert test != ["NONE"], f"{name}: healthcheck disabled"
    collector_check = " ".join(services["collector"]["healthcheck"]["test"])
    assert f"127.0.0.1:{_documented_default(collector_config.ENV_HTTP_PORT)}/healthz" in collector_check
    assert "/api/health" in " ".join(services["grafana"]["healthcheck"]["test"])
    (image_check,) = dockerfile("HEALTHCHECK")
    assert "/healthz" in image_check, "the image's own HEALTHCHECK must probe /healthz (the one path without a token)"


def test_start_order_is_clickhouse_then_migrate_then_collector(services: dict[str, dict[str, Any]]) -> None:
    def condition(service: str, dependency: str) -> str:
        depends = services[service].get("depends_on") or {}
        assert isinstance(depends, dict), f"{service}: depends_on needs conditions, not a list"
        return str(depends.get(dependency, {}).get("condition"))

    assert condition("migrate", "clickhouse") == "service_healthy"
    assert condition("collector", "migrate") == "service_completed_successfully"
    assert condition("otelcol", "migrate") == "service_completed_successfully"
    assert condition("grafana", "clickhouse") == "service_healthy"
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            if spec.get("condition") == "service_healthy":
                assert services[dependency].get("healthcheck"), f"{name} waits on {dependency}, which has no check"
    # The collector must not race `migrate` to create the schema.
    assert "--no-migrate" in services["collector"]["command"]
    assert services["migrate"]["command"][:2] == ["db", "migrate"]


# ---- Grafana provisioning (written by the dashboards work; checked once it is there) --------------------------------


def _dashboards_present() -> bool:
    return (DASHBOARDS / "provisioning").exists() or (DASHBOARDS / "json").exists()


def test_grafana_provisioning_matches_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    if not _dashboards_present():
        pytest.skip("dashboards/ is not written yet")
    grafana = services["grafana"]
    targets = {target: source for source, target in mounts(grafana) if is_bind(source)}
    assert targets.get("/etc/grafana/provisioning") == "./dashboards/provisioning"
    assert targets.get("/var/lib/grafana/dashboards") == "./dashboards/json"
    provisioning = DASHBOARDS / "provisioning"
    files = {
        "datasources/clickhouse.yaml": "datasources",
        "dashboards/firsttoken.yaml": "providers",
        "alerting/firsttoken-alerts.yaml": "groups",
    }
    documents = {}
    for relative, key in files.items():
        path = provisioning / relative
        assert path.is_file(), f"{path} is missing: Grafana would start without it"
        documents[relative] = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert documents[relative].get("apiVersion") == 1, relative
        assert documents[relative].get(key), f"{relative} has no {key}"

    # The datasource reaches the clickhouse service with credentials Grafana actually has.
    env = environment(grafana)
    datasource_text = (provisioning / "datasources/clickhouse.yaml").read_text(encoding="utf-8")
    for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", datasource_text):
        assert name in env, f"the datasource reads ${name}, which the grafana service does not set"
    (datasource,) = [d for d in documents["datasources/clickhouse.yaml"]["datasources"] if "clickhouse" in d["type"]]
    data = datasource.get("jsonData") or {}
    assert (data.get("host") or data.get("server")) == "clickhouse"
    assert int(data.get("port", 0)) in (8123, 9000)
    assert data.get("defaultDatabase") == environment(services["clickhouse"])["CLICKHOUSE_DB"]

    # The dashboard provider reads a directory that is mounted.
    for provider in documents["dashboards/firsttoken.yaml"]["providers"]:
        path = provider["options"]["path"]
        assert any(path == target or path.startswith(target + "/") for target in targets), path


# ---- the OpenTelemetry Collector profile -------------------------------------------------------------------------


def test_otelcol_writes_the_tables_migrate_creates_and_never_creates_its_own(
    otelcol: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    exporter = otelcol["exporters"]["clickhouse"]
    assert exporter["create_schema"] is False, "the schema belongs to `firsttoken db migrate`"
    assert exporter["database"] == environment(services["clickhouse"])["CLICKHOUSE_DB"] == DATABASE
    assert exporter["endpoint"].split("://", 1)[1].split(":", 1)[0] == "clickhouse"
    written = {
        exporter["traces_table_name"]: tables.OTEL_TRACES,
        exporter["logs_table_name"]: tables.OTEL_LOGS,
        exporter["metrics_tables"]["gauge"]["name"]: tables.OTEL_METRICS_GAUGE,
        exporter["metrics_tables"]["sum"]["name"]: tables.OTEL_METRICS_SUM,
        exporter["metrics_tables"]["histogram"]["name"]: tables.OTEL_METRICS_HISTOGRAM,
        exporter["metrics_tables"]["exponential_histogram"]["name"]: tables.OTEL_METRICS_EXP_HISTOGRAM,
        exporter["metrics_tables"]["summary"]["name"]: tables.OTEL_METRICS_SUMMARY,
    }
    for configured, expected in written.items():
        assert configured == expected
    assert set(written) == set(tables.INSERT_COLUMNS), "every table the firsttoken collector writes, and no other"

    schema = render(database=DATABASE, ttl_days=None, cluster=None)
    created = set(re.findall(r"CREATE TABLE IF NOT EXISTS `[^`]+`\.`([^`]+)`", schema))
    assert set(written) <= created, f"the exporter would insert into tables nobody created: {set(written) - created}"
    # ... and spans written there reach llm_calls through a materialized view over otel_traces.
    views = re.findall(
        r"CREATE MATERIALIZED VIEW IF NOT EXISTS `[^`]+`\.`[^`]+`.*?TO `[^`]+`\.`([^`]+)`.*?FROM `[^`]+`\.`([^`]+)`",
        schema,
        flags=re.S,
    )
    assert ("llm_calls", tables.OTEL_TRACES) in views

    env = environment(services["otelcol"])
    for key in ("username", "password"):
        variables = re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", str(exporter[key]))
        assert variables, f"the exporter's {key} should come from the environment"
        assert all(variable in env for variable in variables), f"otelcol does not set {variables}"


def test_otelcol_pipelines_batch_retry_and_listen_where_compose_publishes(
    otelcol: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    pipelines = otelcol["service"]["pipelines"]
    assert set(pipelines) == {"traces", "metrics", "logs"}
    for name, pipeline in pipelines.items():
        assert pipeline["receivers"] == ["otlp"], name
        assert "batch" in pipeline["processors"], f"{name}: ClickHouse wants large inserts"
        assert pipeline["exporters"] == ["clickhouse"], name
    exporter = otelcol["exporters"]["clickhouse"]
    assert exporter["retry_on_failure"]["enabled"] is True
    assert exporter["sending_queue"]["enabled"] is True

    protocols = otelcol["receivers"]["otlp"]["protocols"]
    listening = {int(protocols[protocol]["endpoint"].rsplit(":", 1)[1]) for protocol in ("grpc", "http")}
    health = int(otelcol["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1])
    assert "health_check" in otelcol["service"]["extensions"]
    published = {container for _, _, container in published_ports(services["otelcol"])}
    assert published == listening | {health}
    mounted = dict(mounts(services["otelcol"]))
    assert mounted.get("./collector/otelcol/config.yaml") in services["otelcol"]["command"][0]


# ---- the Dockerfile ----------------------------------------------------------------------------------------------


def test_image_installs_the_collector_extra_only_and_runs_as_a_user(services: dict[str, dict[str, Any]]) -> None:
    runs = " ".join(dockerfile("RUN"))
    assert 'pip install ".[collector]"' in runs
    assert "dev" not in re.findall(r"\.\[([^\]]*)\]", runs)[0].split(",")
    (user,) = dockerfile("USER")
    assert user.split(":")[0] not in ("root", "0"), "the collector must not run as root"
    env = dict(item.split("=", 1) for arguments in dockerfile("ENV") for item in shlex.split(arguments) if "=" in item)
    data_dir = env[collector_config.ENV_DATA_DIR]
    assert data_dir == "/var/lib/firsttoken"
    assert any(data_dir in exec_form(arguments) for arguments in dockerfile("VOLUME"))
    assert environment(services["collector"])[collector_config.ENV_DATA_DIR] == data_dir
    assert data_dir in {target for source, target in mounts(services["collector"]) if not is_bind(source)}


def test_image_copies_everything_the_wheel_is_built_from() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    needed = [
        "pyproject.toml",
        project["project"]["readme"],
        project["tool"]["hatch"]["version"]["path"],
        *project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"],
    ]
    copied = [source for arguments in dockerfile("COPY") for source in arguments.split()[:-1]]
    for path in needed:
        assert any(path == source or path.startswith(source.rstrip("/") + "/") for source in copied), (
            f"the image build would miss {path}"
        )
    kept = {line[1:].rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line[:1] == "!"}
    for source in copied:
        assert source.rstrip("/") in kept, f".dockerignore keeps {source} out of the build context"


def test_image_command_parses_with_the_real_cli(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recorded: list[collector_config.CollectorConfig],
) -> None:
    (entrypoint,) = dockerfile("ENTRYPOINT")
    assert exec_form(entrypoint) == ["firsttoken"]
    (command,) = dockerfile("CMD")
    argv = exec_form(command)
    assert argv[0] in cli.COMMANDS
    clear_collector_environment(monkeypatch)
    monkeypatch.setenv(collector_config.ENV_DATA_DIR, str(tmp_path))

    # As shipped, a non-loopback bind with no token is refused, naming the setting (the image does not choose).
    assert cli.main(argv) == 2
    assert collector_config.ENV_HOST in capsys.readouterr().err
    assert recorded == []

    monkeypatch.setenv(collector_config.ENV_TOKEN, TOKEN)
    assert cli.main(argv) == 0
    (config,) = recorded
    assert config.host == "0.0.0.0"
    assert (config.http_port, config.grpc_port) == (4318, 4317)
    assert config.token == TOKEN
    assert config.clickhouse.embedded, "with no URL the image stores into embedded chDB under the data volume"


def test_compose_collector_command_parses_with_the_real_cli(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    services: dict[str, dict[str, Any]],
    recorded: list[collector_config.CollectorConfig],
) -> None:
    service = services["collector"]
    assert "entrypoint" not in service, "compose passes arguments to the image's `firsttoken` entrypoint"
    for shell_env, expected_token in (({}, None), ({collector_config.ENV_TOKEN: TOKEN}, TOKEN)):
        clear_collector_environment(monkeypatch)
        for key, value in environment(service, shell_env).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv(collector_config.ENV_DATA_DIR, str(tmp_path / "data"))
        assert cli.main(list(service["command"])) == 0
        config = recorded.pop()
        assert config.host == "0.0.0.0"
        assert config.migrate_on_start is False
        assert (config.clickhouse.host, config.clickhouse.database) == ("clickhouse", DATABASE)
        assert config.token == expected_token, "FIRSTTOKEN_COLLECTOR_TOKEN from the shell turns on bearer auth"


def test_compose_migrate_command_parses_with_the_real_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, services: dict[str, dict[str, Any]]
) -> None:
    from firsttoken_collector import schema, storage

    calls: list[dict[str, Any]] = []

    class _Client:
        def close(self) -> None:
            pass

    def fake_migrate(client: Any, **kwargs: Any) -> list[str]:
        calls.append(kwargs)
        return ["0001_otel_traces"]

    monkeypatch.setattr(storage, "connect", lambda target, **_: _Client())
    monkeypatch.setattr(schema, "migrate", fake_migrate)
    retention: list[dict[str, Any]] = []
    monkeypatch.setattr(schema, "apply_retention", lambda client, **kwargs: retention.append(kwargs) or [])
    service = services["migrate"]
    clear_collector_environment(monkeypatch)
    for key, value in environment(service).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(collector_config.ENV_DATA_DIR, str(tmp_path))
    assert cli.main(list(service["command"])) == 0
    (call,) = calls
    assert call["database"] == DATABASE
    assert call["cluster"] is None
    assert call["ttl_days"] == int(environment(service).get(collector_config.ENV_TTL_DAYS, "30"))
    assert [r["ttl_days"] for r in retention] == [call["ttl_days"]], "the configured retention is applied"
