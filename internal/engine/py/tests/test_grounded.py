"""Grounded decoding (vulntune_engine/grounded.py): the checker's verdicts
on partial and complete answers, and the processor driven step by step with
a toy tokenizer whose model prefers invented identifiers. Agreement with
Go's evaluate.UngroundedIdents is tested from Go
(internal/evaluate/grounded_test.go)."""

import mlx.core as mx
import pytest

from vulntune_engine.grounded import Ground, GroundedProcessor, request_processors, ungrounded

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
        ("Edit web/build", False, True),  # on its way to web/build.gradle
        ("Edit web/build and", False, False),  # a path cut short (ident.cutPath)
        ("Edit web/build.gradle or web/ and", False, True),  # a directory of it
        ("see https://example.org/adv", False, True),
        ("see https://example.org/advisory/42/ now", False, True),
        ("see https://example.org/advisory/43 now", False, False),
        ("see https://cwe.mitre.org/data/definitions/352.html", True, True),
        ("see https://cwe.mitre.org/data/definitions/79.html", True, False),
        ("Plain prose, no identifiers.", True, True),
        # Issue 16's URL trap: "www." counts once, before the host ...
        ("see https://w", False, True),  # "www." on its way
        ("see https://www.", False, True),
        ("see https://www.w", False, False),  # no grounded host starts with w
        ("see https://www.example.org/adv", False, True),
        ("see https://os", False, True),  # osv.dev, the CVE's canonical page
        # ... trimmed punctuation is judged while the URL is open ...
        ("see https://os.", False, False),
        ("see https://www.w.*.*", False, False),
        ("see https://example.org/adv.*", False, False),
        ("see https://example.org/advisory/42.", False, True),  # a sentence ends
        ("see https://example.org/advisory/42**", False, True),  # bold ends
        ("see https://example.org/advisory/42/.", False, True),
        ("see https://example.org/advisory/42.*.", False, False),  # no endless tail
        ("see https://example.org/advisory/42.*. now", False, True),  # trimmed, grounded
        ("see https://osv.dev/vulnerability/CVE-2021-44228:", False, True),
        ("see https://example.org/advisory/42#", False, False),  # no fragment in the ground
        # A path keeps its case (ident.NormURL), a host does not: the
        # canonical page's path as its site writes it, the id as
        # ident.CanonicalID writes it.
        ("see https://EXAMPLE.org/advisory/42 now", False, True),
        ("see https://example.org/Advisory/42 now", False, False),
        ("see https://example.org/A", False, False),
        ("see https://osv.dev/vulnerability/CVE-2021-44228 now", False, True),
        ("see https://osv.dev/vulnerability/cve-2021-44228 now", False, False),
        ("see https://www.osv.dEV/vuLNEraBilItY/cVE-2021-44228 now", False, False),
        ("see https://osv.dev/vuLN", False, False),
        ("see https://nvd.nist.gov/vuln/detail/CVE-2021-44228 now", False, True),
        # ... and a scheme may be written only where the ground has an URL.
        ("see https://", False, True),
        # The other kinds' half-written identifiers with trimmed punctuation.
        ("Upgrade to 1.3.1.", False, False),
        ("Upgrade to 1.3.1..", False, False),
        ("Upgrade to 1.3.1-", False, False),
        ("CVE-2021-4422-", False, False),
        ("CVE-2021-4422:", False, False),
        ("Edit web/build.gr.", False, False),
        ("Edit web/build.gr?!", False, False),
        ("Edit web/build.gradle?!", False, True),  # grounded: a space may follow
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


def test_ungrounded_reads_backslash_urls_with_slashes():
    # ident.URLRE and NormURL: a backslash URL is an URL, blanked before
    # paths and versions, and names the page it names with slashes.
    ground = GROUND + "\nAdvisory: https://logback.qos.ch/news.html"
    got = ungrounded(r"See https:\\logback.qos.ch\news.html and https:\evil.example\2.0.1\Main.java.", ground)
    assert got == [(r"https:\evil.example\2.0.1\Main.java", "URL")]


class ToyTokenizer:
    """Tokens are whole strings; decode joins them."""

    def __init__(self, vocab):
        self.vocab = vocab

    def decode(self, ids):
        return "".join(self.vocab[i] for i in ids)


def run(proc, vocab, prefs, steps, prefix=()):
    """Greedy decoding of a model whose logits at step i rank prefs[i]
    first, in that order, and every other token below. With a prefix, the
    run resumes after it: the processor is told the answer so far, the
    context holds the prompt and the prefix, and decoding goes on from
    step len(prefix) with prefs[len(prefix):]."""
    if prefix:
        proc.resume(prefix)
    tokens, context = list(prefix), [0] + list(prefix)
    for i in range(len(prefix), steps):
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


def test_processor_takes_a_token_an_earlier_processor_masked_when_none_it_left_passes():
    # The loop guard ran first and left only the line's end ("\n"), which
    # would close "CWE-35" as an invented id: the processor keeps "2", with
    # a finite logit, rather than a row of -inf (token 0 would be chosen).
    vocab = ["<p>", " CWE-35", "\n", "2", "</s>"]
    tok = ToyTokenizer(vocab)
    proc = GroundedProcessor(tok, GROUND, eos_ids=[4])
    proc(mx.array([0]), mx.array([[-10.0, 10.0, -10.0, -10.0, -10.0]]))
    inf = float("-inf")
    out = proc(mx.array([0, 1]), mx.array([[inf, inf, 5.0, inf, inf]]))
    assert int(mx.argmax(out[0]).item()) == 3 and out[0, 3].item() > inf
    assert proc.stuck == 0


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


def test_processor_walks_the_whole_vocabulary_before_it_ends_an_identifier():
    # "2" ranks fifth, past max_walk: the rest of the vocabulary is walked
    # rather than the answer ended on a half-written "CWE-35".
    vocab = ["<p>", "CWE-35", "4", "9", " ", "2", "</s>"]
    tok = ToyTokenizer(vocab)
    proc = GroundedProcessor(tok, GROUND, top_k=1, max_walk=3, eos_ids=[6])
    got = run(proc, vocab, [[1], [4, 3, 6, 2, 5]], 2)
    assert tok.decode(got) == "CWE-352"
    assert proc.deep == 1 and proc.stuck == 0


# A ground with no URL and no id that has a canonical page.
BARE = "Finding: org.example:lib 1.3.5 in web/build.gradle, fixed in 1.3.14."


@pytest.mark.parametrize(
    "text,ok",
    [
        ("see https", True),
        ("see https:", True),
        ("see https:/", False),
        ("see https://", False),  # nothing grounded can follow
        ("see ftp://", False),
        ("see https:// or", True),  # no URL was written
        ("the xhttps:// scheme", True),  # glued to a word: no URL
    ],
)
def test_check_no_url_in_ground(text, ok):
    assert Ground(BARE).check(text) is ok


def endable(g, text, alphabet, depth=40, seen=None):
    """Whether some continuation of text by at most depth characters of
    alphabet passes check at every step and then check(final=True): a
    depth-first search that tries ending the answer first, and gives up
    after 5,000 texts (a trap passes every run of punctuation)."""
    if g.check(text, final=True):
        return True
    seen = set() if seen is None else seen
    if depth == 0 or text in seen or len(seen) >= 5000:
        return False
    seen.add(text)
    return any(g.check(text + c) and endable(g, text + c, alphabet, depth - 1, seen) for c in alphabet)


@pytest.mark.parametrize(
    "start",
    [
        "see https://",
        "see https://w",
        "see https://www.",
        "see https://os",
        "see https://example.org/advisory/42.",
        "Upgrade to 1.3.1",
        "CVE-2021-4422",
        "Edit web/build.gr",
    ],
)
def test_every_passing_text_can_be_ended(start):
    # The trap of issue 16 was a text that passed but from which only
    # punctuation could follow, forever; from every text check passes some
    # continuation must reach an answer that passes as final. The alphabet
    # is the ground's characters in either case (an URL's path keeps its
    # case) and the punctuation the trap appended.
    g = Ground(GROUND)
    assert g.check(start)
    alphabet = [" "] + sorted((set(GROUND.lower()) | set(GROUND)) - {" "}) + list(".*:_;,}!?")
    assert endable(g, start, alphabet)
    for junk in (".*.", "..:", ":::", "_;_", "*.*"):
        # Appending a run of punctuation either fails or can be ended.
        t = start + junk
        if all(g.check(t[: len(start) + i]) for i in range(1, len(junk) + 1)):
            assert endable(g, t, alphabet), t


def run_model(proc, vocab, model, steps):
    """Greedy decoding of a model whose logits rank model(answer so far)
    first, in that order (those vocab has), and every other token below in
    vocabulary order,
    until end of sequence (the vocabulary's last token) or steps tokens."""
    tok = ToyTokenizer(vocab)
    eos = len(vocab) - 1
    tokens, context = [], [0]
    for _ in range(steps):
        logits = [-10.0 - i / 100 for i in range(len(vocab))]
        for r, t in enumerate(t for t in model(tok.decode(tokens)) if t in vocab):
            logits[vocab.index(t)] = 10.0 - r
        tokens.append(int(mx.argmax(proc(mx.array(context), mx.array([logits]))[0]).item()))
        context.append(tokens[-1])
        if tokens[-1] == eos:
            break
    return tok.decode(tokens)


URL_VOCAB = ["<p>", "Fix: ", "https", "://", "www", ".", "w", "*", ":", "os", "v", "dev/vulnerability/",
             "CVE-2021-44228", "\n", "</s>"]


def url_model(rules):
    """A model that, like the tuned model of issue 16, prefers "." and "*"
    to anything but where rules (answer suffix, preferred tokens; the first
    that matches) say otherwise."""
    rules = [("\n", ["</s>"]), ("CVE-2021-44228", ["\n"]), ("vulnerability/", ["CVE-2021-44228"]),
             ("osv.", ["dev/vulnerability/"])] + rules + [("https", ["://", "\n", "</s>"]), ("Fix: ", ["https"])]

    def model(text):
        if text == "":
            return ["Fix: "]
        for suffix, prefs in rules:
            if text.endswith(suffix):
                return prefs
        return (["*", "."] if text.endswith(".") else [".", "*"]) + [":", "\n", "</s>"]

    return model


WWW_W = [("www.", ["w", ".", "*", "\n", "</s>"]), ("www", ["."]), ("://", ["www"])]


def test_processor_url_trap_www():
    # Issue 16's loop: "https://www.w.*.*.*" to the repetition stop. Now
    # "www.w" starts no grounded URL and "www.", "www.." or "www.\n" leave
    # an ungrounded "www", so the walk goes on to the first token that
    # continues a grounded URL (the ground's CVE at osv.dev), and no
    # trimmed punctuation passes on the way.
    free = run_model(GroundedProcessor(ToyTokenizer(URL_VOCAB), GROUND, observe=True, eos_ids=[14]),
                     URL_VOCAB, url_model(WWW_W), 12)
    assert free.startswith("Fix: https://www.w.*.*.*")
    proc = GroundedProcessor(ToyTokenizer(URL_VOCAB), GROUND, eos_ids=[14])
    got = run_model(proc, URL_VOCAB, url_model(WWW_W), 16)
    assert got == "Fix: https://www.osv.dev/vulnerability/CVE-2021-44228\n</s>"
    assert proc.stuck == 0 and ungrounded(got, GROUND) == []


def test_processor_url_trap_osv():
    # "https://os.*..:_..:_": "os" may start osv.dev's page of the ground's
    # CVE, and "." no longer passes as if trimmed; the walk takes "v".
    model = url_model([("os", [".", "*", ":", "v", "\n", "</s>"]), ("://", ["os"])])
    proc = GroundedProcessor(ToyTokenizer(URL_VOCAB), GROUND, eos_ids=[14])
    got = run_model(proc, URL_VOCAB, model, 16)
    assert got == "Fix: https://osv.dev/vulnerability/CVE-2021-44228\n</s>"
    assert proc.stuck == 0 and ungrounded(got, GROUND) == []
    # Without a "v" nothing continues "os", and the answer ends there
    # instead of growing punctuation.
    vocab = [t for t in URL_VOCAB if t != "v"]
    proc = GroundedProcessor(ToyTokenizer(vocab), GROUND, eos_ids=[len(vocab) - 1])
    got = run_model(proc, vocab, model, 16)
    assert got == "Fix: https://os</s>"
    assert proc.stuck == 1


def test_processor_no_url_in_ground():
    # With no URL in the ground the scheme's "://" is not written at all:
    # the walk falls to the newline, which ends the word.
    proc = GroundedProcessor(ToyTokenizer(URL_VOCAB), BARE, eos_ids=[14])
    got = run_model(proc, URL_VOCAB, url_model(WWW_W), 12)
    assert got == "Fix: https\n</s>"
    assert proc.interventions == 1 and proc.stuck == 0


# Backslash URLs: the URL rules with every backslash read as a slash.
@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("see https:\\", False, True),  # a scheme, as "https:/"
        ("see https:\\\\", False, True),
        ("see https:/\\", False, True),
        ("see https:\\\\\\", False, False),  # no separator longer than "//"
        ("see https:\\\\example.org\\adv", False, True),  # on its way to the ground's page
        ("see https:\\\\www.w", False, False),  # issue 16's trap, with backslashes
        ("see https:\\\\evil.example\\x", False, False),
        ("see https:\\\\evil.example\\x now", False, False),  # closed, invented
        ("see (https:\\\\evil.example\\x) now", False, False),
        ("see https:\\\\example.org\\advisory\\42 now", False, True),  # closed, grounded
        ("see https:\\\\example.org\\advisory\\42", True, True),
        ("see https:\\\\example.org\\advisory\\4", True, False),
        ("see https:\\\\osv.dev\\vulnerability\\CVE-2021-44228.", False, True),
        ("see https:\\e", False, False),  # one separator, then a host
        ("see https:\\\\ or", False, True),  # no page named
        ("see xhttps:\\\\evil", False, True),  # glued to a word: no scheme
        ("see https:\\\\", True, True),
        ("see C:\\\\Users\\evil", False, True),  # no scheme at all
    ],
)
def test_check_backslash_urls(text, final, ok):
    assert Ground(GROUND).check(text, final=final) is ok


@pytest.mark.parametrize(
    "text,ok",
    [
        ("see https:\\", False),
        ("see http:\\\\", False),
        ("see ftp:/\\", False),
        ("see https:\\\\evil.example", False),
        ("see https:\\ or", True),  # nothing was written past the scheme
    ],
)
def test_check_backslash_urls_no_url_in_ground(text, ok):
    assert Ground(BARE).check(text) is ok


def test_processor_refuses_a_backslash_scheme_without_urls():
    # The model prefers "https:\\" to "https://"; with no URL in the
    # ground neither is written, and the walk falls to the newline.
    vocab = ["<p>", "Fix: ", "https", ":\\\\", "://", "\n", "</s>"]

    def model(text):
        return {"": ["Fix: "], "Fix: ": ["https"], "Fix: https": [":\\\\", "://", "\n"]}.get(text, ["</s>"])

    proc = GroundedProcessor(ToyTokenizer(vocab), BARE, eos_ids=[6])
    assert run_model(proc, vocab, model, 8) == "Fix: https\n</s>"
    assert proc.interventions == 1 and proc.stuck == 0


# mlx-lm's look-ahead: it calls the processor for the step after an
# answer's last token (end of sequence, or the max_tokens-th) before it
# sees the answer end, and never emits that step's token.
LOOK_VOCAB = ["<p>", "Upgrade to ", "1.3.", "14", " CVE-2099-0001", "</s>"]
INVENTED = 4  # what the model would say next: an id the ground lacks


def feed(proc, answer):
    """Calls proc once per token of answer, as mlx-lm does (the context
    ends with the token fed to the model), each step's top token being the
    next of answer, then once more with INVENTED on top: the look-ahead.
    Returns what that last call returned and the logits it was given."""
    context = [0]
    for t in answer:
        logits = [-10.0] * len(LOOK_VOCAB)
        logits[t] = 10.0
        proc(mx.array(context), mx.array([logits]))
        context.append(t)
    logits = [-10.0] * len(LOOK_VOCAB)
    logits[INVENTED] = 10.0
    given = mx.array([logits])
    return proc(mx.array(context), given), given


@pytest.mark.parametrize("observe", [True, False])
def test_the_step_after_end_of_sequence_is_left_alone(observe):
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, observe=observe, eos_ids=[5])
    out, given = feed(proc, [1, 2, 3, 5])
    assert out is given
    assert proc.stats() == {"steps": 4, "interventions": 0, "first_intervention": None, "deep": 0, "stuck": 0}
    # An answer that has not ended is checked: the invented id fails.
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, observe=observe, eos_ids=[5])
    feed(proc, [1, 2, 3])
    assert proc.first_intervention == 3


@pytest.mark.parametrize("observe", [True, False])
def test_the_step_after_max_tokens_is_left_alone(observe):
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, observe=observe, eos_ids=[5], max_tokens=3)
    out, given = feed(proc, [1, 2, 3])
    assert out is given
    assert proc.stats() == {"steps": 3, "interventions": 0, "first_intervention": None, "deep": 0, "stuck": 0}
    # Without max_tokens it cannot tell: the defect, an intervention in a
    # token past the answer's end.
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, observe=observe, eos_ids=[5])
    feed(proc, [1, 2, 3])
    assert proc.first_intervention == 3


def test_the_first_call_may_see_end_of_sequence():
    # The prompt's last token, fed on the first call, is no answer's end
    # even when it is an end-of-sequence token.
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, observe=True, eos_ids=[0, 5])
    logits = [-10.0] * len(LOOK_VOCAB)
    logits[INVENTED] = 10.0
    proc(mx.array([0]), mx.array([logits]))
    assert proc.steps == 1 and proc.first_intervention == 0


@pytest.mark.parametrize("observe", [True, False])
def test_stats_leave_out_what_lies_past_the_answer(observe):
    # A repetition stop: the op stops the answer after its 3rd token, when
    # mlx-lm has already run the processor for the 4th, which intervened.
    vocab = ["<p>", "Upgrade to ", "1.3.", "9", "14", " CVE-2099-0001", "</s>"]
    proc = GroundedProcessor(ToyTokenizer(vocab), GROUND, observe=observe, eos_ids=[6])
    prefs = [[1], [2], [4], [5, 6]]
    run(proc, vocab, prefs, 4)
    assert proc.stats()["first_intervention"] == 3
    assert proc.stats(3) == {"steps": 3, "interventions": 0, "first_intervention": None, "deep": 0, "stuck": 0}
    assert proc.stats(4) == proc.stats()
    # An intervention inside the answer stays; one past it goes.
    proc = GroundedProcessor(ToyTokenizer(vocab), GROUND, observe=observe, eos_ids=[6])
    run(proc, vocab, [[1], [2], [3, 4], [5, 6]], 4)
    want = {"steps": 3, "interventions": 1, "first_intervention": 2, "deep": 0, "stuck": 0}
    assert proc.stats(3) == want
    if not observe:
        assert proc.stats()["interventions"] == 2 and proc.stats()["steps"] == 4


def test_request_processors_know_max_tokens():
    class Tok(ToyTokenizer):
        eos_token_ids = [5]

    req = {"examples": [{}, {}], "grounds": [GROUND, BARE], "grounding": "observe", "max_tokens": 7}
    procs = request_processors(req, Tok(LOOK_VOCAB), [1])
    assert list(procs) == [1] and procs[1].max_tokens == 7 and procs[1].observe and procs[1].eos == {5}


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_resumed_processor_answers_as_from_scratch(cut):
    # The invented 1.3.9 is refused at token 2, which only the text of the
    # prefix ("Upgrade to 1.3.") tells; resuming there, or before, or
    # after an intervention already made, gives the answer and the stats
    # of the run from scratch.
    vocab = ["<p>", "Upgrade to ", "1.3.", "9", "14", ".", "</s>"]
    tok = ToyTokenizer(vocab)
    prefs = [[1], [2], [3, 4], [5], [6]]
    scratch = GroundedProcessor(tok, GROUND, eos_ids=[6], max_tokens=5)
    want = run(scratch, vocab, prefs, 5)
    assert tok.decode(want) == "Upgrade to 1.3.14.</s>"
    resumed = GroundedProcessor(tok, GROUND, eos_ids=[6], max_tokens=5)
    got = run(resumed, vocab, prefs, 5, want[:cut])
    assert got == want
    if cut <= 2:
        assert resumed.stats() == scratch.stats()
        assert resumed.first_intervention == 2
    assert resumed.steps == scratch.steps == 5 and resumed.text == scratch.text


def test_resume_after_the_first_call_is_refused():
    proc = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, eos_ids=[5])
    feed(proc, [1])
    with pytest.raises(ValueError):
        proc.resume([1])
    # An empty prefix is no resume: the processor starts as from scratch.
    fresh = GroundedProcessor(ToyTokenizer(LOOK_VOCAB), GROUND, eos_ids=[5]).resume([])
    assert fresh.steps == 0 and not fresh._started


def test_resumed_processor_counts_max_tokens_from_the_answer_start():
    # A prefix of 3 tokens with max_tokens 4 leaves one step to judge; the
    # call after it is mlx-lm's look-ahead, left alone.
    vocab = ["<p>", "Upgrade to ", "1.3.", "14", ".", "</s>", " CVE-2099-0001"]
    proc = GroundedProcessor(ToyTokenizer(vocab), GROUND, eos_ids=[5], max_tokens=4)
    got = run(proc, vocab, [[1], [2], [3], [4], [6]], 5, [1, 2, 3])
    assert got == [1, 2, 3, 4, 6]
    assert proc.stats() == {"steps": 4, "interventions": 0, "first_intervention": None, "deep": 0, "stuck": 0}


@pytest.mark.parametrize(
    "vocab,prefs,steps,eos,want",
    [
        # An invented version, replaced at the third token.
        (["<p>", "Upgrade to ", "1.3.", "9", "14", ".", "</s>"], [[1], [2], [3, 4], [5], [6]], 5, 6, 2),
        # A grounded answer: nothing to replace.
        (["<p>", "Upgrade to ", "1.3.", "14", ".", "</s>"], [[1], [2], [3], [4], [5]], 5, 5, None),
        # Cut at max_tokens before its end.
        (["<p>", "Upgrade to ", "1.3.", "14", ".", "</s>"], [[1], [2], [3], [4], [5]], 3, 5, None),
    ],
)
def test_replay_reports_what_observing_reported(vocab, prefs, steps, eos, want):
    # GroundedProcessor.replay over the tokens free decoding chose gives
    # the stats an observing processor gave while they were decoded.
    tok = ToyTokenizer(vocab)
    observer = GroundedProcessor(tok, GROUND, observe=True, eos_ids=[eos], max_tokens=steps)
    free = run(observer, vocab, prefs, steps)
    ended = free[-1] == eos
    answer = free[:-1] if ended else free
    reason = "stop" if ended else "length"
    replayer = GroundedProcessor(tok, GROUND, observe=True, eos_ids=[eos], max_tokens=steps)
    got = replayer.replay(answer, reason)
    assert got == observer.answer_stats(len(answer), reason)
    assert got["first_intervention"] == want


def test_replay_needs_a_fresh_observer():
    tok = ToyTokenizer(["<p>", "a", "</s>"])
    with pytest.raises(ValueError, match="does not observe"):
        GroundedProcessor(tok, GROUND, eos_ids=[2]).replay([1], "stop")
    proc = GroundedProcessor(tok, GROUND, observe=True, eos_ids=[2])
    proc.replay([1], "stop")
    with pytest.raises(ValueError, match="already started"):
        proc.replay([1], "stop")
