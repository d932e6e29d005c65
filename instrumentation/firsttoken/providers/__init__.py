"""Provider plug-ins: each translates one SDK's wire shapes into the core's `RequestInfo` / `CallFacts`."""
