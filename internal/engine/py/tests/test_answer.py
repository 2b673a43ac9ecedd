"""The answer op's pure part: the prompts' shared prefix."""

import pytest

from vulntune_engine.answer import common_prefix


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

