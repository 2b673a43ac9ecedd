"""Grounded decoding (vulntune_engine/grounded.py): the checker's verdicts
on partial and complete answers, and the processor driven step by step with
a toy tokenizer whose model prefers invented identifiers. Agreement with
Go's evaluate.UngroundedIdents is tested from Go
(internal/evaluate/grounded_test.go)."""

import mlx.core as mx
import pytest

from vulntune_engine.grounded import Ground, GroundedProcessor, ungrounded

GROUND = (
    "Finding: org.example:lib 1.3.5 in web/build.gradle, CVE-2021-44228, CWE-352, fixed in 1.3.14.\n"
    "See https://example.org/advisory/42 for details."
)


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("Upgrade to 1.3.14", False, True),
        ("Upgrade to 1.3.1", False, True),  # on its way to 1.3.14
        ("Upgrade to 1.3.1 now", False, False),  # 1.3.1 ended: invented
        ("Upgrade to 1.3.1", True, False),  # the answer ends there
        ("Upgrade to 1.3.9", False, False),  # no grounded version starts so
        ("Upgrade to v1.3.14.", False, True),
        ("It is CWE-3", False, True),  # CWE-352 may follow
        ("It is CWE-3.", False, False),  # the truncated CWE-3 of issue 16
        ("It is CWE-2025", False, False),  # a CVE year as a CWE id
        ("It is CWE 35", False, True),
        ("CVE-2021-4422", False, True),
        ("CVE-2021-44229 ", False, False),
        ("Edit web/build.gr", False, True),
        ("Edit web/build.gradle and", False, True),
        ("Edit app/build.gradle and", False, False),  # a mangled path
        ("see https://example.org/adv", False, True),
        ("see https://example.org/advisory/42/ now", False, True),
        ("see https://example.org/advisory/43 now", False, False),
        ("see https://cwe.mitre.org/data/definitions/352.html", True, True),
        ("see https://cwe.mitre.org/data/definitions/79.html", True, False),
        ("Plain prose, no identifiers.", True, True),
    ],
)
def test_check(text, final, ok):
    assert Ground(GROUND).check(text, final=final) is ok


def test_ungrounded_sorted_by_text_with_kinds():
    got = ungrounded("Use 2.0.1 in src/Main.java, CWE-79; https://evil.example/x", GROUND)
    assert got == [
        ("2.0.1", "version"),
        ("CWE-79", "CWE"),
        ("https://evil.example/x", "URL"),
        ("src/Main.java", "path"),
    ]


class ToyTokenizer:
    """Tokens are whole strings; decode joins them."""

    def __init__(self, vocab):
        self.vocab = vocab

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


def run(proc, vocab, prefs, steps):
    """Greedy decoding of a model whose logits at step i rank prefs[i]
    first, in that order, and every other token below."""
    tokens, context = [], [0]
    for i in range(steps):
        logits = [-10.0] * len(vocab)
        for r, t in enumerate(prefs[i]):
            logits[t] = 10.0 - r
        out = proc(mx.array(context), mx.array([logits]))
        tok = int(mx.argmax(out[0]).item())
        tokens.append(tok)
        context.append(tok)
    return tokens


def test_processor_replaces_an_invented_version():
    vocab = ["<p>", "Upgrade to ", "1.3.", "9", "14", ".", "</s>"]
    tok = ToyTokenizer(vocab)
    prefs = [[1], [2], [3, 4], [5], [6]]
    free = run(GroundedProcessor(tok, GROUND, observe=True, eos_ids=[6]), vocab, prefs, 5)
    assert tok.decode(free) == "Upgrade to 1.3.9.</s>"
    proc = GroundedProcessor(tok, GROUND, eos_ids=[6])
    got = run(proc, vocab, prefs, 5)
    assert tok.decode(got) == "Upgrade to 1.3.14.</s>"
    assert proc.interventions == 1 and proc.first_intervention == 2 and proc.stuck == 0


def test_processor_leaves_grounded_answers_alone():
    vocab = ["<p>", "Upgrade to ", "1.3.", "14", ".", "</s>"]
    tok = ToyTokenizer(vocab)
    prefs = [[1], [2], [3], [4], [5]]
    observer = GroundedProcessor(tok, GROUND, observe=True, eos_ids=[5])
    proc = GroundedProcessor(tok, GROUND, eos_ids=[5])
    assert run(observer, vocab, prefs, 5) == run(proc, vocab, prefs, 5)
    assert observer.first_intervention is None and proc.interventions == 0


def test_processor_walks_past_top_k_then_ends_when_nothing_passes():
    # Only "2" continues "CWE-35" to a grounded id, and it ranks fifth.
    vocab = ["<p>", "CWE-35", "4", "9", " ", "2", "</s>"]
    tok = ToyTokenizer(vocab)
    proc = GroundedProcessor(tok, GROUND, top_k=2, eos_ids=[6])
    got = run(proc, vocab, [[1], [4, 3, 6, 2, 5]], 2)
    assert tok.decode(got) == "CWE-352"
    assert proc.deep == 1 and proc.stuck == 0
    # Without a "2" nothing continues it, and the answer ends there.
    # ("CWE-35CWE-35" would pass: glued to a word, neither is a CWE id.)
    vocab = ["<p>", " CWE-35", "4", "9", " ", "</s>"]
    tok = ToyTokenizer(vocab)
    proc = GroundedProcessor(tok, GROUND, top_k=2, eos_ids=[5])
    got = run(proc, vocab, [[1], [4, 3, 2]], 2)
    assert tok.decode(got) == " CWE-35</s>"
    assert proc.stuck == 1
