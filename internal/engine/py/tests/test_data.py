import numpy as np
import pytest

from vulntune_engine import data


def test_order_is_a_function_of_seed_and_step():
    lengths = [5, 9, 3, 7, 11, 2, 8, 6, 4, 10]
    a, b = data.Order(lengths, 2, 40, seed=3), data.Order(lengths, 2, 40, seed=3)
    steps = range(1, 21)
    assert [a.batch(s) for s in reversed(steps)][::-1] == [b.batch(s) for s in steps]
    assert data.Order(lengths, 2, 40, seed=4).batch(1) != a.batch(1) or data.Order(lengths, 2, 40, seed=4).batch(2) != a.batch(2)


def test_order_draws_every_example_once_an_epoch():
    lengths = list(range(1, 17))
    o = data.Order(lengths, 4, 16, seed=1)
    drawn = sorted(i for s in range(1, 5) for i in o.batch(s))
    assert drawn == list(range(16))


def test_pad_gathers_supervised_positions_in_buckets():
    rows = [([1, 2, 3, 4, 5], [0, 0, 1, 1, 1]), ([6, 7, 8], [0, 1, 1])]
    (inputs, targets, mask), n = data.pad(rows, [0, 1], 64)
    assert n == 8 and inputs.shape == targets.shape == mask.shape == (2, 32)
    assert float(mask.sum()) == 5
    (inputs, sel, tgt, w), _ = data.pad(rows, [0, 1], 64, gather=True)
    assert sel.shape[0] == data.GATHER_BUCKET and float(w.sum()) == 5
    flat_targets = np.array(targets).reshape(-1)
    assert list(np.array(tgt)[:5]) == list(flat_targets[np.array(sel)[:5]])


@pytest.mark.parametrize("longest,width", [(33, 32), (34, 63), (64, 63)])
def test_width_is_a_multiple_of_32_plus_one_within_max_len(longest, width):
    # Rows arrive cut to max_len by tokenize_split; a batch pads to the
    # next 32 + 1 (inputs and targets are one shorter), at most max_len.
    rows = [(list(range(longest)), [1] * longest)]
    (inputs, _, _), _ = data.pad(rows, [0], 64)
    assert inputs.shape[1] == width


def test_tokenize_split_counts_cut_rows_and_the_longest(monkeypatch, events):
    # encode is the chat template's work; here each row is its full length.
    def encode(_tok, n, max_len):
        return list(range(n))[:max_len], [1] * min(n, max_len), n, n

    monkeypatch.setattr(data, "encode", encode)
    rows, truncated, longest = data.tokenize_split(None, [5, 12, 8, 10], 10, "train")
    assert truncated == 1 and longest == 12
    assert [len(ids) for ids, _ in rows] == [5, 10, 8, 10]
    import json

    metric = json.loads(events.getvalue().splitlines()[-1])
    assert metric["truncated"] == 1 and metric["longest_full_length"] == 12
    assert metric["supervised_tokens_lost"] == 2
