"""retire.py: answers end as mlx-lm's GenerationBatch would end them, and
finished rows leave the batch together."""

import pytest

from vulntune_engine.retire import Retirer, answer_end


@pytest.mark.parametrize(
    "token,n,want",
    [
        (7, 3, None),
        (2, 3, "stop"),  # end of sequence: not part of the answer
        (7, 5, "length"),  # the max_tokens-th token
        (2, 5, "stop"),  # end of sequence at the bound is still a stop
    ],
)
def test_answer_end(token, n, want):
    assert answer_end(token, n, {2}, 5) == want


class FakeGen:
    def __init__(self):
        self.removed = []

    def remove(self, uids):
        self.removed.append(list(uids))


def test_retires_a_share_of_the_batch_together():
    gen = FakeGen()
    r = Retirer(gen, share=4)
    # A batch of 8: finished rows wait until they are a quarter of it.
    r.retire(1)
    r.step(rows=8)
    assert gen.removed == []
    r.retire(2)
    r.step(rows=8)
    assert gen.removed == [[1, 2]] and r.removals == 1
    # Three rows left: one finished row is a share of them at once.
    r.retire(3)
    r.step(rows=3)
    assert gen.removed == [[1, 2], [3]]
    r.step(rows=2)
    assert r.removals == 2  # nothing finished, nothing removed


def test_a_finished_row_in_the_last_slot_leaves_at_once():
    # A batch of 1 with prompts waiting: the finished row holds the only
    # slot, so it must go the step it ends or nothing else ever runs.
    gen = FakeGen()
    r = Retirer(gen)
    r.retire(0)
    r.step(rows=1)
    assert gen.removed == [[0]]
