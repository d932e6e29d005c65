"""The public surface is deliberate: exported names are listed, sorted, and all importable."""

from __future__ import annotations

import inspect

import firsttoken


def test_exported_members() -> None:
    public = {
        name
        for name in dir(firsttoken)
        if (not name.startswith("_") or name == "__version__") and not inspect.ismodule(getattr(firsttoken, name))
    }
    assert sorted(firsttoken.__all__) == firsttoken.__all__
    assert set(firsttoken.__all__) == public
    for name in firsttoken.__all__:
        assert getattr(firsttoken, name) is not None
