"""Stopping an answer that has fallen into a loop, and measuring reference
answers with the model's tokenizer.

`python -I run.py vulntune_engine.repeat OP` reads one JSON request on stdin
and speaks the JSON-lines protocol (protocol.py).

Ops:
  references  load a model's tokenizer and, for each text, count its tokens
              and say where the repetition stop would end it and where the
              loop guard would first steer it: evaluation sets its length
              bound from the longest reference answer, and a stop or guard
              that would change a reference answer changes good answers too.

A greedy decoder that starts repeating itself never stops: the same line
("The scanner gives no fix for this rule; change ...") comes back until the
length bound, which with whole-answer bounds (over a thousand tokens) costs
minutes per answer and measures nothing. CycleStop ends such an answer as
soon as its tail is one period repeated: the last `min_repeats` periods of
length p (1 <= p <= max_period) are identical and span at least
`min_tokens` tokens. Reference answers repeat nothing of the kind (at most
five identical tokens in a row, no span of 18 tokens or more repeated
twice), so the margin between them and a loop is wide.

Stopping tells a loop apart; it does not mend the answer, which ends in the
middle of a fix block. CycleGuard, a logits processor, keeps the answer out
of the loop instead: it masks every token that would complete a cycle by
CycleStop's rule at its own, earlier settings, and the model writes its
next choice. Read to the end, most of the other projects' answers that
looped (" --set --set --set", "CWE: CWE: CWE:", "kotlin-kotlin-kotlin")
went on past the masked token and ended by themselves (bench/RESULTS.md).

A loop can also be longer than any period the guard reads: an answer that
writes "Why it matters" and "How to verify" over and over, each copy a
character different, repeats whole sections. SectionGuard, which the loop
guard holds when its request names the answer's section headings, keeps
an answer's bold lines to headings it has not given yet: an answer gives
each section once (Go's chat.Sections) and makes none up, so what would
follow the last one is the end.

A loop can be shorter than any span the guard reads, too: "The product
buffer buffer buffer ..." is a one-token cycle for 15 copies before it
spans 16 tokens. WordRun, which the loop guard holds when its request
sets word_run, bans a word's third copy in a row as Go's scoring reads
words (evaluate.RepeatedWord).

And a loop can repeat whole lines that differ only in their list numbers:
two fix steps written by turns, "4. Follow ...", "5. Address ...", "6.
Follow ...". ItemRepeat, which the loop guard holds when its request sets
item_span, bans the third line that opens with the same tokens, list markers
aside (LIST_MARKER_RE), as Go's scoring reads lines (evaluate.RepeatedLine).
"""

import bisect
import re
from collections import namedtuple

from .protocol import WorkerError, finish, serve


class CycleStop:
    """Incremental check for a repeated cycle at the end of a token
    sequence, O(max_period) per token.

    For every period p it keeps run[p], the number of latest positions i
    with t[i] == t[i - p]: the tail is periodic with period p over
    run[p] + p tokens. It stops when, for some p, the tail holds min_repeats
    whole periods, run[p] >= p * (min_repeats - 1), spanning at least
    min_tokens, run[p] + p >= min_tokens. The comparisons run in numpy, one
    vector of max_period per token (bench: microseconds against a decoding
    step's tens of milliseconds).
    """

    def __init__(self, max_period, min_repeats, min_tokens, capacity=0):
        import numpy as np

        if max_period < 1 or min_repeats < 2 or min_tokens < 1:
            raise WorkerError(
                "BadRequest",
                f"repeat_stop: max_period >= 1, min_repeats >= 2 and min_tokens >= 1 required, "
                f"got {max_period}, {min_repeats}, {min_tokens}",
            )
        self._np = np
        self.max_period = max_period
        periods = np.arange(1, max_period + 1)
        # run[p - 1] must reach need[p - 1] for period p to stop the answer.
        self._need = np.maximum(periods * (min_repeats - 1), min_tokens - periods)
        self._run = np.zeros(max_period, dtype=np.int64)
        self._buf = np.zeros(max(capacity, 64), dtype=np.int64)
        self._n = 0

    def __len__(self):
        return self._n

    def push(self, token):
        """Append token; return the period of the cycle the tail now
        repeats, or 0."""
        np = self._np
        n = self._n
        if n == len(self._buf):
            self._buf = np.concatenate([self._buf, np.zeros_like(self._buf)])
        self._buf[n] = token
        self._n = n + 1
        k = min(n, self.max_period)
        run = self._run
        if k:
            # self._buf[n - 1 :: -1][:k] holds t[n-1], t[n-2], ..., t[n-k]:
            # entry p-1 is t[n - p], compared with the new token t[n].
            same = self._buf[n - k : n][::-1] == token
            run[:k] = np.where(same, run[:k] + 1, 0)
        hit = np.flatnonzero(run[:k] >= self._need[:k]) if k else ()
        return int(hit[0]) + 1 if len(hit) else 0

    def completing(self):
        """The tokens that, pushed next, would end the answer by the rule,
        each with the length of the cycle's run it would complete: for
        every period p whose run is one short of its need, the token p
        back."""
        np = self._np
        n = self._n
        k = min(n, self.max_period)
        if not k:
            return []
        hit = np.flatnonzero(self._run[:k] + 1 >= self._need[:k])
        # Period p = h + 1: the token p back is t[n - 1 - h]; the run it
        # completes is run[p] + 1 matching tokens after the first round.
        return [(int(self._buf[n - 1 - h]), int(self._run[h]) + h + 2) for h in hit]

    def tail(self, k):
        """The last k tokens pushed."""
        return self._buf[max(0, self._n - k) : self._n].tolist()

    def repeated(self, period):
        """How many of the latest tokens each equal the token period before
        them: cutting that many off the end leaves the cycle's first round,
        so an answer stopped in a loop keeps what it said once."""
        return int(self._run[period - 1]) if 1 <= period <= self.max_period else 0


def heading_norm(text, complete=False):
    """A line as the section rule compares it: leading blanks and case
    aside, and one space after its opening "**", so "** How to verify**"
    is the heading "**How to verify**" (steered off a heading, an answer
    wrote it so, and the section again). Any other space counts: a rule
    blind to all whitespace let an answer write "**Re  f    e    r" one
    letter at a time between runs of spaces. A complete line's trailing
    blanks are aside too."""
    t = text.lstrip().lower()
    if t.startswith("** "):
        t = "**" + t[3:]
    return t.rstrip() if complete else t


class TokenText:
    """Each token's text, decoded alone, and the lookups SectionGuard needs
    over them; built once per tokenizer (0.3 s for SmolLM2's 49,152
    tokens) and kept on it.

    A token decoded alone is its text within an answer for byte-level BPE
    (SmolLM2, OLMo-2) except where a multi-byte character spans tokens;
    headings are ASCII and newlines single bytes, so lines and headings
    read right. (A SentencePiece tokenizer drops a lone token's leading
    space, which the rule ignores anyway.)"""

    def __init__(self, tokenizer):
        n = len(tokenizer) if hasattr(tokenizer, "__len__") else len(tokenizer.vocab)
        ids = [[i] for i in range(n)]
        batch = getattr(tokenizer, "batch_decode", None)
        self.texts = batch(ids) if batch is not None else [tokenizer.decode(i) for i in ids]
        # (text in lower case, id) of the tokens without a newline, and
        # (the same without leading blanks, id), sorted: the tokens whose
        # text goes on a line's norm with a string are ranges of them.
        low = [(t.lower(), i) for i, t in enumerate(self.texts) if "\n" not in t]
        self._sorted = sorted((t, i) for t, i in low if t)
        self._lsorted = sorted((t.lstrip(), i) for t, i in low if t.lstrip())
        # Tokens with a newline (129 of SmolLM2's), and those of them that
        # start a line that may open with "**": what follows a newline in
        # them holds an asterisk.
        self.newline = [i for i, t in enumerate(self.texts) if "\n" in t]
        self.newline_star = [i for i in self.newline if "*" in self.texts[i].split("\n", 1)[1]]
        # Tokens without a newline that write nothing but whitespace, and
        # those whose text opens with an asterisk.
        self.blank = [i for i, t in enumerate(self.texts) if "\n" not in t and not t.strip()]
        self.star = [i for i, t in enumerate(self.texts) if "\n" not in t and t.lstrip().startswith("*")]
        # Tokens without a newline that open with a space: what may follow
        # a list line's "-".
        self.space = [i for i, t in enumerate(self.texts) if "\n" not in t and t.startswith(" ")]
        self.space_set = frozenset(self.space)
        # End of sequence: always allowed, so an answer steered off a
        # heading may end there.
        self.eos = sorted(getattr(tokenizer, "eos_token_ids", None) or ())

    @classmethod
    def of(cls, tokenizer):
        return _kept_on(tokenizer, "_vulntune_token_text", cls)

    def related(self, prefix):
        """Ids of the tokens without a newline whose text in lower case,
        as is or without its leading blanks, starts with prefix or is a
        prefix of it: a superset of the tokens that take a line's norm
        toward prefix (the caller checks each)."""
        out = []
        for table in (self._sorted, self._lsorted):
            out += _starting_with(table, prefix)
            for n in range(1, len(prefix)):
                p = prefix[:n]
                k = bisect.bisect_left(table, (p,))
                while k < len(table) and table[k][0] == p:
                    out.append(table[k][1])
                    k += 1
        return out


class SectionGuard:
    """The rule that an answer's bold lines are its section headings, each
    once: a line that opens with "**" must be on its way to a heading the
    answer has not given yet ("**W" while "What it is" is still to come),
    and a line that starts with a heading already given is banned. So an
    answer that would start a section over ("**Why it matters**" twice),
    or, steered off that, make one up ("**Example**", "**Who**", as the
    first version of the rule let it), takes its next choice; once every
    heading is given no line may open with "**", and what would follow the
    last section is the end. Lines and headings are compared as heading_norm
    reads them (case and leading blanks aside, one space after "**").
    The rule is exact at every step (mask(): every token fails()
    refuses, not a walk of the top candidates), so sampling cannot reach
    a banned token either.

    headings are the lines that open sections ("**Fix**"); a heading
    counts as given when its line ends.

    lists are those of the headings whose sections are bullet lists (Go's
    chat.ListSections: "Where", "How to verify", "References"): in one, a
    line opens with "- " or "**" or is blank, leading blanks aside. So an
    answer cannot run on past its last bullet in lines of another shape
    ("---", "[Severity: medium. ...", a fence), the loop the heading rule
    alone left after References: what is left to it is another bullet, a
    heading still to come, or the end."""

    def __init__(self, tokenizer, headings, lists=()):
        self._index = TokenText.of(tokenizer)
        self.headings = [heading_norm(h) for h in headings]
        self.lists = {heading_norm(h) for h in lists}
        self.given = set()
        self.current = None
        self.line = ""

    def push(self, token):
        text = self.line + (self._index.texts[token] if 0 <= token < len(self._index.texts) else "")
        *done, self.line = text.split("\n")
        for line in done:
            # A line that starts with a heading gives it ("**References***"
            # as much as "**References**").
            p = heading_norm(line, complete=True)
            for h in self.headings:
                if p.startswith(h):
                    self.given.add(h)
                    self.current = h

    def _ungiven(self):
        return [h for h in self.headings if h not in self.given]

    def _bad_line(self, line, complete):
        p = heading_norm(line, complete)
        if any(p.startswith(g) for g in self.given):
            return True
        if not p.startswith("**"):
            if self.current in self.lists and p.startswith("*"):
                # In a list only a heading's "**" opens a line with an
                # asterisk.
                return complete or p != "*"
            return self._bad_item(line.lstrip(), complete)
        ungiven = self._ungiven()
        if any(p.startswith(h) for h in ungiven):
            return False
        # A bold line that is no heading still to come: ended, or one no
        # more text can make one.
        return complete or not any(h.startswith(p) for h in ungiven)

    def _bad_item(self, t, complete):
        """Whether t, a line that opens with no asterisk and its leading
        blanks aside, breaks a list section's shape: blank, or "- " and
        more (a line so far may still be on its way: "" or "-")."""
        if self.current not in self.lists or t == "":
            return False
        if complete:
            return not t.startswith("- ")
        return not (t.startswith("- ") or t == "-")

    def fails(self, token):
        """Whether token, written next, breaks the rule (end of sequence
        never does)."""
        if token in self._index.eos:
            return False
        text = self.line + self._index.texts[token]
        *done, last = text.split("\n")
        return any(self._bad_line(d, True) for d in done) or self._bad_line(last, False)

    def mask(self):
        """What the rule allows at this step: ("ban", ids), the tokens it
        bans, or ("allow", ids), the only tokens it allows (a line that
        has opened with "**" may go on only toward a heading still to
        come)."""
        index, p = self._index, heading_norm(self.line)
        ungiven = self._ungiven()
        if p.startswith("**") and not any(p.startswith(h) for h in ungiven):
            cands = set(index.blank) | set(index.newline)
            for h in ungiven:
                if h.startswith(p):
                    cands.update(index.related(h[len(p) :]))
            return "allow", sorted({t for t in cands if not self.fails(t)} | set(index.eos))
        if self.current in self.lists and p in ("", "-", "*"):
            # A list's line that has not begun its bullet or heading: few
            # tokens may go on with it, so the rule names those.
            cands = set(index.blank) | set(index.newline) | set(index.star)
            if p == "":
                cands.update(index.related("- "))
            ok = {t for t in cands if not self.fails(t)} | set(index.eos)
            if p == "-":
                # Every token without a newline that opens with a space
                # makes "- " of it: a third of the vocabulary, allowed
                # whole instead of checked one by one.
                return "allow", index.space + sorted(ok - index.space_set)
            return "allow", sorted(ok)
        cands = set(index.newline_star)
        if self.current in self.lists:
            # A newline may open a line of another shape in a list.
            cands.update(index.newline)
        if p in ("", "*"):
            # A line's start: a token may open it with "**".
            cands.update(index.star)
            cands.update(index.newline)
        return "ban", sorted(t for t in cands if self.fails(t))

    def banned(self):
        """The tokens the rule bans at this step, as a list (tests and
        tools; mask() is what the guard applies)."""
        kind, ids = self.mask()
        if kind == "ban":
            return ids
        allowed = set(ids)
        return [t for t in range(len(self._index.texts)) if t not in allowed]


class LineRepeat:
    """The rule that a line says nothing a third time: within one line, no
    span of `span` tokens comes back a third time unless the prompt holds
    that span (a path the finding names may be written more than once:
    "... at a/b.json:13 ... replace the value in a/b.json:13"). A loop
    that varies ("--keep --keep --remove --keep", "Apex.Apex.ApeX.Apex", a
    finding's list of files written over and over in a new order) has no
    one period for CycleStop to see, but it repeats spans. A second copy
    is let through, as CycleStop lets a cycle's: barring it steered an
    answer that said "upgrade from 4.2.1 to 5.0.3" twice in its first line
    to "5.0.4", a version in no prompt (bench/RESULTS.md, "Lists and
    lines"). Reference answers repeat no span of more than 10 tokens
    within a line that their prompt does not hold, so a span of 16 leaves
    them whole.

    Steered out of a varied loop, a model writes a new variation ("--keep
    --set --remove", "--old --new --all") as readily as the old: after
    `max_strikes` steers within one line (the guard's, for a cycle or a
    span; 0: no limit) the line is stuck, and `must_end` says so: the
    guard then lets only a newline through, so the answer goes on to its
    next line (the closing fence, the next step) instead of writing the
    stuck one to the bound.

    O(1) a token: a dictionary from each (span - 1)-token key of the line
    to the tokens that followed it, each with its count."""

    def __init__(self, tokenizer, span, prompt=(), max_strikes=0):
        if span < 2:
            raise WorkerError("BadRequest", f"loop_guard line_span: want 2 or more, got {span}")
        self.span = span
        self.max_strikes = max_strikes
        self.strikes = 0
        index = TokenText.of(tokenizer)
        self.newline, self.eos = index.newline, index.eos
        self._newline = set(self.newline)
        p = [int(t) for t in prompt]
        self._prompt = {tuple(p[i : i + span]) for i in range(len(p) - span + 1)}
        self._line = []
        self._follow = {}

    def strike(self):
        """Count a steer within the current line."""
        self.strikes += 1

    @property
    def must_end(self):
        """Whether the current line is stuck and the next token must end
        it."""
        return bool(self.max_strikes) and self.strikes >= self.max_strikes

    def push(self, token):
        if token in self._newline:
            self._line, self._follow, self.strikes = [], {}, 0
            return
        line, k = self._line, self.span - 1
        if len(line) >= k:
            seen = self._follow.setdefault(tuple(line[len(line) - k :]), {})
            seen[token] = seen.get(token, 0) + 1
        line.append(token)

    def banned(self):
        """The tokens that, written next, would write a span of the line a
        third time that the prompt does not hold."""
        k = self.span - 1
        if len(self._line) < k:
            return []
        key = tuple(self._line[len(self._line) - k :])
        seen = self._follow.get(key, {})
        return sorted(t for t, n in seen.items() if n >= 2 and key + (t,) not in self._prompt)


# A list item's marker at a line's start, "1. " or "- " (Go's
# evaluate.listMarkerRE): what ItemRepeat, pin.py's StepLines and Go's
# evaluate.StepText read a line without.
LIST_MARKER_RE = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")
# A line's start that is still all blanks and (the beginning of) such a
# marker: "", "1", "12.", "- ", " 3) ".
_MARKER_SO_FAR_RE = re.compile(r"\s*(?:(?:\d+[.)]?|[-*+])\s*)?")


class _Openings:
    """Where a text stands for the item rule: the tokens of the current
    line's opening (its list marker aside, at most span of them) and, for
    each opening of span - 1 tokens seen, the tokens that completed it,
    each with its count."""

    def __init__(self, texts, span):
        self._texts, self.span = texts, span
        self.opening = []
        self.opened = False
        self.lead = ""  # the line so far while it is blanks and a marker
        self.counts = {}

    def push(self, token):
        text = self._texts[token] if 0 <= token < len(self._texts) else ""
        if "\n" in text:
            self.opening, self.opened, self.lead = [], False, ""
            # A token that opens the next line with words ("\nbuffer") is
            # the first of its opening.
            text = text.rsplit("\n", 1)[1]
        if not self.opened:
            self.lead += text
            if _MARKER_SO_FAR_RE.fullmatch(self.lead):
                return
            self.opened = True
        if len(self.opening) < self.span:
            self.opening.append(token)
            if len(self.opening) == self.span:
                seen = self.counts.setdefault(tuple(self.opening[:-1]), {})
                seen[token] = seen.get(token, 0) + 1


class ItemRepeat:
    """The rule that no line opens with the same `span` tokens a third
    time, its list marker aside ("- ", "12. "; LIST_MARKER_RE: the tokens
    of the line while it is blanks and a marker so far), unless the
    prompt has as many lines that open so. An answer that writes two items of a list by
    turns, numbered on ("4. Follow the rule's documented fix: ...", "5.
    Address the running application's ...", "6. Follow ..."), repeats no
    one period for CycleStop, since the numbers differ, and no span within
    a line for LineRepeat: the v23 demo model's grounded checkov answer on
    the other projects wrote two such steps to the bound (bench/RESULTS.md,
    "The release line in the answer's words"). Read against their prompts
    the rule masks no reference answer at a span of 3 and up (3 of 1,020 at
    2; TestRepeatStopAndLoopGuardSpareReferenceAnswers holds them to the
    default), so a span of 8 leaves them whole.

    A token is banned where it would complete the third copy of an
    opening; the model takes its next choice, and the line's steers count
    toward LineRepeat's strikes as the other rules' do. The rule is exact
    and O(1) a token: a dictionary from each (span - 1)-token opening to
    the tokens that completed it."""

    def __init__(self, tokenizer, span, prompt=()):
        if span < 2:
            raise WorkerError("BadRequest", f"loop_guard item_span: want 2 or more, got {span}")
        texts = TokenText.of(tokenizer).texts
        self._state = _Openings(texts, span)
        held = _Openings(texts, span)
        for t in prompt:
            held.push(int(t))
        self._held = held.counts

    def push(self, token):
        self._state.push(token)

    def banned(self):
        """The tokens that, written next, would open the line with an
        opening written twice already (or as often as the prompt has it)."""
        st = self._state
        if not st.opened or len(st.opening) != st.span - 1:
            return []
        key = tuple(st.opening)
        seen, held = st.counts.get(key, {}), self._held.get(key, {})
        return sorted(t for t, n in seen.items() if n >= max(2, held.get(t, 0)))

    def fails(self, token):
        """Whether token, written next, breaks the rule."""
        return token in self.banned()


# What separates words for WordRun, as Go's evaluate.RepeatedWord reads
# an answer: blanks, commas, tabs and line breaks.
WORD_SEPARATORS = " ,\t\n\r"
_SEPARATOR = re.compile("[" + re.escape(WORD_SEPARATORS) + "]")


def _is_word(w):
    """Letters only (evaluate.isWord): "buffer." ends a run, numbers are
    no words."""
    return w.isalpha()


class _WordState:
    """Where a text stands for the word rule: prev, the last word it
    completed (lower case; None after a field that is no word), run, how
    many times in a row it wrote prev, and cur, the field it is writing."""

    __slots__ = ("prev", "run", "cur")

    def __init__(self, prev=None, run=0, cur=""):
        self.prev, self.run, self.cur = prev, run, cur

    def feed(self, text, limit=0, allowed=None):
        """Append text; with limit, return the first run of limit or more
        copies of a word that allowed (word -> the longest run the prompt
        holds) does not cover, counting the field being written when it is
        already the word: (word, copies) or None."""
        allowed = allowed or {}

        def over(word, copies):
            return limit and copies >= limit and allowed.get(word, 0) < copies

        hit = None
        for c in text:
            if c in WORD_SEPARATORS:
                if self.cur:
                    w, self.cur = self.cur.lower(), ""
                    if _is_word(w):
                        self.run = self.run + 1 if w == self.prev else 1
                        self.prev = w
                    else:
                        self.prev, self.run = None, 0
                    if hit is None and over(self.prev, self.run):
                        hit = (self.prev, self.run)
            else:
                self.cur += c
        if hit is None and self.cur and self.cur.lower() == self.prev and over(self.prev, self.run + 1):
            hit = (self.prev, self.run + 1)
        return hit

    def copy(self):
        return _WordState(self.prev, self.run, self.cur)


def word_runs(text):
    """Each word of text (lower case) with the longest run of it text
    writes, as _WordState counts runs."""
    state, runs = _WordState(), {}
    for c in text + " ":
        before = (state.prev, state.run)
        state.feed(c)
        if state.prev is not None and (state.prev, state.run) != before:
            runs[state.prev] = max(runs.get(state.prev, 0), state.run)
    return runs


class WordRun:
    """The rule that no word is written `limit` times in a row (case
    aside, with nothing but blanks, commas and line breaks between), unless
    the prompt writes it as many times: the loop no other rule sees. The
    demo's model answered a flawfinder finding "The product buffer buffer
    buffer …", fifteen times in one line: a one-token cycle reaches
    CycleStop's span only after 16 tokens, and LineRepeat's span is 16
    tokens too. Go's evaluate.RepeatedWord counts such a run from four
    copies; reference answers never write a word three times in a row, so
    a limit of 3 leaves them whole (TestRepeatStopAndLoopGuardSpareReferenceAnswers).

    A token is banned where it would complete a copy, or write one that is
    the word so far ("buffer" after "buffer buffer ", though "buffers"
    might have followed: the model takes its next choice, " buffers" or
    another word). The rule is exact: banned() checks every token that can
    reach the word (WordTable's lookups, and the tokens that write more
    than one field), each by the same reading of the text."""

    def __init__(self, tokenizer, limit, prompt=()):
        if limit < 2:
            raise WorkerError("BadRequest", f"loop_guard word_run: want 2 or more, got {limit}")
        self.limit = limit
        self._index = WordTable.of(tokenizer)
        texts = self._index.texts
        self._allowed = word_runs("".join(texts[int(t)] for t in prompt if 0 <= int(t) < len(texts)))
        self._state = _WordState()

    def push(self, token):
        texts = self._index.texts
        if 0 <= token < len(texts):
            self._state.feed(texts[token])

    def fails(self, token):
        """Whether token, written next, writes a word a limit-th time in a
        row that the prompt does not."""
        texts = self._index.texts
        if not 0 <= token < len(texts):
            return False
        return self._state.copy().feed(texts[token], self.limit, self._allowed) is not None

    def banned(self):
        """The tokens the rule bans at this step, sorted."""
        st, index = self._state, self._index
        # A token that opens with a separator first completes the field
        # being written ("buffer" + " buffer"), then writes its own.
        done = st.copy()
        done.feed(" ")
        cands = set(index.multi_at_least(self.limit - max(st.run, done.run)))
        if done.prev is not None and done.run >= self.limit - 1:
            cands.update(index.reaching(done.prev, stripped=True))
        if st.cur and st.prev is not None and st.run >= self.limit - 1 and st.prev.startswith(st.cur.lower()):
            cands.update(index.reaching(st.prev[len(st.cur) :], stripped=False))
        return sorted(t for t in cands if self.fails(t))


class WordTable:
    """The lookups WordRun needs over a tokenizer's token texts (TokenText's
    texts), built once per tokenizer and kept on it: each token's text in
    lower case, as is and without leading separators, sorted, and the
    tokens that write more than one field (a separator between two other
    characters), with how many."""

    def __init__(self, tokenizer):
        self.texts = TokenText.of(tokenizer).texts
        low = [(t.lower(), i) for i, t in enumerate(self.texts)]
        self._raw = sorted((t, i) for t, i in low if t)
        self._stripped = sorted((t.lstrip(WORD_SEPARATORS), i) for t, i in low if t.lstrip(WORD_SEPARATORS))
        multi = []
        for i, t in enumerate(self.texts):
            fields = sum(1 for f in _SEPARATOR.split(t) if f)
            if fields >= 2:
                multi.append((fields, i))
        # Most fields first: multi_at_least is a prefix.
        self._multi = sorted(multi, reverse=True)

    @classmethod
    def of(cls, tokenizer):
        return _kept_on(tokenizer, "_vulntune_word_table", cls)

    def multi_at_least(self, n):
        """Tokens that write n fields or more (at least 2)."""
        n = max(n, 2)
        out = []
        for fields, i in self._multi:
            if fields < n:
                break
            out.append(i)
        return out

    def reaching(self, rest, stripped):
        """Tokens whose text in lower case (without leading separators when
        stripped) starts with rest: a superset of the single-field tokens
        that write rest on to a copy (the caller checks each)."""
        return _starting_with(self._stripped if stripped else self._raw, rest)


def _kept_on(tokenizer, attr, build):
    """build(tokenizer), made once per tokenizer and kept on it as attr."""
    value = getattr(tokenizer, attr, None)
    if value is None:
        value = build(tokenizer)
        setattr(tokenizer, attr, value)
    return value


def _starting_with(table, prefix):
    """Ids of a sorted (text, id) table's entries whose text starts with
    prefix (indices, not slices: a slice of the table copies its tail)."""
    out = []
    k = bisect.bisect_left(table, (prefix,))
    while k < len(table) and table[k][0].startswith(prefix):
        out.append(table[k][1])
        k += 1
    return out


class CycleGuard:
    """An mlx-lm logits processor (BatchGenerator.insert's per-sequence
    `logits_processors`) that keeps an answer out of loops: at each step it
    masks every token that CycleStop at its settings would stop the answer
    for, so the model takes its next choice instead of a further copy.

    A run the prompt itself holds is not masked: an answer copies what its
    finding says, and a hash of zeros or a list of files the finding
    repeats is a fact, not a loop. With greedy decoding an answer the guard
    never masked is the unguarded answer token for token.

    `bans` counts the steps at which it masked the model's top token,
    `first_ban` is the answer token where it first did (None: never): how
    often the weights alone would have gone on looping, as results report
    it. After `max_bans` (0: no limit) it gives up (`gave_up`) and the
    decoder ends the answer as the repetition stop would: a model that
    keeps coming back to a loop is stuck in it, and going on to the length
    bound costs minutes and mends nothing.

    `sections`, a SectionGuard or None, adds its bans: `section_bans`
    counts the steps where it masked the top token (they do not count
    toward max_bans: a bold line steered off is not a loop the
    model is stuck in). `lines`, a LineRepeat or None, adds its own:
    `line_bans` counts them, apart from max_bans too, so a varied loop the
    rule steers out of may go on to end by itself; and where its line is
    stuck (LineRepeat.must_end) the guard lets only a token that ends the
    line through, `line_ends` counting the steps where that changed the
    choice. `words`, a WordRun or None, adds its bans too: `word_bans`
    counts them, apart from max_bans, and each is a steer of its line for
    LineRepeat's strikes; and `items`, an ItemRepeat or None, its own,
    `item_bans`, likewise.
    """

    def __init__(self, settings, prompt=(), capacity=0, max_bans=0, sections=None, lines=None, words=None, items=None):
        self._cycle = CycleStop(*settings, capacity=capacity)
        self.max_bans = max_bans
        self.sections = sections
        self.section_bans = 0
        self.lines = lines
        self.line_bans = 0
        self.line_ends = 0
        self.words = words
        self.word_bans = 0
        self.items = items
        self.item_bans = 0
        # Token ids joined with commas: "does the prompt hold this run" is
        # one substring search.
        self._prompt = "," + ",".join(map(str, prompt)) + ","
        self._started = False
        self.bans = 0
        self.first_ban = None

    def resume(self, prefix):
        """Start past prefix, answer tokens already chosen (grounded
        regeneration's resumed answers): the guard reads them first, as it
        would have read them while they were generated."""
        for t in prefix:
            self._push(int(t))

    def _push(self, token):
        self._cycle.push(token)
        if self.sections is not None:
            self.sections.push(token)
        if self.lines is not None:
            self.lines.push(token)
        if self.words is not None:
            self.words.push(token)
        if self.items is not None:
            self.items.push(token)

    def _in_prompt(self, token, span):
        run = self._cycle.tail(span - 1) + [token]
        return ("," + ",".join(map(str, run)) + ",") in self._prompt

    def __call__(self, context, logits):
        import mlx.core as mx

        # The context ends with the token fed to the model this step: the
        # prompt's last on the first call, the previous answer token after.
        if self._started:
            self._push(int(context[-1].item()))
        self._started = True
        if self.gave_up:
            return logits
        np = self._cycle._np
        cycles = {t for t, span in self._cycle.completing() if not self._in_prompt(t, span)}
        kind, ids = self.sections.mask() if self.sections is not None else ("ban", [])
        repeats = set(self.lines.banned()) if self.lines is not None else set()
        words = set(self.words.banned()) if self.words is not None else set()
        items = set(self.items.banned()) if self.items is not None else set()
        stuck = self.lines is not None and self.lines.must_end
        if not cycles and not repeats and not words and not items and kind == "ban" and not ids and not stuck:
            return logits
        # A ban counts where it changed the choice: the top token was one.
        top = int(mx.argmax(logits.reshape(-1)).item())
        section_banned = (top in ids) if kind == "ban" else (top not in set(ids))
        if top in cycles:
            self.bans += 1
        elif section_banned:
            self.section_bans += 1
        elif top in repeats:
            self.line_bans += 1
        elif top in words:
            self.word_bans += 1
        elif top in items:
            self.item_bans += 1
        if top in cycles or section_banned or top in repeats or top in words or top in items:
            if self.first_ban is None:
                self.first_ban = len(self._cycle)
            if self.lines is not None and not section_banned:
                self.lines.strike()
        if self.lines is not None and self.lines.must_end:
            # A stuck line: only a token that ends it, as the other rules
            # allow it (end of sequence at worst).
            ends = set(self.lines.newline) - cycles - repeats - words - items
            ends = ends - set(ids) if kind == "ban" else ends & set(ids)
            if top not in ends:
                self.line_ends += 1
            kind, ids = "allow", sorted(ends | set(self.lines.eos))
            cycles, repeats, words, items = set(), set(), set(), set()
        if kind == "allow":
            mask = np.full(logits.shape[-1], -np.inf, dtype=np.float32)
            mask[[t for t in ids if t < logits.shape[-1]]] = 0
        else:
            mask = np.zeros(logits.shape[-1], dtype=np.float32)
            mask[[t for t in ids if t < logits.shape[-1]]] = -np.inf
        mask[sorted(cycles | repeats | words | items)] = -np.inf
        return logits + mx.array(mask).astype(logits.dtype)

    @property
    def gave_up(self):
        """Whether the answer used up max_bans: the decoder ends it here,
        as the repetition stop would ("repetition")."""
        return bool(self.max_bans) and self.bans >= self.max_bans

    def stats(self):
        """What the guard did to the answer, as the item reports it."""
        return {
            "bans": self.bans,
            "section_bans": self.section_bans,
            "line_bans": self.line_bans,
            "line_ends": self.line_ends,
            "word_bans": self.word_bans,
            "item_bans": self.item_bans,
            "first_ban": self.first_ban,
            "gave_up": self.gave_up,
        }


def stop_from(req, key="repeat_stop"):
    """The CycleStop settings of a request's "repeat_stop" (or of key, such
    as "loop_guard": max_period, min_repeats, min_tokens), or None when it
    has none: older callers generate to their bound, unguarded."""
    spec = req.get(key)
    if not spec:
        return None
    try:
        return int(spec["max_period"]), int(spec["min_repeats"]), int(spec["min_tokens"])
    except (KeyError, TypeError, ValueError) as e:
        raise WorkerError("BadRequest", f"{key} {spec!r}: want max_period, min_repeats and min_tokens ({e})")


def _headings(req, key):
    lines = req["loop_guard"].get(key) or []
    if not isinstance(lines, list) or not all(isinstance(h, str) and h.strip() and "\n" not in h for h in lines):
        raise WorkerError("BadRequest", f"loop_guard {key} {lines!r}: want a list of one-line headings")
    return lines


def _count(req, key, want):
    """The loop guard's setting key as an int (0 when absent); a value that
    is no number is a BadRequest saying what was wanted."""
    try:
        return int(req["loop_guard"].get(key) or 0)
    except (TypeError, ValueError) as e:
        raise WorkerError("BadRequest", f"loop_guard {key}: want {want} ({e})")


def guard_from(req):
    """The CycleGuard settings of a request's "loop_guard" (CycleStop's
    three, max_bans, the section headings and those of them that open
    lists, each a list of lines, possibly empty, line_span, 0 for no
    LineRepeat, line_strikes, word_run, 0 for no WordRun, and item_span,
    0 for no ItemRepeat), or None
    when it has none; bad ones are a BadRequest,
    raised before a model loads."""
    settings = stop_from(req, "loop_guard")
    if settings is None:
        return None
    CycleStop(*settings)
    max_bans = _count(req, "max_bans", "a count")
    if max_bans < 0:
        raise WorkerError("BadRequest", f"loop_guard max_bans: want 0 or more, got {max_bans}")
    sections, lists = _headings(req, "sections"), _headings(req, "lists")
    if not set(lists) <= set(sections):
        raise WorkerError("BadRequest", f"loop_guard lists {lists!r}: want headings of its sections")
    span = _count(req, "line_span", "a count of tokens")
    if span == 1 or span < 0:
        raise WorkerError("BadRequest", f"loop_guard line_span: want 0 or 2 or more, got {span}")
    strikes = _count(req, "line_strikes", "a count")
    if strikes < 0 or (strikes and not span):
        raise WorkerError("BadRequest", f"loop_guard line_strikes: want 0 or more, with a line_span, got {strikes}")
    word_run = _count(req, "word_run", "a count of copies")
    if word_run == 1 or word_run < 0:
        raise WorkerError("BadRequest", f"loop_guard word_run: want 0 or 2 or more, got {word_run}")
    item_span = _count(req, "item_span", "a count of tokens")
    if item_span == 1 or item_span < 0:
        raise WorkerError("BadRequest", f"loop_guard item_span: want 0 or 2 or more, got {item_span}")
    return GuardSpec(settings, max_bans, sections, lists, span, strikes, word_run, item_span)


# guard_from's reading of a request's loop guard.
GuardSpec = namedtuple(
    "GuardSpec", "settings max_bans sections lists line_span line_strikes word_run item_span", defaults=((), 0, 0, 0, 0)
)


def guard_for(spec, prompt, capacity, tokenizer):
    """A CycleGuard for one prompt (token ids) under guard_from's spec, its
    section and line rules read in tokenizer's tokens: the evaluate and
    answer ops and the server build theirs here."""
    rule = SectionGuard(tokenizer, spec.sections, spec.lists) if spec.sections else None
    lines = LineRepeat(tokenizer, spec.line_span, prompt, spec.line_strikes) if spec.line_span else None
    words = WordRun(tokenizer, spec.word_run, prompt) if spec.word_run else None
    items = ItemRepeat(tokenizer, spec.item_span, prompt) if spec.item_span else None
    return CycleGuard(
        spec.settings,
        prompt,
        capacity=capacity,
        max_bans=spec.max_bans,
        sections=rule,
        lines=lines,
        words=words,
        items=items,
    )


def first_section_ban(tokens, tokenizer, headings, lists=()):
    """The index of the first of tokens that SectionGuard with headings
    and lists would ban, or -1."""
    return _first_failing(SectionGuard(tokenizer, headings, lists), tokens)


def first_line_ban(tokens, tokenizer, span, prompt=()):
    """The index of the first of tokens that LineRepeat with span and
    prompt would ban, or -1."""
    rule = LineRepeat(tokenizer, span, prompt)
    for i, t in enumerate(tokens):
        if t in rule.banned():
            return i
        rule.push(t)
    return -1


def first_word_ban(tokens, tokenizer, limit, prompt=()):
    """The index of the first of tokens that WordRun with limit and prompt
    would ban, or -1."""
    return _first_failing(WordRun(tokenizer, limit, prompt), tokens)


def first_item_ban(tokens, tokenizer, span, prompt=()):
    """The index of the first of tokens that ItemRepeat with span and
    prompt would ban, or -1."""
    return _first_failing(ItemRepeat(tokenizer, span, prompt), tokens)


def _first_failing(rule, tokens):
    """The index of the first of tokens that rule.fails, each pushed after
    it passes, or -1."""
    for i, t in enumerate(tokens):
        if rule.fails(t):
            return i
        rule.push(t)
    return -1


def first_stop(tokens, settings):
    """The number of tokens after which CycleStop with settings ends
    tokens, or -1 when it never does."""
    guard = CycleStop(*settings, capacity=len(tokens))
    for i, t in enumerate(tokens):
        if guard.push(t):
            return i + 1
    return -1


def op_references(req):
    """Token counts of req["texts"] with req["model"]'s tokenizer, where
    the repetition stop req["repeat_stop"] would end each and where the
    loop guard req["loop_guard"] would first mask its next token, for a
    cycle, a line its section rule bans, a span its line rule does, a
    word its word rule does or an opening its item rule does (-1:
    never). req["prompts"], when given, one a text, are what the guard
    reads each text against, as it does in decoding; without them it
    reads at its strictest, as if no prompt held anything."""
    import os
    from pathlib import Path

    from mlx_lm.utils import load_tokenizer

    model_dir = req["model"]
    if not os.path.isdir(model_dir):
        raise WorkerError("BadRequest", f"model directory {model_dir} does not exist")
    prompts = req.get("prompts") or []
    if prompts and len(prompts) != len(req["texts"]):
        raise WorkerError("BadRequest", f"references: {len(prompts)} prompts for {len(req['texts'])} texts")
    settings = stop_from(req)
    spec = guard_from(req)
    from .chat import answer_ends

    tokenizer = answer_ends(load_tokenizer(Path(model_dir)))
    tokens, stops, guarded = [], [], []
    for i, text in enumerate(req["texts"]):
        ids = tokenizer.encode(text, add_special_tokens=False)
        prompt = tokenizer.encode(prompts[i], add_special_tokens=False) if prompts else []
        tokens.append(len(ids))
        stops.append(first_stop(ids, settings) if settings else -1)
        bans = []
        if spec is not None:
            # The guard masks the token that would make CycleStop at its
            # settings fire: the one after first_stop's count minus one.
            # (A run the prompt holds is not read aside here: reference
            # answers hold no cycle of the guard's length.)
            at = first_stop(ids, spec.settings)
            bans.append(at - 1 if at > 0 else -1)
            if spec.sections:
                bans.append(first_section_ban(ids, tokenizer, spec.sections, spec.lists))
            if spec.line_span:
                bans.append(first_line_ban(ids, tokenizer, spec.line_span, prompt))
            if spec.word_run:
                bans.append(first_word_ban(ids, tokenizer, spec.word_run, prompt))
            if spec.item_span:
                bans.append(first_item_ban(ids, tokenizer, spec.item_span, prompt))
        hits = [b for b in bans if b >= 0]
        guarded.append(min(hits) if hits else -1)
    return {"tokens": tokens, "stops": stops, "guarded": guarded}


OPS = {"references": op_references}


def main():
    return serve(OPS, "vulntune_engine.repeat")


if __name__ == "__main__":
    finish(main())
