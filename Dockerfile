# The firsttoken collector: OTLP in (HTTP :4318, gRPC :4317), ClickHouse out.
#
#   docker build -t firsttoken-collector .
#   docker run -p 127.0.0.1:4318:4318 -e FIRSTTOKEN_COLLECTOR_TOKEN=<16+ chars> firsttoken-collector
#
# With no FIRSTTOKEN_CLICKHOUSE_URL it stores into embedded ClickHouse (chDB) under the data volume. It binds 0.0.0.0
# inside the container, which the collector refuses without FIRSTTOKEN_COLLECTOR_TOKEN or `--insecure`: the image does
# not choose for you. docker-compose.yml and docs/deployment.md show both ways.
FROM python:3.11.15-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the wheel is built from (see [tool.hatch.build.targets.wheel] in pyproject.toml): the SDK package, the
# collector package (with its SQL migrations), and the metadata files hatchling reads.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY instrumentation/firsttoken ./instrumentation/firsttoken
COPY collector/firsttoken_collector ./collector/firsttoken_collector
RUN pip install ".[collector]" \
    && rm -rf /src \
    && groupadd --system --gid 10001 firsttoken \
    && useradd --system --uid 10001 --gid firsttoken --home-dir /var/lib/firsttoken --shell /usr/sbin/nologin firsttoken \
    && mkdir -p /var/lib/firsttoken \
    && chown firsttoken:firsttoken /var/lib/firsttoken

# Write-ahead log (wal/), quarantine/, collector.json, and embedded ClickHouse when no server is configured. Each
# replica needs its own: the collector locks the directory.
ENV FIRSTTOKEN_DATA_DIR=/var/lib/firsttoken
VOLUME ["/var/lib/firsttoken"]
WORKDIR /var/lib/firsttoken
USER firsttoken:firsttoken

# OTLP/gRPC, OTLP/HTTP (the HTTP port also serves /healthz, /readyz, /metrics).
EXPOSE 4317 4318

# /healthz is liveness and needs no token (slim has no curl: the standard library does it).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + (os.environ.get('FIRSTTOKEN_COLLECTOR_HTTP_PORT') or '4318') + '/healthz', timeout=4)"]

# The collector handles SIGTERM itself: new requests get 503, pending data is flushed for up to --grace seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["firsttoken"]
CMD ["collector", "--host", "0.0.0.0"]
