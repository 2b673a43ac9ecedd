"""The answer op's pure parts: the shared prefix and loop detection."""

import pytest

from vulntune_engine.answer import common_prefix, repeating_tail


@pytest.mark.parametrize(
    "seqs,want",
    [
        ([], 0),
        ([[1, 2, 3]], 3),
        ([[1, 2, 3], [1, 2, 4]], 2),
        ([[1, 2, 3], [1, 2]], 2),
        ([[1, 2, 3], [1, 2, 3, 4], [1, 5]], 1),
        ([[9], [1]], 0),
    ],
)
def test_common_prefix(seqs, want):
    assert common_prefix(seqs) == want


def test_repeating_tail_finds_loops():
    intro = list(range(100, 140))
    unit = [7, 8, 9, 10, 11]
    looped = intro + unit * 20  # 100 tokens of loop after 40 of answer
    span = repeating_tail(looped)
    # Everything after the loop's first round is the repeat.
    assert span == 95
    assert looped[: len(looped) - span] == intro + unit


@pytest.mark.parametrize(
    "tokens",
    [
        list(range(300)),  # no repeat at all
        list(range(40)) + [5, 6] * 31,  # 62 tokens of loop: under the span
        [1, 2, 3] * 5 + list(range(10, 200)),  # a loop that ended
        # a period longer than the longest looked for
        list(range(65)) * 3,
    ],
)
def test_repeating_tail_leaves_answers(tokens):
    assert repeating_tail(tokens) == 0


def test_repeating_tail_long_period_needs_rounds():
    unit = list(range(50))
    # 50-token period: needs (3 - 1) * 50 = 100 repeating tokens.
    assert repeating_tail([999] + unit * 2 + unit[:49]) == 0
    assert repeating_tail([999] + unit * 3) == 100
