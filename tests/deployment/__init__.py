"""The docker compose deployment, checked without Docker."""
