"""`python -m firsttoken.testing.fake_provider`: serve the fake provider (see `cli.run`)."""

from firsttoken.testing.fake_provider.cli import run

raise SystemExit(run())
