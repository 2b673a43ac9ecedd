"""pytest for vulntune's engine package, run in the engine's venv by
`make test` (target pyunit): the package is imported from the source tree."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


import io  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def events(monkeypatch):
    """The protocol's event stream, captured."""
    from vulntune_engine import protocol

    out = io.StringIO()
    monkeypatch.setattr(protocol, "_events", out)
    return out
