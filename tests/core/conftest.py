from __future__ import annotations

import pytest

from tiercrawl.core import _walk, extract, walk


@pytest.fixture(params=["compiled", "python"])
def each_walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs a test with the compiled walk, then again with the Python one (eggs use it)."""
    chosen = _walk.walk if request.param == "compiled" else walk.walk
    monkeypatch.setattr(extract, "walk", chosen)
