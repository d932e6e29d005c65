"""From an accepted OTLP request to rows in ClickHouse: write-ahead log, bounded queue, batching writer."""
