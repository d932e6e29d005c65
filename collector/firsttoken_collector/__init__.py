"""firsttoken collector: OTLP receivers, the ClickHouse writer, schema migrations and the CLI."""
