"""Did the model's output hold up? Tool-call arguments against the tools' schemas, structured outputs against the
requested schema. Runs once per finished call, only for calls that have tool calls or asked for a schema."""
