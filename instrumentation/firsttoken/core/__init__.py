"""The provider-independent core: one call's span lifecycle, stream and response proxies, usage, metrics.

Providers (`firsttoken.providers.*`) only translate their SDK's request bodies, responses and stream events into
`CallFacts`; everything that turns facts into telemetry lives here, once, for sync and async alike.
"""
