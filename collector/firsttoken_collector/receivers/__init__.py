"""The OTLP receivers of `firsttoken collector`: OTLP/HTTP (:4318) and OTLP/gRPC (:4317)."""
