"""Grounded regeneration resumed at free decoding's first intervention
(the evaluate op's "prefixes", fed from the observing pass's "prefix_ids")
answers as grounded decoding from scratch does: on a tiny random model
(internal/engine/testdata/make_tiny_model.py), every answer, its token
count, finish reason and grounding stats, with the repetition stop on.

The tiny model's babble names no identifier, so the checker is replaced by
one the babble trips: a text may hold at most MAX_E letters "e". It reads
the whole answer, as the real one reads its tail, so a processor resumed
with the wrong text (or none) answers otherwise."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("mlx.core")
pytest.importorskip("mlx_lm")

from vulntune_engine import evaluate  # noqa: E402
from vulntune_engine.grounded import Ground  # noqa: E402

MAKE_TINY = os.path.join(os.path.dirname(__file__), "..", "..", "testdata", "make_tiny_model.py")
MAX_E = 4

USERS = [
    "What is SQL injection?",
    "Explain cross-site scripting.",
    "Upgrade the package to the fixed version.",
    "What is the finding about?",
    "Rerun the scanner after the remediation.",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    subprocess.run([sys.executable, MAKE_TINY, "llama", str(out)], check=True, capture_output=True, timeout=300)
    return str(out)


@pytest.fixture
def few_e(monkeypatch):
    def check(self, text, final=False):
        return text.lower().count("e") <= MAX_E

    monkeypatch.setattr(Ground, "check", check)


def run_op(events, req):
    """op_evaluate's items by index and its result."""
    start = events.tell()
    result = evaluate.op_evaluate(req)
    events.seek(start)
    items = {}
    for line in events.read().splitlines():
        ev = json.loads(line)
        if ev["event"] == "item":
            items[ev["index"]] = ev
    return items, result


def request(model, **kw):
    examples = [
        {"messages": [{"role": "system", "content": "You are a security assistant."}, {"role": "user", "content": u},
                      {"role": "assistant", "content": "Upgrade the package."}]}
        for u in USERS
    ]
    req = {
        "model": model,
        "examples": examples,
        "max_tokens": 64,
        "max_seq_length": 512,
        "batch_size": 3,
        "repeat_stop": {"max_period": 16, "min_repeats": 3, "min_tokens": 12},
        "grounds": ["You are a security assistant.\n" + u for u in USERS],
    }
    req.update(kw)
    return req


def test_resumed_regeneration_answers_as_from_scratch(tiny, events, few_e):
    free, _ = run_op(events, request(tiny, grounding="observe"))
    prefixes = [free[i].get("prefix_ids", []) for i in range(len(USERS))]
    for i, it in free.items():
        at = it["grounding"]["first_intervention"]
        assert ("prefix_ids" in it) == (at is not None)
        assert at is None or len(it["prefix_ids"]) == at
    assert any(prefixes), "the babble should trip the checker past its first token somewhere"

    scratch, s_sum = run_op(events, request(tiny, grounding="enforce", skip_scoring=True))
    resumed, r_sum = run_op(events, request(tiny, grounding="enforce", skip_scoring=True, prefixes=prefixes))
    fields = ("text", "generation_tokens", "finish_reason", "grounding", "prompt_tokens")
    for i, p in enumerate(prefixes):
        assert {k: resumed[i][k] for k in fields} == {k: scratch[i][k] for k in fields}, f"example {i}, prefix of {len(p)}"
        if p:
            # Up to the first intervention grounded decoding is free
            # decoding; resumed, it intervenes at once.
            assert scratch[i]["grounding"]["first_intervention"] == len(p)
            assert resumed[i]["grounding"]["first_intervention"] == len(p)
            assert resumed[i]["text"] != free[i]["text"]
            assert "prefix_ids" not in resumed[i]
    assert r_sum["resumed_tokens"] == sum(map(len, prefixes))
    assert r_sum["generation_tokens"] == s_sum["generation_tokens"] - r_sum["resumed_tokens"]
    assert s_sum["resumed_tokens"] == 0


@pytest.mark.parametrize(
    "prefixes,want",
    [
        ([[1]], "1 prefixes for 5 examples"),
        ([[1]] * 4 + [list(range(64))], "prefix 4: 64 tokens leave none of max_tokens 64"),
        ([[1]] * 4 + [[2, -3]], "prefix 4: token ids must be non-negative integers"),
    ],
)
def test_bad_prefixes(tiny, events, prefixes, want):
    with pytest.raises(evaluate.WorkerError, match=want):
        evaluate.op_evaluate(request(tiny, grounding="enforce", skip_scoring=True, prefixes=prefixes))


@pytest.mark.parametrize("guard", [None, {"max_period": 8, "min_repeats": 3, "min_tokens": 8, "max_bans": 12}])
def test_replayed_observation_is_the_observing_pass(tiny, events, few_e, guard):
    # Free answers decoded without grounds, their ids replayed by the
    # observe op, report what decoding while observing reports: the same
    # answers, the same first interventions and prefixes, the same stats.
    kw = {"loop_guard": guard} if guard else {}
    observed, _ = run_op(events, request(tiny, grounding="observe", **kw))
    plain = request(tiny, return_ids=True, **kw)
    grounds = plain.pop("grounds")
    free, _ = run_op(events, plain)
    assert any("prefix_ids" in it for it in observed.values()), "the babble should trip the checker somewhere"
    if guard:
        assert any(it["loop_guard"]["bans"] for it in observed.values()), "the guard should steer the babble somewhere"
    for i in range(len(USERS)):
        assert free[i]["text"] == observed[i]["text"] and "grounding" not in free[i]
        assert len(free[i]["ids"]) == free[i]["generation_tokens"]
    answers = [{"ids": free[i]["ids"], "finish_reason": free[i]["finish_reason"]} for i in range(len(USERS))]
    start = events.tell()
    out = evaluate.op_observe({"model": tiny, "max_tokens": 64, "grounds": grounds, "answers": answers})
    for it in out["items"]:
        i = it["index"]
        assert it["grounding"] == observed[i]["grounding"], f"example {i}"
        assert it.get("prefix_ids") == observed[i].get("prefix_ids"), f"example {i}"
    events.seek(start)
    assert '"stage": "observe"' in events.read()


def test_replay_sees_the_end_of_sequence(tiny, events, monkeypatch):
    # An answer that may not end where it ended is changed at its end:
    # the end-of-sequence step is replayed too.
    def check(self, text, final=False):
        return not final

    monkeypatch.setattr(Ground, "check", check)
    out = evaluate.op_observe({"model": tiny, "max_tokens": 64, "grounds": ["g", "g"],
                               "answers": [{"ids": [5, 6, 7], "finish_reason": "stop"}, {"ids": [5, 6, 7], "finish_reason": "length"}]})
    stopped, cut = out["items"]
    assert stopped["grounding"]["first_intervention"] == 3 and stopped["prefix_ids"] == [5, 6, 7]
    assert stopped["grounding"]["steps"] == 4
    assert cut["grounding"]["first_intervention"] is None and "prefix_ids" not in cut
    assert cut["grounding"]["steps"] == 3


@pytest.mark.parametrize(
    "req,want",
    [
        ({"grounds": ["g"], "answers": [{"ids": [1, -2], "finish_reason": "stop"}]}, "answer 0: ids must be"),
        ({"grounds": ["g"], "answers": [{"ids": [1], "finish_reason": "done"}]}, "finish_reason 'done'"),
        ({"grounds": ["g", "h"], "answers": [{"ids": [1], "finish_reason": "stop"}]}, "2 grounds for 1 examples"),
        ({"answers": [{"ids": [1], "finish_reason": "stop"}]}, "observe needs grounds"),
    ],
)
def test_bad_observe_requests(tiny, events, req, want):
    with pytest.raises(evaluate.WorkerError, match=want):
        evaluate.op_observe(dict(req, model=tiny, max_tokens=64))
