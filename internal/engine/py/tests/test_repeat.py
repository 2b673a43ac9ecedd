"""The repetition stop: the incremental check agrees with a direct reading
of its rule, stops the loops evaluation saw, and leaves varied text alone."""

import random
import re

import pytest

from vulntune_engine.protocol import WorkerError
from vulntune_engine.repeat import (
    CycleGuard,
    CycleStop,
    ItemRepeat,
    LineRepeat,
    SectionGuard,
    WordRun,
    first_item_ban,
    first_line_ban,
    first_section_ban,
    first_stop,
    first_word_ban,
    guard_for,
    guard_from,
    stop_from,
    word_runs,
)


# Section headings (Go's chat.Headings, two of them left out for brevity)
# and a vocabulary of whole strings that can spell them several ways.
HEADINGS = ["**In short**", "**What it is**", "**Where**", "**Fix**", "**Why it matters**"]
VOCAB = [
    "<eos>", "**", "*", "In", " short", "What", " it", " is", "Where", "Fix", "Why", " matters",
    "\n", "\n\n", "Wh", "y", "at", "- item", " **", "**\n", "\n**", "text", "Fi", "x", "**Fix**",
    " ", " Why", "WHERE", "-", "---", " x", "[x", "\n-",
]


class ToyTokenizer:
    """Tokens are whole strings; decode joins them; "<eos>" ends."""

    eos_token_ids = [0]

    def __init__(self, vocab):
        self.vocab = vocab

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


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


@pytest.mark.parametrize("seed,alphabet", [(5, 2), (6, 3), (7, 9)])
@pytest.mark.parametrize("settings", [(1, 2, 1), (4, 3, 6), (8, 3, 16)])
def test_completing_is_what_would_stop(seed, alphabet, settings):
    """completing() names exactly the tokens whose push would stop the
    answer, with the length of the run each would complete."""
    rng = random.Random(seed)
    guard = CycleStop(*settings)
    seq, fresh = [], alphabet
    for _ in range(200):
        want = set()
        for t in set(range(alphabet)) | set(seq):
            p = brute_period(seq + [t], *settings)
            if p:
                want.add(t)
        got = guard.completing()
        assert {t for t, _ in got} == want, (seq[-30:], settings)
        for t, span in got:
            # The run of the period p: the tail of span tokens is periodic.
            tail = (seq + [t])[-span:]
            assert any(all(tail[i] == tail[i - p] for i in range(p, span)) for p in range(1, settings[0] + 1))
        tok = seq[-rng.randint(1, min(len(seq), settings[0]))] if seq and rng.random() < 0.5 else rng.randrange(alphabet)
        if brute_period(seq + [tok], *settings):
            tok, fresh = fresh, fresh + 1  # a new token: the sequence goes on unstopped
        seq.append(tok)
        assert guard.push(tok) == 0


class _Ctx:
    """A stand-in for mlx-lm's token context: its last token."""

    def __init__(self, last):
        self.last = last

    def __getitem__(self, i):
        import mlx.core as mx

        return mx.array([self.last])[i]


def _guided(guard, start, want, vocab=12):
    """Decode greedily with guard after start (the prompt's last token),
    the model always preferring want[i] at step i (then 0, 1, ...): the
    tokens the guard lets through."""
    import mlx.core as mx

    out, last = [], start
    for pref in want:
        logits = mx.array([[5.0 if t == pref else -float(t) for t in range(vocab)]])
        row = guard(_Ctx(last), logits).reshape(-1)
        last = int(mx.argmax(row).item())
        out.append(last)
    return out


def test_guard_steers_out_of_a_loop():
    guard = CycleGuard((8, 3, 6), prompt=[1, 2, 3])
    got = _guided(guard, 3, [7] * 10)
    # Five 7s pass (under min_tokens 6); the sixth is masked and the next
    # choice, 0, taken; then 7 again from a fresh run.
    assert got[:6] == [7, 7, 7, 7, 7, 0]
    assert guard.bans >= 1 and guard.first_ban == 5
    assert guard.stats() == {"bans": guard.bans, "section_bans": 0, "line_bans": 0, "line_ends": 0, "word_bans": 0, "item_bans": 0, "first_ban": 5, "gave_up": False}


def test_guard_lets_a_run_of_the_prompt_through():
    """A run the finding itself holds (six 7s) is copied whole."""
    guard = CycleGuard((8, 3, 6), prompt=[1, 7, 7, 7, 7, 7, 7, 2])
    got = _guided(guard, 2, [7] * 6 + [4])
    assert got == [7] * 6 + [4]
    assert guard.bans == 0 and guard.first_ban is None


def test_guard_leaves_varied_answers_alone():
    guard = CycleGuard((256, 3, 16), prompt=[])
    rng = random.Random(3)
    want = [rng.randrange(12) for _ in range(80)]
    assert _guided(guard, 0, want) == want
    assert guard.stats() == {"bans": 0, "section_bans": 0, "line_bans": 0, "line_ends": 0, "word_bans": 0, "item_bans": 0, "first_ban": None, "gave_up": False}


def test_guard_resumes_after_a_prefix():
    """Resumed after five 7s, the first step already completes the run."""
    guard = CycleGuard((8, 3, 6))
    guard.resume([7] * 4)
    # The first call sees the prompt's last token (9 here); answer tokens
    # are pushed from the second call on, so push the fifth 7 as a step.
    got = _guided(guard, 9, [7, 7])
    assert got == [7, 0]
    assert guard.first_ban == 5


@pytest.mark.parametrize(
    "req,n",
    [
        ({}, None),
        ({"loop_guard": {"max_period": 256, "min_repeats": 3, "min_tokens": 16}}, 2),
        ({"loop_guard": {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": HEADINGS}}, 2),
        ({"loop_guard": {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": HEADINGS,
                         "lists": ["**Where**"], "line_span": 4}}, 2),
        ({"loop_guard": {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "item_span": 3}}, 2),
    ],
)
def test_guard_from(req, n):
    spec = guard_from(req)
    got = None if spec is None else [guard_for(spec, p, 10, ToyTokenizer(VOCAB)) for p in [[1, 2], [3]]]
    assert (got is None) if n is None else len(got) == n


def test_guard_from_rejects():
    with pytest.raises(WorkerError):
        guard_from({"loop_guard": {"max_period": 0, "min_repeats": 3, "min_tokens": 16}})


def test_guard_gives_up_after_max_bans():
    """A model that keeps coming back to its loop is stuck: after max_bans
    the guard masks nothing more and says it gave up."""
    guard = CycleGuard((8, 3, 6), max_bans=2)
    got = _guided(guard, 3, [7] * 30)
    assert guard.bans == 2 and guard.gave_up
    assert guard.stats() == {"bans": 2, "section_bans": 0, "line_bans": 0, "line_ends": 0, "word_bans": 0, "item_bans": 0, "first_ban": 5, "gave_up": True}
    # Past the second ban it lets the loop through.
    assert got[-6:] == [7] * 6


@pytest.mark.parametrize(
    "spec",
    [{"max_period": 256, "min_repeats": 3, "min_tokens": 16, "max_bans": -1},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "max_bans": "x"},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": "**Fix**"},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": ["**Fix**", " "]},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": ["**Fix**\n"]},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "sections": ["**Fix**"], "lists": ["**Where**"]},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "line_span": 1},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "line_span": -2},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "line_span": "x"},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "word_run": 1},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "word_run": -3},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "word_run": "x"},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "item_span": 1},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "item_span": -8},
     {"max_period": 256, "min_repeats": 3, "min_tokens": 16, "item_span": "x"}],
)
def test_guard_from_rejects_max_bans(spec):
    with pytest.raises(WorkerError):
        guard_from({"loop_guard": spec})



def _ids(*words):
    return [VOCAB.index(w) for w in words]


def _section_rule(*words, lists=()):
    rule = SectionGuard(ToyTokenizer(VOCAB), HEADINGS, lists)
    for t in _ids(*words):
        rule.push(t)
    return rule


ANSWER = ("**", "In", " short", "**", "\n", "text", "\n\n", "**", "Why", " it", " matters", "**", "\n", "text", "\n\n")


@pytest.mark.parametrize(
    "before,token,banned",
    [
        (ANSWER, "**", False),  # "**What it is**" is still to come
        (ANSWER + ("**",), "Why", True),
        (ANSWER + ("**",), "Wh", False),  # "**What" may follow
        (ANSWER + ("**", "Wh"), "y", True),
        (ANSWER + ("**", "Wh"), "at", False),
        (ANSWER + ("**",), "What", False),
        (ANSWER + ("**",), "In", True),
        (ANSWER, " **", False),
        (ANSWER + (" **",), "Why", True),  # blanks before it aside
        (ANSWER + ("**",), " Why", True),  # and within: "** Why it matters**"
        (ANSWER + ("**", " "), "Why", True),
        (ANSWER + ("**",), " ", False),
        (ANSWER + ("**", " "), " ", True),  # but no run of blanks
        (ANSWER + ("**", "Wh"), " ", True),  # nor one within a word
        (("**", "Where", "**", "\n", "text", "\n", "**"), "WHERE", True),  # and case
        (("**", "WHERE", "**", "\n", "text", "\n", "**"), "Where", True),  # given as written
        (ANSWER + ("text",), "**", False),  # bold within a line
        (("**", "Fix", "**", "\n", "text"), "\n**", False),  # unused ones remain
        (("**", "Fix", "**", "\n", "text", "\n"), "**Fix**", True),
        (("**", "Fix", "**", "\n", "text", "\n**"), "Fi", True),
        (("**", "Fix"), "**\n", False),  # given only once its line ends
        # Bold lines are headings still to come, nothing else ...
        ((), "**", False),
        (("**",), "text", True),
        (ANSWER + ("**",), "text", True),  # "**Example**" and the like
        (ANSWER + ("**", "Wh"), "text", True),
        (ANSWER + ("**", "What"), "\n", True),  # a heading left half-written
        (ANSWER + ("*",), "text", False),  # a bullet
        (ANSWER + ("- item",), "**", False),  # bold within a line
        # ... and a heading still to come may be written whole.
        (ANSWER + ("**", "What", " it", " is"), "**\n", False),
    ],
)
def test_section_rule(before, token, banned):
    rule = _section_rule(*before)
    assert rule.fails(VOCAB.index(token)) is banned
    assert (VOCAB.index(token) in rule.banned()) is banned


def test_section_rule_once_all_are_given():
    """Every heading given: no line may open with "**"; one star (a
    bullet) may."""
    words = []
    for h in (["In", " short"], ["What", " it", " is"], ["Where"], ["Fix"], ["Why", " it", " matters"]):
        words += ["**", *h, "**", "\n", "text", "\n"]
    rule = _section_rule(*words)
    assert len(rule.given) == len(HEADINGS)
    assert {VOCAB.index(w) for w in ("**", " **", "\n**", "**Fix**")} <= set(rule.banned())
    assert VOCAB.index("*") not in rule.banned() and VOCAB.index("text") not in rule.banned()
    rule.push(VOCAB.index("*"))
    assert VOCAB.index("*") in rule.banned()


@pytest.mark.parametrize("lists", [(), ("**Where**", "**Why it matters**")])
def test_section_rule_is_exact(lists):
    """banned() is every token fails() refuses, whatever was written: the
    candidates it checks miss none, so sampling reaches no banned token."""
    rng = random.Random(5)
    tok = ToyTokenizer(VOCAB)
    for _ in range(300):
        rule = SectionGuard(tok, HEADINGS, lists)
        for _ in range(rng.randrange(40)):
            # End of sequence ends an answer: nothing is pushed after it.
            allowed = [t for t in range(1, len(VOCAB)) if not rule.fails(t)]
            if not allowed:
                break
            rule.push(rng.choice(allowed))
            want = sorted(t for t in range(len(VOCAB)) if rule.fails(t))
            assert rule.banned() == want


def test_guard_ends_an_answer_that_starts_over():
    """A model that would write "**Why it matters**" again after it is
    given takes its next choice, end of sequence here."""
    import mlx.core as mx

    tok = ToyTokenizer(VOCAB)
    guard = CycleGuard((256, 3, 16), sections=SectionGuard(tok, HEADINGS))
    want = _ids(*ANSWER) + _ids("**", "Why")
    out, last = [], 0
    for pref in want:
        # The model prefers pref, then end of sequence, then the rest.
        logits = mx.array([[5.0 if t == pref else (4.0 if t == 0 else -float(t)) for t in range(len(VOCAB))]])
        row = guard(_Ctx(last), logits).reshape(-1)
        last = int(mx.argmax(row).item())
        out.append(last)
        if last == 0:
            break
    # "**" may open "**What it is**"; "Why" after it is banned.
    assert out == _ids(*ANSWER) + _ids("**") + [0]
    assert guard.stats() == {"bans": 0, "section_bans": 1, "line_bans": 0, "line_ends": 0, "word_bans": 0, "item_bans": 0, "first_ban": len(ANSWER) + 1, "gave_up": False}


def test_first_section_ban():
    tok = ToyTokenizer(VOCAB)
    assert first_section_ban(_ids(*ANSWER, "**", "What", " it", " is", "**", "\n"), tok, HEADINGS) == -1
    assert first_section_ban(_ids(*ANSWER, "**", "Why"), tok, HEADINGS) == len(ANSWER) + 1


def test_section_rule_gives_a_heading_its_line_starts_with():
    """A heading followed by more on its line is given all the same."""
    rule = _section_rule("**", "Fix", "**", "*", "\n", "text", "\n", "**")
    assert "**fix**" in rule.given
    assert rule.fails(VOCAB.index("Fi"))


WHERE = ("**", "Where", "**", "\n")


@pytest.mark.parametrize(
    "before,token,banned",
    [
        (WHERE, "- item", False),  # a bullet
        (WHERE, "-", False),  # on its way to one
        (WHERE + ("-",), " x", False),
        (WHERE + ("-",), "x" if "x" in VOCAB else "text", True),  # "-text" is no bullet
        (WHERE + ("-",), "\n", True),  # nor is "-" alone
        (WHERE, "---", True),  # a rule, not a bullet
        (WHERE, "text", True),  # a plain line
        (WHERE, "[x", True),
        (WHERE, " ", False),  # leading blanks aside
        (WHERE + (" ",), "- item", False),
        (WHERE, "\n", False),  # a blank line
        (WHERE + ("- item",), "\n", False),
        (WHERE + ("- item",), "\n-", False),
        (WHERE + ("- item", "\n"), "**", False),  # a heading still to come
        (WHERE + ("- item", "\n", "**"), "Fix", False),
        (WHERE, "*", False),  # on its way to "**"
        (WHERE + ("*",), "text", True),  # "*text" is no bullet here
        (WHERE + ("*",), "\n", True),
        (WHERE + ("- item", "\n", "**", "Fix", "**", "\n"), "text", False),  # Fix is no list
        (("**", "In", " short", "**", "\n"), "text", False),
    ],
)
def test_list_rule(before, token, banned):
    """In a list section every line is a bullet, a blank line or a heading
    still to come: an answer cannot run on past its last bullet in lines
    of another shape."""
    rule = _section_rule(*before, lists=("**Where**",))
    assert rule.fails(VOCAB.index(token)) is banned
    assert (VOCAB.index(token) in rule.banned()) is banned


def test_first_section_ban_in_a_list():
    tok = ToyTokenizer(VOCAB)
    words = WHERE + ("- item", "\n", "---")
    assert first_section_ban(_ids(*words), tok, HEADINGS) == -1
    assert first_section_ban(_ids(*words), tok, HEADINGS, ["**Where**"]) == len(words) - 1


# Tokens for the line rule: letters, a newline, and a token that ends a
# line within it ("|" below).
LINES = ["<eos>", "\n", "a", "b", "c", "d", "x\n"]


def _line_ids(s):
    return [LINES.index("x\n") if c == "|" else LINES.index(c) for c in s]


@pytest.mark.parametrize(
    "before,prompt,banned",
    [
        ("abc", "", ""),
        ("abcab", "", ""),  # a second "abc" may follow
        ("abcabcab", "", "c"),  # a third may not
        ("abcabcabd", "", ""),
        ("aaa", "", ""),
        ("aaaa", "", "a"),  # "aaa" a third time
        ("abcabc\nabcab", "", ""),  # another line
        ("abcabc|abcab", "", ""),  # a token that ends the line within it
        ("abcabcab", "dabcd", ""),  # the prompt holds "abc"
        ("abcabcab", "dbcd", "c"),
    ],
)
def test_line_repeat(before, prompt, banned):
    rule = LineRepeat(ToyTokenizer(LINES), 3, _line_ids(prompt))
    for t in _line_ids(before):
        rule.push(t)
    assert rule.banned() == _line_ids(banned)


def test_line_repeat_rejects_a_span_of_one():
    with pytest.raises(WorkerError):
        LineRepeat(ToyTokenizer(LINES), 1)


def test_first_line_ban():
    tok = ToyTokenizer(LINES)
    ab = [LINES.index(c) for c in "abcabcabc"]
    assert first_line_ban(ab, tok, 3) == 8
    assert first_line_ban(ab, tok, 4) == -1
    assert first_line_ban(ab, tok, 3, [LINES.index(c) for c in "abc"]) == -1


def test_guard_steers_a_varied_loop():
    """A loop of no one period is a span written a third time: the line
    rule masks it, counts it apart from max_bans, and the model takes its
    next choice."""
    import mlx.core as mx

    tok = ToyTokenizer(LINES)
    guard = CycleGuard((256, 3, 16), max_bans=1, lines=LineRepeat(tok, 3))
    want = [LINES.index(c) for c in "abcdabcdabc"]
    out, last = [], 0
    for pref in want:
        # The model prefers pref, then a newline, then the rest.
        logits = mx.array([[5.0 if t == pref else (4.0 if t == 1 else -float(t)) for t in range(len(LINES))]])
        row = guard(_Ctx(last), logits).reshape(-1)
        last = int(mx.argmax(row).item())
        out.append(last)
    # "abc" twice; "ab" a third time may not go on to "c": a newline
    # instead.
    assert out == [LINES.index(c) for c in "abcdabcdab"] + [1]
    assert guard.stats() == {"bans": 0, "section_bans": 0, "line_bans": 1, "line_ends": 0, "word_bans": 0, "item_bans": 0, "first_ban": 10, "gave_up": False}


def test_guard_ends_a_stuck_line():
    """A model that writes a new variation each time it is steered ("ab",
    "ac", "ad" after "abc...") is stuck in its line: after max_strikes
    steers the guard lets only a newline through, and the next line starts
    afresh."""
    import mlx.core as mx

    tok = ToyTokenizer(LINES)
    guard = CycleGuard((256, 3, 16), lines=LineRepeat(tok, 2, max_strikes=2))
    # The model wants "a" then "b" over and over; a newline ranks last
    # but one, end of sequence last.
    out, last = [], 0
    for step in range(8):
        pref = 2 if step % 2 == 0 else 3
        order = [pref, 5 - pref, 4, 5, 1, 6, 0]  # a/b, b/a, c, d, newlines, eos
        logits = mx.array([[float(-order.index(t)) for t in range(len(LINES))]])
        last = int(mx.argmax(guard(_Ctx(last), logits).reshape(-1)).item())
        out.append(last)
        if last == 1:
            break
    # "ab", then "a" again would repeat "ab": "ba" is new, ...
    assert out[-1] == 1 and guard.line_ends == 1 and guard.line_bans >= 2
    guard(_Ctx(last), mx.zeros((1, len(LINES))))  # the decoder feeds the newline back
    assert guard.lines.strikes == 0  # and it starts a line afresh
    assert guard.stats()["line_ends"] == 1


# Tokens for the word rule: whole words with and without a leading space,
# pieces of one, separators, and tokens that write more than one field.
WORDS = [
    "<eos>", " buffer", "buffer", " Buffer", "buff", "er", "ers", " ", ",", "\n", " buffer buffer",
    "x", " the", "er,", ".", ", buffer", "\nbuffer", " buff", "er buffer", " 0",
]


def _word_ids(*words):
    return [WORDS.index(w) for w in words]


def test_word_runs():
    assert word_runs("a b b, B\nb c b. b 0 0 0") == {"a": 1, "b": 4, "c": 1}
    assert word_runs("") == {}


@pytest.mark.parametrize(
    "before,prompt,banned",
    [
        ((), (), ()),
        # The first copy is still being written: a token that completes it
        # and writes two more.
        ((" buffer",), (), (" buffer buffer",)),
        ((" buffer", " the"), (), ()),
        # A third may not, however it is written: whole, in pieces, after
        # a comma or a line break, in capitals, two fields at once ("buffer"
        # would go on with the second: "bufferbuffer").
        ((" buffer", " buffer"), (), (" buffer", " Buffer", ", buffer", "\nbuffer", " buffer buffer")),
        (("buffer", ",", " buffer", " buff"), (), ("er", "er,", "er buffer")),
        ((" buffer", " buffer", "."), (), ()),  # "buffer." ends the run
        ((" buffer", " buffer", " 0"), (), ()),
        # A second copy may follow, not a second and a third at once.
        ((" buffer", " the", " buffer"), (), (" buffer buffer",)),
        # The prompt holds three: a fourth (two at once) is still banned.
        ((" buffer", " buffer"), (" buffer", " buffer", " buffer"), (" buffer buffer",)),
        ((" buffer", " buffer"), (" buffer", " buffer"), (" buffer", " Buffer", ", buffer", "\nbuffer", " buffer buffer")),
    ],
)
def test_word_run(before, prompt, banned):
    tok = ToyTokenizer(WORDS)
    rule = WordRun(tok, 3, _word_ids(*prompt))
    for t in _word_ids(*before):
        rule.push(t)
    assert rule.banned() == sorted(_word_ids(*banned))


def test_word_run_is_exact():
    """banned() names every token fails() refuses, and only those, at
    every step of random texts: its lookups miss none."""
    tok = ToyTokenizer(WORDS)
    rng = random.Random(5)
    for limit in (2, 3, 4):
        for _ in range(60):
            rule = WordRun(tok, limit)
            for _ in range(12):
                assert rule.banned() == [t for t in range(len(WORDS)) if rule.fails(t)]
                # Mostly buffers, so runs form.
                rule.push(rng.choice([1, 1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 15, 16, 17, 18, 11, 14]))


def test_word_run_rejects_a_limit_of_one():
    with pytest.raises(WorkerError):
        WordRun(ToyTokenizer(WORDS), 1)


def test_first_word_ban():
    tok = ToyTokenizer(WORDS)
    ids = _word_ids(" buffer", " buffer", " buffer", " buffer")
    assert first_word_ban(ids, tok, 3) == 2
    assert first_word_ban(ids, tok, 4) == 3
    assert first_word_ban(ids, tok, 3, _word_ids(*[" buffer"] * 4)) == -1


def test_guard_steers_a_word_loop():
    """The flawfinder answer's "buffer buffer buffer ...": the third copy
    is masked, counted apart from max_bans, and the model writes its next
    choice."""
    import mlx.core as mx

    tok = ToyTokenizer(WORDS)
    guard = CycleGuard((256, 3, 16), max_bans=1, words=WordRun(tok, 3))
    out, last = [], 0
    for _ in range(6):
        # The model prefers " buffer", then " the", then the rest.
        logits = mx.array([[5.0 if t == 1 else (4.0 if t == 12 else -float(t)) for t in range(len(WORDS))]])
        last = int(mx.argmax(guard(_Ctx(last), logits).reshape(-1)).item())
        out.append(last)
    assert out == _word_ids(" buffer", " buffer", " the", " buffer", " buffer", " the")
    assert guard.stats() == {
        "bans": 0, "section_bans": 0, "line_bans": 0, "line_ends": 0, "word_bans": 2, "item_bans": 0, "first_ban": 2, "gave_up": False,
    }


# Tokens for the item rule: list markers, words, line breaks (alone and
# opening the next line), and a token that ends a line with a word.
ITEMS = ["<eos>", "\n", "1", "2", ".", " ", "-", " Follow", " the", " fix", " Address", " it", "\n3", "\nFollow", "x\n", "**"]


def _item_ids(*toks):
    return [ITEMS.index(t) for t in toks]


FOLLOW = ("1", ".", " Follow", " the", " fix", "\n")
ADDRESS = ("2", ".", " Address", " the", " fix", "\n")


@pytest.mark.parametrize(
    "before,prompt,banned",
    [
        ((), (), ()),
        # Two items by turns, numbered on: the third "Follow the" may not
        # go on to "fix", however the line is marked ("12." is a marker,
        # "**" is no marker but the line's first token).
        (FOLLOW + ADDRESS + FOLLOW + ADDRESS + ("1", "2", ".", " Follow", " the"), (), (" fix",)),
        (FOLLOW + FOLLOW + ("-", " ", " Follow", " the"), (), (" fix",)),
        (FOLLOW + FOLLOW + (" Follow", " the"), (), (" fix",)),
        (FOLLOW + FOLLOW + ("**", " Follow", " the"), (), ()),
        (("**", " Follow", " the", " fix", "\n") * 2 + ("**", " Follow"), (), (" the",)),
        # A line opened by a line break's own token.
        (FOLLOW + FOLLOW + ("\nFollow", " the"), (), ()),
        (FOLLOW[:-1] + ("\nFollow", " the", " fix", "\nFollow", " the", " fix", "\nFollow", " the"), (), (" fix",)),
        # A second copy may follow.
        (FOLLOW + ADDRESS + ("1", ".", " Follow", " the"), (), ()),
        # The opening is read once the marker is done, at its start only.
        (FOLLOW + FOLLOW + (" Follow",), (), ()),
        (FOLLOW + FOLLOW + (" it", " Follow", " the"), (), ()),
        # A line ended within a token starts afresh.
        (FOLLOW + FOLLOW[:-2] + ("x\n", " Follow", " the"), (), ()),
        # The prompt opens three lines so: a third copy is let through, a
        # fourth is not.
        (FOLLOW + FOLLOW + (" Follow", " the"), FOLLOW * 3, ()),
        (FOLLOW * 3 + (" Follow", " the"), FOLLOW * 3, (" fix",)),
        (FOLLOW + FOLLOW + (" Follow", " the"), FOLLOW * 2, (" fix",)),
    ],
)
def test_item_repeat(before, prompt, banned):
    rule = ItemRepeat(ToyTokenizer(ITEMS), 3, _item_ids(*prompt))
    for t in _item_ids(*before):
        rule.push(t)
    assert rule.banned() == sorted(_item_ids(*banned))


def test_item_repeat_is_exact():
    """banned() names every token whose push would open a line a third
    time with the same tokens, and only those, at every step of random
    texts: checked against a reading of the whole text."""
    tok = ToyTokenizer(ITEMS)

    def openings(ids, span):
        # Lines of the text, each read from its first token with more
        # than a list marker (a line break's token opens with what follows
        # its last line break).
        out, cur, opened, lead = {}, [], False, ""
        for t in ids:
            text = ITEMS[t]
            if "\n" in text:
                cur, opened, lead, text = [], False, "", text.rsplit("\n", 1)[1]
            if not opened:
                lead += text
                if re.fullmatch(r"\s*(?:(?:\d+[.)]?|[-*+])\s*)?", lead):
                    continue
            opened = True
            cur.append(t)
            if len(cur) == span:
                out[tuple(cur)] = out.get(tuple(cur), 0) + 1
        return out

    def third(ids, t):
        return any(n >= 3 for n in openings(ids + [t], span).values())

    # Whole items mostly, so openings repeat, in pieces and marked
    # several ways.
    pieces = [FOLLOW, ADDRESS, ("-", " ", " Follow", " the", " it", "\n"), ("\nFollow", " the", " fix"),
              (" it", "x\n"), ("2", " Follow", " the", " fix", " it", "\n"), ("**", " Address", " the")]
    rng, bans = random.Random(3), 0
    for span in (2, 3, 4):
        for _ in range(40):
            rule, ids = ItemRepeat(tok, span), []
            for _ in range(12):
                for t in _item_ids(*rng.choice(pieces)):
                    want = [u for u in range(len(ITEMS)) if third(ids, u)]
                    assert rule.banned() == want
                    bans += bool(want)
                    if t in want:
                        t = ITEMS.index("\n")
                    rule.push(t)
                    ids.append(t)
    assert bans > 100  # the texts reach the rule often


def test_item_repeat_rejects_a_span_of_one():
    with pytest.raises(WorkerError):
        ItemRepeat(ToyTokenizer(ITEMS), 1)


def test_first_item_ban():
    tok = ToyTokenizer(ITEMS)
    ids = _item_ids(*FOLLOW, *ADDRESS, *FOLLOW, *ADDRESS, *FOLLOW)
    assert first_item_ban(ids, tok, 3) == 28  # the third "fix" after "Follow the"
    assert first_item_ban(ids, tok, 3, _item_ids(*FOLLOW * 3)) == -1
    assert first_item_ban(_item_ids(*FOLLOW, *ADDRESS, *FOLLOW, *ADDRESS), tok, 3) == -1


def test_guard_steers_items_written_by_turns():
    """The checkov answer's two fix steps by turns: the third copy's
    opening is masked, counted apart from max_bans, and the model writes
    its next choice, here the end."""
    import mlx.core as mx

    tok = ToyTokenizer(ITEMS)
    guard = CycleGuard((256, 3, 16), max_bans=1, items=ItemRepeat(tok, 3))
    want = _item_ids(*FOLLOW, *ADDRESS) * 3
    out, last = [], 0
    for pref in want:
        # The model prefers pref, then the end of sequence.
        logits = mx.array([[5.0 if t == pref else (4.0 if t == 0 else -float(t)) for t in range(len(ITEMS))]])
        last = int(mx.argmax(guard(_Ctx(last), logits).reshape(-1)).item())
        out.append(last)
        if last == 0:
            break
    assert out == _item_ids(*FOLLOW, *ADDRESS, *FOLLOW, *ADDRESS, "1", ".", " Follow", " the", "<eos>")
    assert guard.stats() == {
        "bans": 0, "section_bans": 0, "line_bans": 0, "line_ends": 0, "word_bans": 0, "item_bans": 1, "first_ban": 28,
        "gave_up": False,
    }
