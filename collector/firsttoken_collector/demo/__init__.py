"""`firsttoken demo`: the whole pipeline on one machine in about a minute (fake provider, real SDKs, collector,
embedded ClickHouse, the on-call summary)."""
