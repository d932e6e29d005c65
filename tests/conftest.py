"""Suite-wide settings: internal faults raise under test (they are swallowed in production)."""

from __future__ import annotations

import os

os.environ.setdefault("FIRSTTOKEN_STRICT", "1")
