"""OTLP decoding: request bodies (protobuf or JSON) into rows of the exporter-compatible tables."""
