import io
import json

import pytest

from vulntune_engine import protocol
from vulntune_engine.protocol import Request, WorkerError


def test_request_refuses_a_missing_key():
    req = Request({"steps": 3})
    assert req["steps"] == 3
    assert req.get("adapter") is None  # optional inputs stay optional
    with pytest.raises(WorkerError) as e:
        req["batch_size"]
    assert e.value.kind == "BadRequest"
    assert "batch_size" in str(e.value)


def run_with(monkeypatch, fn, request):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    return protocol.run(fn)


def test_run_emits_one_result(monkeypatch, events):
    assert run_with(monkeypatch, lambda req: {"echo": req["x"]}, {"x": 7}) == 0
    assert [json.loads(l) for l in events.getvalue().splitlines()] == [{"echo": 7, "event": "result"}]


def test_a_missing_setting_is_a_bad_request(monkeypatch, events):
    code = run_with(monkeypatch, lambda req: {"n": req["max_tokens"]}, {"x": 7})
    ev = json.loads(events.getvalue())
    assert code == 2 and ev["event"] == "error" and ev["type"] == "BadRequest"


def test_an_unexpected_failure_exits_1(monkeypatch, events):
    code = run_with(monkeypatch, lambda req: 1 / 0, {})
    assert code == 1 and json.loads(events.getvalue())["type"] == "ZeroDivisionError"


def test_stop_signal_is_remembered(monkeypatch):
    import signal

    monkeypatch.setattr(protocol, "_stop_signal", None)
    assert protocol.stop_requested() is None
    protocol._on_signal(signal.SIGTERM, None)
    assert protocol.stop_requested() == "SIGTERM"
