"""The repetition stop: the incremental check agrees with a direct reading
of its rule, stops the loops evaluation saw, and leaves varied text alone."""

import random

import pytest

from vulntune_engine.protocol import WorkerError
from vulntune_engine.repeat import CycleStop, first_stop, stop_from


def brute_period(tokens, max_period, min_repeats, min_tokens):
    """The smallest period p whose min_repeats copies end tokens, spanning
    at least min_tokens (the tail of length max(p * min_repeats, min_tokens)
    is p-periodic), or 0."""
    n = len(tokens)
    for p in range(1, max_period + 1):
        span = max(p * min_repeats, min_tokens)
        if span > n:
            continue
        tail = tokens[n - span :]
        if all(tail[i] == tail[i - p] for i in range(p, span)):
            return p
    return 0


@pytest.mark.parametrize("seed,alphabet", [(1, 2), (2, 3), (3, 5), (4, 50)])
@pytest.mark.parametrize("settings", [(1, 2, 1), (4, 3, 6), (8, 3, 12), (16, 4, 8)])
def test_incremental_matches_rule(seed, alphabet, settings):
    rng = random.Random(seed)
    guard = CycleStop(*settings)
    seq = []
    for _ in range(400):
        # Runs of copies make cycles common enough to test both answers.
        if seq and rng.random() < 0.3:
            p = rng.randint(1, min(len(seq), settings[0] + 2))
            tok = seq[-p]
        else:
            tok = rng.randrange(alphabet)
        seq.append(tok)
        assert guard.push(tok) == brute_period(seq, *settings), (seq[-40:], settings)


def test_stops_a_repeated_line():
    line = list(range(100, 131))  # a 31-token sentence, as seen in tuned answers
    answer = list(range(7, 60)) + line * 5
    at = first_stop(answer, (256, 3, 48))
    # Third copy complete: 53 tokens of prose, then three lines.
    assert at == 53 + 3 * len(line)


def test_repeated_keeps_the_first_round():
    """explain keeps an answer stopped in a loop up to the end of the
    loop's first round: what it said once, not the copies."""
    intro = list(range(100, 140))
    unit = [7, 8, 9, 10, 11]
    guard = CycleStop(256, 3, 48)
    seq = []
    for tok in intro + unit * 20:
        seq.append(tok)
        period = guard.push(tok)
        if period:
            break
    assert period == len(unit)
    # 48 tokens of loop: its first round and 43 repeating it.
    assert len(seq) == len(intro) + 48
    assert guard.repeated(period) == 43
    assert seq[: len(seq) - guard.repeated(period)] == intro + unit
    assert guard.repeated(0) == 0 and guard.repeated(257) == 0


@pytest.mark.parametrize(
    "name,tokens",
    [
        ("five identical tokens", [1, 2, 3] + [9] * 5 + [4, 5]),
        ("a span repeated twice", list(range(40)) + list(range(40)) + [99]),
        ("short cycle under min_tokens", [5, 6] * 20),
    ],
)
def test_leaves_varied_text_alone(name, tokens):
    assert first_stop(tokens, (256, 3, 48)) == -1, name


def test_grows_past_capacity():
    guard = CycleStop(4, 3, 6, capacity=1)
    for t in range(500):
        assert guard.push(t) == 0
    assert len(guard) == 500


@pytest.mark.parametrize(
    "req,want",
    [
        ({}, None),
        ({"repeat_stop": None}, None),
        ({"repeat_stop": {"max_period": 256, "min_repeats": 3, "min_tokens": 48}}, (256, 3, 48)),
    ],
)
def test_stop_from(req, want):
    assert stop_from(req) == want


@pytest.mark.parametrize(
    "req",
    [
        {"repeat_stop": {"max_period": 256}},
        {"repeat_stop": {"max_period": "x", "min_repeats": 3, "min_tokens": 48}},
    ],
)
def test_stop_from_rejects(req):
    with pytest.raises(WorkerError):
        stop_from(req)


@pytest.mark.parametrize("settings", [(0, 3, 48), (256, 1, 48), (256, 3, 0)])
def test_rejects_settings(settings):
    with pytest.raises(WorkerError):
        CycleStop(*settings)
