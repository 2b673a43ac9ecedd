"""Pinned fix snippets: under grounded decoding, what a reader copies from
an answer to apply its fix never gives the installed, vulnerable version.

Grounded decoding (grounded.py) lets an answer name any version its prompt
names, and the installed version is one of them: issue 16's logback answers
pinned `1.3.5` in the copy-paste Gradle line below a correct "upgrade to
1.3.14", and the tuned model writes `npm add tunnel-agent@0.4.3` on projects
it never saw. `SnippetPin` holds a fix snippet to evaluation's rule: no
version in it is the installed one (evaluate.snippetScore's "vulnerable"),
where a fix snippet is what evaluate.fixSnippets
(internal/evaluate/snippet.go) reads as one: each fenced block (a diff's
removed lines aside) and each install or upgrade command outside them. The
functions below port fixSnippets and versionTokens; a Go test
(internal/evaluate/pin_internal_test.go) walks random answers through
`SnippetPin.check` and requires that every answer it accepts has no fix
snippet naming the installed version by evaluate's own functions.

Versions are held while written, not only once whole: a snippet's last
version, still open at the end of the text, may not go on to be the
installed one when it can no longer become the fixed one (`@0.4` with
0.4.3 installed and 0.6.0 fixed), so the decoder turns to the fixed version
where the answers part, instead of finishing the installed one and then
being barred from ending it.
"""

import re

from .grounded import LOOSE_VER_RE, norm_version
from .repeat import LIST_MARKER_RE, heading_norm

# evaluate's upgradeCmdRE.
UPGRADE_CMD_RE = re.compile(
    r"(?i)\b(?:npm|pnpm|yarn|pip3?|poetry|uv|go|cargo|gem|bundle|composer|dotnet|nuget|mvn|apt-get|apt|apk|yum|dnf|brew)"
    r"\s+(?:install|i|add|get|update|upgrade|require|up)\b",
    re.ASCII,
)
# evaluate's inlineCodeRE and clauseEndRE (Go's \s is ASCII).
INLINE_CODE_RE = re.compile("`([^`\n]+)`")
CLAUSE_END_RE = re.compile(r"[.,;:][\t\n\f\r ]")
# evaluate's epochRE: a Debian or RPM epoch right before a version.
EPOCH_RE = re.compile(r"(?:^|[^0-9A-Za-z_.:])([0-9]+:)\Z")


def _version_byte(c):
    return (c.isascii() and c.isalnum()) or c in ".-+~_"


def version_tokens(text):
    """evaluate.versionTokens: each version of text, whole, as (start,
    end): a LOOSE_VER_RE match run on over the characters a version is
    made of, an epoch before it taken in."""
    out, last = [], 0
    for m in LOOSE_VER_RE.finditer(text):
        start, end = m.start(), m.end()
        if start < last:
            continue
        while end < len(text) and _version_byte(text[end]):
            end += 1
        e = EPOCH_RE.search(text[last:start])
        if e is not None:
            start = last + e.start(1)
        out.append((start, end))
        last = end
    return out


def _is_fence(line):
    t = line.strip()
    return t.startswith("```") or t.startswith("~~~")


def _command_clause(s):
    m = CLAUSE_END_RE.search(s)
    if m is not None:
        s = s[: m.start()]
    return s.rstrip(".,;: \t")


def fix_snippets(answer):
    """evaluate.fixSnippets, each snippet as (text, open): open when it
    runs to the end of answer on a version's characters (its last version
    may still grow). A diff
    block's removed lines are left out, as evaluation leaves them out, only
    once the block has an added line before them: evaluation decides on the
    whole block, which decoding has not seen yet."""
    out, block, plus = [], [], False
    inside = False
    lines = answer.split("\n")
    for n, line in enumerate(lines):
        last = n == len(lines) - 1
        if _is_fence(line):
            if inside:
                out.append(("\n".join(block), False))
                block, plus = [], False
            inside = not inside
            continue
        if inside:
            if not (plus and line.startswith("-")):
                block.append(line)
            plus = plus or (line.startswith("+") and not line.startswith("+++"))
            continue
        # An inline code span is closed by its backtick; a span still open
        # is read as the rest of its line is, as evaluation reads it.
        spans = []

        def blank(m):
            if UPGRADE_CMD_RE.search(m.group(1)):
                spans.append((m.group(1), False))
            return " "

        rest = INLINE_CODE_RE.sub(blank, line)
        out.extend(spans)
        m = UPGRADE_CMD_RE.search(rest)
        if m is not None:
            clause = rest[m.start() :]
            uncut = CLAUSE_END_RE.search(clause) is None
            out.append((_command_clause(clause), last and uncut and _ends_open(clause)))
    if inside and block:
        snip = "\n".join(block)
        out.append((snip, _ends_open(snip)))
    return out


def _ends_open(s):
    # A version's characters (its dots and dashes included) at the end of
    # the text: the version may go on ("1.2." on its way to 1.2.1).
    return s != "" and _version_byte(s[-1])


def _forms(v):
    """The ways a snippet may write version v: as given, without a "v"
    prefix, without an epoch."""
    v = v.lower()
    out = {v, v[1:] if v.startswith("v") else v}
    out |= {f.split(":", 1)[1] for f in out if ":" in f}
    return out


# The most leading blanks a fenced fix line may have: deeper than any
# build file's snippet nests.
MAX_INDENT = 16


def _fence_on_way(n):
    """Whether n, a line not yet ended, may still become a fence."""
    return "```".startswith(n) or "~~~".startswith(n)


def _line_norm(line):
    """A snippet line as evaluation compares it (evaluate.snippetLines):
    runs of whitespace made one, leading and trailing ones aside."""
    return " ".join(line.split())


class SnippetPin:
    """Holds an answer's fix snippets off the installed version, and its
    fenced ones to the finding's own fix snippets, whole.

    installed and fixed are the finding's versions (dataset.Facts). With no
    installed or fixed version, or the two the same version, there is
    no version to hold.

    blocks, when given, are what a fenced block may hold: one or more of
    them whole, one after another (each line as written but for leading
    and trailing blanks: `RUN  apk add` or `dnf -y \t\t\tupdate` is not
    the line, though evaluation, reading runs of whitespace as one, would
    pass it; no blank line), and a fence closes only after a whole one: a
    Maven <dependency> block without its <groupId> line, every line right,
    resolves nothing (evaluation's snippetVerbatim reads blocks so since
    scoring v14). They are the finding's own fix snippets, as vulntune
    writes them from its facts (evaluate.AnswerPin). What a reader copies
    and runs is then a command that resolves, never `npm add lodash
    @4.17.21 --only-minor-version`; which of the blocks an answer gives,
    and everything around them, stays the model's. With neither rule
    check() passes everything."""

    def __init__(self, installed, fixed, blocks=()):
        self.installed = norm_version(installed or "")
        self.versions = bool(installed) and bool(fixed) and self.installed != norm_version(fixed)
        self.banned = _forms(installed or "") - _forms(fixed or "")
        self.allowed = _forms(fixed or "")
        held = {tuple(t for t in (l.strip() for l in b) if t) for b in blocks or ()}
        self.blocks = sorted(b for b in held if b)
        self.active = self.versions or bool(self.blocks)

    def _step(self, states, t):
        """The states after a whole line t from states: each state the
        index of a block and of its next line, None between blocks."""
        out = set()
        for s in states:
            for b, i in [(b, 0) for b in range(len(self.blocks))] if s is None else [s]:
                block = self.blocks[b]
                if block[i] == t:
                    out.add(None if i + 1 == len(block) else (b, i + 1))
        return out

    def _next(self, states):
        """The lines that may come next from states."""
        out = set()
        for s in states:
            if s is None:
                out.update(b[0] for b in self.blocks)
            else:
                out.add(self.blocks[s[0]][s[1]])
        return out

    def _fences_ok(self, text, final):
        # A block is closed only once it holds a whole one of the blocks:
        # with an empty block allowed, a model barred from its own line
        # closed the fence and wrote the line below it, outside any fence,
        # then opened another (bench/RESULTS.md "Lists and lines; fix
        # lines"); with any of their lines allowed, it left a line out.
        inside, states, filled = False, {None}, False
        lines = text.split("\n")
        for k, line in enumerate(lines):
            complete = final or k < len(lines) - 1
            closable = filled and None in states
            if _is_fence(line):
                if inside and not closable:
                    return False
                inside, states, filled = not inside, {None}, False
                continue
            if not inside:
                continue
            t = line.strip()
            if not complete:
                n = _line_norm(line)
                if t == "":
                    # Leading blanks may be on their way to an indented
                    # line, a few of them (a model barred from its own
                    # wrote runs of tabs and spaces, line after line).
                    return len(line) <= MAX_INDENT
                if _fence_on_way(n):
                    return closable
                return _on_way(line, self._next(states))
            # A whole line: the next of a block, never a blank one.
            states = self._step(states, t) if t else set()
            if not states:
                return False
            filled = True
        # An answer that ends inside a block ends it whole.
        return not (final and inside and filled and None not in states)

    def _open_ok(self, snippet):
        """Whether the version still being written at the end of snippet
        can end as something other than the installed version."""
        i = len(snippet)
        while i > 0 and _version_byte(snippet[i - 1]):
            i -= 1
        run = snippet[i:]
        d = next((k for k, c in enumerate(run) if c.isdigit()), None)
        if d is None:
            return True
        if d > 0 and run[d - 1] in "vV" and (d == 1 or not run[d - 2].isalnum()):
            d -= 1
        t = run[d:].lower()
        e = EPOCH_RE.search(snippet[: i + d])
        if e is not None and d == 0:
            t = e.group(1) + t
        t = t[1:] if t.startswith("v") else t
        if not any(b.startswith(t) for b in self.banned):
            return True
        return any(a.startswith(t) for a in self.allowed)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer: no fix
        snippet names the installed version, and unless final, none is
        writing it; every line of a fenced block is one of lines, or on
        its way to one."""
        if self.blocks and not self._fences_ok(text, final):
            return False
        if not self.versions:
            return True
        for snip, is_open in fix_snippets(text):
            for start, end in version_tokens(snip):
                if is_open and not final and end == len(snip):
                    continue
                if norm_version(snip[start:end]) == self.installed:
                    return False
            if is_open and not final and not self._open_ok(snip):
                return False
        return True


class SectionLines:
    """Holds the sections an answer's pin names to the finding's own lines.

    sections maps a heading line ("**Where**") to the only lines its
    section may hold (the facts vulntune writes there: "- File a.tf, line
    3"), as written but for leading and trailing blanks (the list rule's
    indent aside), every one and each once: a run of tabs
    inside a line ("- Package \t\tmemoffset") is no fact and reads as one
    to nobody, a line written again is a loop; blank lines pass. A section
    begins at a line that starts with its heading and ends at the next
    line that opens with "*" (the loop guard lets a line open so only
    toward a heading).
    The line being written must be on its way to one of the lines; a final
    answer's last line must be one, and the section ends only once it
    holds them all, after which only empty lines, two at most, may come
    before the next heading or the end. In which order stays the model's.

    leads maps a heading line ("**Fix**") to the lines its section must
    open with, in order, each as written but for leading and trailing
    blanks, blank lines between them passing (a dependency's upgrade
    sentence: "Upgrade x from 1.0 to 1.1, the lowest fixed version on the
    installed release line; it fixes CVE-…", then its build system's
    label line and fix block); the rest of that section stays the
    model's."""

    def __init__(self, sections, leads=None):
        # A heading with no line holds nothing.
        self.sections = {}
        for h, lines in (sections or {}).items():
            if held := sorted({l.strip() for l in lines or ()} - {""}):
                self.sections[heading_norm(h, complete=True)] = held
        self.leads = {}
        for h, lines in (leads or {}).items():
            if lead := [t for t in (l.strip() for l in lines or ()) if t]:
                self.leads[heading_norm(h, complete=True)] = lead
        self.active = bool(self.sections) or bool(self.leads)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer."""
        if not self.active:
            return True
        return self._walk(text, final)[0]

    def rest(self, text):
        """The rest of the lead line text is writing, where the lead
        decides it ("" for none): what may follow is then that text alone,
        only how it is cut into tokens is open (GroundedProcessor)."""
        if not self.leads:
            return ""
        ok, lead = self._walk(text, False)
        if not ok or lead is None:
            return ""
        line = text.rsplit("\n", 1)[-1].lstrip()
        return lead[0][len(line):] if lead[0].startswith(line) else ""

    def _walk(self, text, final):
        """check's reading of text: whether it may stand, and the lead
        lines still to give in the section its last line is in (None when
        none)."""
        held, seen, lead, after = None, set(), None, 0
        lines = text.split("\n")
        for k, line in enumerate(lines):
            complete = final or k < len(lines) - 1
            n = _line_norm(line)
            if held is not None and len(seen) == len(held) and not n.startswith("*"):
                # A held section that holds all its lines is done: what may
                # follow is a heading or the end, one blank line between
                # (two with the one the end leaves). Past the last
                # section, the v23 model wrote tabs and no-break spaces to
                # the bound under How to verify (4 of its 35 grounded
                # other-projects answers), blank lines to the rules above.
                after += 1
                if line != "" or after > 2:
                    return False, None
                continue
            if n.startswith("*"):
                # A heading, or a line on its way to one: it ends the
                # section held so far, never before all of its lines (a
                # grounded answer left its In short line out, "**In
                # short**" then "**What it is**", another its package's
                # line under Where, and with it the ecosystem) or its
                # lead, and may begin another.
                if (held is not None and len(seen) < len(held)) or lead is not None:
                    return False, None
                held, lead, seen, after = None, None, set(), 0
                if complete:
                    h = heading_norm(n, complete=True)
                    held = next((l for s, l in self.sections.items() if h.startswith(s)), None)
                    lead = next((list(l) for s, l in self.leads.items() if h.startswith(s)), None)
                continue
            if n == "":
                continue
            t = line.strip()
            if lead is not None:
                # The section's first lines are its lead, as written.
                if complete:
                    if t != lead[0]:
                        return False, None
                    lead = lead[1:] or None
                elif not _on_way(line, lead[:1]):
                    return False, None
                continue
            if held is None:
                continue
            if complete:
                # One of the lines, once: a section that says a fact twice
                # is looping ("- The scanner reported no location." twice).
                if t not in held or t in seen:
                    return False, None
                seen.add(t)
            elif not any(l == t or l.startswith(line.lstrip()) for l in held if l not in seen):
                # Not yet ended: a line not written yet, a trailing blank
                # aside, or on its way to one.
                return False, None
        return not (final and ((held is not None and len(seen) < len(held)) or lead is not None)), lead


def _on_way(line, allowed):
    """Whether line, not yet ended, may still become one of allowed as
    written, its indent aside: a blank only where one goes on, or one
    where one ends."""
    t = line.lstrip()
    return any(l.startswith(t) or (t[-1:].isspace() and l == t[:-1]) for l in allowed)


class Forbidden:
    """Phrases an answer may not write, in any case: the claims that make
    its fix wrong (Go's evaluate.AnswerPin: "the lowest fixed version on
    the installed release line" for a fix on a later line, "no fixed
    version is known" for a finding with one), read as scoring reads
    them, a substring of the lower-cased answer.

    Candidates grow an answer that passed by one token, so only a phrase
    that ends in the last token can be new: the check reads the tail a
    phrase and a token can span, not the whole answer."""

    _TOKEN = 256  # more characters than any token decodes to

    def __init__(self, phrases):
        self.phrases = sorted({p.lower() for p in phrases or () if p})
        self.window = max(map(len, self.phrases), default=0) + self._TOKEN
        self.active = bool(self.phrases)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer."""
        if not self.active:
            return True
        tail = text[-self.window :].lower()
        return not any(p in tail for p in self.phrases)


class Headings:
    """Holds an answer to the sections the finding's own answer has (Go's
    evaluate.AnswerPin: its heading lines, "**Where**"): a line that opens
    with "**" must be one of them not yet given, or on its way to one, and
    a line of asterisks alone only on its way to one.
    Grounded answers on the other projects added a References section to
    findings that have no link, and filled it with a How to verify line or
    stopped at an unfinished "**ReferenceS" (11 of the demo model's 35);
    held so, an answer past its last section
    can only end. The price: a "* item" bullet cannot begin past the last
    heading, its "*" being barred before the text can say which it is;
    narrate's bullets are "- ", and no reference answer pays it."""

    def __init__(self, headings):
        self.headings = sorted({heading_norm(h, complete=True) for h in headings or () if h.strip()})
        self.active = bool(self.headings)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer."""
        if not self.active:
            return True
        given = set()
        lines = text.split("\n")
        for k, line in enumerate(lines):
            bare = line.strip()
            if bare and not bare.strip("*"):
                # Asterisks alone: on its way to a heading, never a line
                # of its own. Barred only at "**", answers past their
                # last section ended on a lone "*" (9 of the v19 model's
                # 35 grounded other-projects answers).
                if final or k < len(lines) - 1 or len(given) == len(self.headings):
                    return False
                continue
            if not line.lstrip().startswith("**"):
                continue
            if final or k < len(lines) - 1:
                h = heading_norm(line, complete=True)
                s = next((s for s in self.headings if h.startswith(s)), None)
                if s is None or s in given:
                    return False
                given.add(s)
                continue
            p = heading_norm(line)
            if not any(s.startswith(p) or p.startswith(s) for s in self.headings if s not in given):
                return False
        return True


class StepLines:
    """Holds the fix steps that state facts to the finding's own (Go's
    evaluate.AnswerPin and remedy.FactSteps): steps maps an opening
    ("Address the underlying weakness") to the only lines, list marker and
    blanks aside, that a line opening so, in any case, may be; with none,
    no line may open so. A line still being written that has the opening
    must be on its way to one of them. Grounded answers on the other
    projects wrote 20 weakness steps, none the finding's ("The product
    buffer buffer is not properly aligned with the data buffer"), and
    documented fixes for findings with no page.

    Each of those lines once, as every held line: a grounded checkov
    answer wrote its documented fix five times, numbered 2 to 10, between
    steps the loop guard's item rule steered, the held line leaving no
    other way on once it had opened (bench/RESULTS.md, "Items by turns")."""

    def __init__(self, steps):
        self.steps = {}
        for o, lines in (steps or {}).items():
            if o.strip():
                self.steps[o.strip().lower()] = sorted({l.strip() for l in lines or ()} - {""})
        self.active = bool(self.steps)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer."""
        if not self.active:
            return True
        lines = text.split("\n")
        written = set()
        for k, line in enumerate(lines):
            complete = final or k < len(lines) - 1
            body = LIST_MARKER_RE.sub("", line)
            low = body.lower()
            for o, allowed in self.steps.items():
                if not low.startswith(o):
                    continue
                t = body.strip()
                if complete:
                    if t not in allowed or t in written:
                        return False
                    written.add(t)
                elif not _on_way(body, [l for l in allowed if l not in written]):
                    return False
        return True


class AnswerPin:
    """Every rule of a request's pin (Go's engine.Pin, a dict):
    SnippetPin over its versions and fix blocks, SectionLines over its
    sections, Headings over its headings, Forbidden over its phrases,
    StepLines over its steps. Grounded decoding checks each candidate
    with it."""

    def __init__(self, pin):
        self.snippets = SnippetPin(pin.get("installed"), pin.get("fixed"), pin.get("blocks"))
        self.sections = SectionLines(pin.get("sections"), pin.get("leads"))
        self.headings = Headings(pin.get("headings"))
        self.forbidden = Forbidden(pin.get("forbidden"))
        self.steps = StepLines(pin.get("steps"))
        self.active = (
            self.snippets.active or self.sections.active or self.headings.active or self.forbidden.active or self.steps.active
        )

    def rest(self, text):
        """What text must go on with to the end of its line, where a
        section's lead decides it ("" where nothing does)."""
        return self.sections.rest(text)

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer under
        every rule."""
        return (
            self.snippets.check(text, final=final)
            and self.sections.check(text, final=final)
            and self.headings.check(text, final=final)
            and self.forbidden.check(text, final=final)
            and self.steps.check(text, final=final)
        )
