"""Grounded decoding: an answer may name an identifier — a vulnerability
id, a CWE id, a version, a file path or a URL — only if its ground names it.

The ground is the text the answer must stay within: the prompt, and in
evaluation the finding's facts, exactly what Go's
evaluate.UngroundedIdents (internal/evaluate/hallucinate.go) treats as
ground. `ungrounded(text, ground)` is a port of that function and of the
rules beneath it (internal/ident/ident.go, ground.go); a Go test
(internal/evaluate/grounded_test.go) feeds a table of texts and grounds
through both and requires the same verdicts, so "a grounded answer has no
ungrounded identifier by evaluate's measure" holds by construction.

`GroundedProcessor` is an mlx-lm logits processor (BatchGenerator.insert's
per-sequence `logits_processors`, or generate_step's): at each step it
walks the candidate tokens in descending logit order, appends each to the
answer so far and keeps the first whose text passes `Ground.check`, masking
the others. A text passes when every identifier that no later token can
change is grounded, and the identifier still being written at its end (it
overlaps the last whitespace-separated word) is a prefix of a grounded one:
a sorted list of the ground's identifiers, searched by bisection, is the
trie that decides it. The identifier is judged as written, with the
punctuation evaluation trims from a finished one: every text that passes
can be ended by more of a grounded identifier or by a space, so the walk
never has only punctuation left to append (issue 16's `https://www.w.*.*`).
An URL written with backslashes for its slashes (`https:\\\\host\\path`) is
an URL to evaluation, read with slashes (ident.URLRE, NormURL), and is
held to the URL rules here too. With greedy decoding the processor leaves the
logits alone whenever the top token passes, so a greedy answer that never
needed it is the free answer token for token. mlx-lm calls it once past an
answer's end (its look-ahead step), a call it leaves alone
(GroundedProcessor.past_end).
"""

import bisect
import re

# Go's RE2 classes are ASCII: \d is [0-9], \s is [\t\n\f\r ] (no \v), \w
# and \b are ASCII word characters. Python's are Unicode, so the patterns
# below spell the classes out; letters keep (?i)'s Unicode case folding,
# which RE2 shares (K and the Kelvin sign, s and the long s).
_W = "0-9A-Za-z_"
_B_BEFORE = f"(?-i:(?<![{_W}]))"  # \b before a word character
_B_AFTER = f"(?-i:(?![{_W}]))"  # \b after a word character
_S = "\t\n\f\r "

CWE_RE = re.compile(f"(?i){_B_BEFORE}CWE[{_S}_:-]?([0-9]+){_B_AFTER}")
EXT_RE = re.compile(r"(?i)\.[a-z][a-z0-9]{0,9}\Z")
URL_RE = re.compile(f"(?i){_B_BEFORE}(?:https?|ftp)://[^{_S}<>\"'`)\\]]+")
# ident.URLRE: URL_RE, or a scheme whose separator has a backslash
# (BACKSLASH_URL_RE). What evaluation takes for an URL; URL_RE alone is
# what decoding lets an answer write open.
EVAL_URL_RE = re.compile(f"(?i){_B_BEFORE}(?:https?|ftp)(?:://[^{_S}<>\"'`)\\]]+|:/*\\\\[^{_S}<>\"'`)\\]]*)")
_SCHEME_RE = re.compile(r"(?:https?|ftp)\Z")
VULN_RE = re.compile(
    f"(?i){_B_BEFORE}(?:CVE-[0-9]{{4}}-[0-9]{{4,}}|GHSA(?:-[0-9a-z]{{4}}){{3}}|GO-[0-9]{{4}}-[0-9]{{4,}}|"
    "PYSEC-[0-9]{4}-[0-9]+|RUSTSEC-[0-9]{4}-[0-9]{4,}|OSV-[0-9]{4}-[0-9]+|GSD-[0-9]{4}-[0-9]+|"
    "MAL-[0-9]{4}-[0-9]+|DSA-[0-9]{3,}(?:-[0-9]+)?|DLA-[0-9]{3,}-[0-9]+|USN-[0-9]+-[0-9]+|"
    f"RHSA-[0-9]{{4}}:[0-9]+|ALAS[0-9]*-[0-9]{{4}}-[0-9]+|ELSA-[0-9]{{4}}-[0-9]+|SNYK-[A-Z]+-[A-Z0-9]+-[0-9]+){_B_AFTER}"
)
LOOSE_VER_RE = re.compile(
    r"(?i)v?[0-9]+(?:\.[0-9]+)+(?:[-+~][0-9a-z][0-9a-z.+~-]*|\.[a-z][0-9a-z.+~-]*)?"
)
STRICT_VER_RE = re.compile(
    f"(?i)(?:^|[^{_W}.])(v?[0-9]+\\.[0-9]+\\.[0-9]+(?:\\.[0-9]+)*(?:[-+~][0-9a-z][0-9a-z.+~-]*|\\.[a-z][0-9a-z.+~-]*)?"
    r"|v[0-9]+(?:\.[0-9]+)+)"
)
TOKEN_RE = re.compile(f"[^{_S},;()\\[\\]{{}}<>\"'`*]+")
_SPACE_RUN = re.compile(f"[^{_S}]+")
# A scheme written up to its slashes ("https://"): not yet an URL by
# URL_RE (which wants a character after them), but nothing but an URL can
# follow.
SCHEME_OPEN_RE = re.compile(f"(?i){_B_BEFORE}(?:https?|ftp):/{{1,2}}\\Z")
# A scheme whose separator has a backslash (`https:\`, `http:\\host\x`,
# `https:/\`): no URL to URL_RE, and rarely a path or anything else the
# rules judge, so junk like `https:\\www.w.*` passed them all. check()
# holds it to the URL rules with every backslash read as a slash: it must
# name a grounded page, and with no URL in the ground it cannot start.
BACKSLASH_URL_RE = re.compile(f"(?i){_B_BEFORE}(?:https?|ftp):/*\\\\[^{_S}<>\"'`)\\]]*")
# What UngroundedURLs trims from the end of an URL before judging it.
_URL_TRIM = ".,;:!?'\")]}>*_"
# How many trimmed characters an open URL may end with once it names a
# grounded page: a sentence's "." or a bold "**", not an endless run.
_URL_TAIL = 2

# ident.KnownFiles: finding.ManifestNames() and ident's configFiles,
# lower-cased. The Go cross-check test compares these sets with Go's.
KNOWN_FILES = frozenset(
    n.lower()
    for n in (
        "package.json package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml bun.lock pom.xml "
        "build.gradle build.gradle.kts gradle.lockfile settings.gradle gradle.properties requirements.txt "
        "Pipfile Pipfile.lock poetry.lock uv.lock pdm.lock setup.py setup.cfg pyproject.toml go.mod go.sum "
        "Gemfile Gemfile.lock Cargo.toml Cargo.lock composer.json composer.lock packages.config "
        "packages.lock.json Directory.Packages.props mix.lock pubspec.lock Dockerfile "
        ".npmrc docker-compose.yml docker-compose.yaml .env web.xml application.properties application.yml "
        "application.yaml .gitlab-ci.yml jenkinsfile makefile main.tf values.yaml"
    ).split()
)

# ident.SourceExts.
SOURCE_EXTS = frozenset(
    "java kt kts scala groovy go py rb php cs ts tsx jsx mjs cjs rs c h cpp hpp swift m sh bash ps1 yml "
    "yaml json xml toml ini cfg conf properties gradle tf tfvars hcl sql html htm jsp vue lock lockfile "
    "pem key env".split()
)

KIND_VULN, KIND_CWE, KIND_PATH, KIND_VERSION, KIND_URL = "vulnerability id", "CWE", "path", "version", "URL"

_MAX_INT64 = (1 << 63) - 1


def norm_cwe(s):
    """ident.NormCWE."""
    m = CWE_RE.search(s)
    if m is None or int(m.group(1)) > _MAX_INT64:
        return s.strip().upper()
    return f"CWE-{int(m.group(1))}"


def norm_version(v):
    """ident.NormVersion."""
    v = v.rstrip(".-+~,;:").lower()
    if v.startswith("v"):
        v = v[1:]
    if not any(c in v for c in "-+~"):
        while v.endswith(".0") and v.count(".") > 0:
            v = v[:-2]
    return v


def norm_url(u):
    """ident.NormURL: the path keeps its case."""
    u = u.rstrip(".,;:!?'\")]}>")
    if "\\" in u:
        u = slash_url(u)
    i = u.find("://")
    if i >= 0:
        u = u[i + 3 :]
    u = _host_lower(u)
    if u.startswith("www."):
        u = u[4:]
    i = u.find("#")
    if i >= 0:
        u = u[:i]
    return u.rstrip("/")


def _host_lower(u):
    """u, an URL past its scheme, with its host (up to the first "/", "?"
    or "#") lower-cased: a host's case names nothing, a path's does."""
    m = re.search(r"[/?#]", u)
    end = m.start() if m is not None else len(u)
    return u[:end].lower() + u[end:]


def canonical_id(i):
    """ident.CanonicalID: a vulnerability id as its databases write it in
    their pages' paths."""
    i = i.upper()
    return "GHSA-" + i[5:].lower() if i.startswith("GHSA-") else i


def is_path(tok):
    """ident.IsPath."""
    if tok == "" or "://" in tok or tok.startswith("@"):
        return False
    base = tok[tok.rfind("/") + 1 :].lower()
    if base in KNOWN_FILES:
        return True
    if "/" in tok:
        if EXT_RE.search(base) and not base.startswith("."):
            return True
        if tok.startswith("/") or tok.startswith("~/"):
            return sum(1 for s in tok.split("/") if s not in ("", "~")) >= 2
        return False
    i = base.rfind(".")
    return i > 0 and base[i + 1 :] in SOURCE_EXTS


def _alnum(c):
    return "a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"


def _name_char(c):
    return _alnum(c) or c in "_-."


def contains_word(hay, needle, whole=True):
    """ident.ContainsWord; with whole=False only the start must not continue
    a name (needle may be the beginning of a longer word of hay)."""
    if needle == "":
        return False
    off = 0
    while True:
        start = hay.find(needle, off)
        if start < 0:
            return False
        end = start + len(needle)
        before = start == 0 or not _name_char(hay[start - 1])
        after = (
            not whole
            or end == len(hay)
            or not _name_char(hay[end])
            or (hay[end] == "." and (end + 1 == len(hay) or not _alnum(hay[end + 1])))
        )
        if before and after:
            return True
        off = start + 1


# ident.slashName: a name, a slash and a name.
_SLASH_NAME_RE = re.compile(r"[0-9A-Za-z_.-]/[0-9A-Za-z_.-]")


def cut_path(low_ground, tok):
    """ident.cutPath: tok, lower-cased, occurs in the ground only glued to
    a longer name ("usr/bin/gpassw" of usr/bin/gpasswd), a path cut short;
    a directory written with its slash is none."""
    return (
        bool(_SLASH_NAME_RE.search(tok))
        and not tok.endswith("/")
        and tok in low_ground
        and not contains_word(low_ground, tok)
    )


# canonicalPages of ground.go: the page of an identifier at its authority.
_CANONICAL = [
    (re.compile(r"^cwe\.mitre\.org/data/definitions/([1-9][0-9]*)\.html\Z"), KIND_CWE),
    (re.compile(r"^nvd\.nist\.gov/vuln/detail/(CVE-[0-9]{4}-[0-9]{4,})\Z"), KIND_VULN),
    (re.compile(r"^github\.com/advisories/(GHSA(?:-[0-9a-z]{4}){3})\Z"), KIND_VULN),
    (re.compile(r"^osv\.dev/vulnerability/([^/?#]+)\Z"), KIND_VULN),
]


def slash_url(u):
    """u with its backslashes read as slashes and its scheme's separator as
    "//" (ident.NormURL's reading of a backslash URL)."""
    u = u.replace("\\", "/")
    i = u.find(":")
    if i > 0 and _SCHEME_RE.match(u[:i].lower()):
        u = u[:i] + "://" + u[i + 1 :].lstrip("/")
    return u


def url_rest(u):
    """u past its scheme, its host lower-cased (norm_url's case)."""
    i = u.find("://")
    return _host_lower(u[i + 3 :] if i >= 0 else u)


def _blank(b, lo, hi):
    b[lo:hi] = " " * (hi - lo)


class Ground:
    """The identifiers a ground names, indexed for whole and prefix look-ups."""

    def __init__(self, ground):
        self.low = ground.lower()
        self.vuln_ids = {m.group(0).upper() for m in VULN_RE.finditer(ground)}
        self.cwes = {norm_cwe(m.group(0)) for m in CWE_RE.finditer(ground)}
        raw_versions = [m.group(0).lower() for m in LOOSE_VER_RE.finditer(ground)]
        self.versions = {norm_version(v) for v in raw_versions}
        self.pages = {norm_url(m.group(0).rstrip("*_")) for m in EVAL_URL_RE.finditer(ground)}
        self.ids = self.vuln_ids | self.cwes
        # The URLs an answer may end an URL with, as url_rest and trimming
        # leave them: the ground's pages (normalised, and as written, so
        # "news.html#1.3.12" and "advisory/42/" can be spelled out) and the
        # canonical pages of its ids. A subset of what UngroundedURLs
        # accepts (it takes any fragment), so decoding is the stricter.
        written = set()
        for m in URL_RE.finditer(ground):
            w = url_rest(m.group(0).rstrip(_URL_TRIM))
            written.add(w[4:] if w.startswith("www.") else w)
        self.url_ends = (self.pages | written | set(self._canonical_urls())) - {""}
        # The trie: sorted lists; "s is a prefix of an allowed identifier"
        # is one bisection.
        self._prefix = {
            KIND_VULN: sorted(self.vuln_ids),
            KIND_CWE: sorted(self.cwes),
            KIND_VERSION: sorted({v[1:] if v.startswith("v") else v for v in raw_versions} | self.versions),
            KIND_URL: sorted(self.url_ends),
        }

    def _canonical_urls(self):
        for i in self.ids:
            if i.startswith("CWE-"):
                yield f"cwe.mitre.org/data/definitions/{i[4:]}.html"
            else:
                c = canonical_id(i)
                yield "osv.dev/vulnerability/" + c
                if i.startswith("CVE-"):
                    yield "nvd.nist.gov/vuln/detail/" + c
                if i.startswith("GHSA-"):
                    yield "github.com/advisories/" + c

    def _canonical(self, u):
        for rx, kind in _CANONICAL:
            m = rx.search(u)
            if m is None:
                continue
            if kind == KIND_CWE:
                return norm_cwe("CWE-" + m.group(1)) in self.ids
            return m.group(1) == canonical_id(m.group(1)) and m.group(1).upper() in self.ids
        return False

    def scan(self, text):
        """Every ungrounded identifier of text as (kind, text, start, end),
        end where its match ends before trailing punctuation is trimmed, in
        the order evaluate finds them: ident.UngroundedIdents (URLs
        blanked first, then vulnerability ids, CWE ids, paths, versions)
        and ident.UngroundedURLs."""
        out = []
        b = list(text)
        for m in EVAL_URL_RE.finditer(text):
            _blank(b, m.start(), m.end())
        s = "".join(b)
        for m in VULN_RE.finditer(s):
            t = m.group(0).upper()
            if t not in self.vuln_ids:
                out.append((KIND_VULN, t, m.start(), m.end()))
            _blank(b, m.start(), m.end())
        s = "".join(b)
        for m in CWE_RE.finditer(s):
            t = norm_cwe(m.group(0))
            if t not in self.cwes:
                out.append((KIND_CWE, t, m.start(), m.end()))
            _blank(b, m.start(), m.end())
        s = "".join(b)
        for m in TOKEN_RE.finditer(s):
            tok = m.group(0).rstrip(".,;:!?")
            rel = (tok[2:] if tok.startswith("./") else tok).lower()
            if is_path(tok) and tok.lower() not in KNOWN_FILES:
                if not contains_word(self.low, rel):
                    out.append((KIND_PATH, tok, m.start(), m.end()))
            elif cut_path(self.low, rel):
                out.append((KIND_PATH, tok, m.start(), m.end()))
            else:
                continue
            _blank(b, m.start(), m.end())
        s = "".join(b)
        for m in STRICT_VER_RE.finditer(s):
            v = m.group(1).rstrip(".,;:")
            if norm_version(v) not in self.versions:
                out.append((KIND_VERSION, v, m.start(1), m.end(1)))
        for m in EVAL_URL_RE.finditer(text):
            u = m.group(0).rstrip(_URL_TRIM)
            if not self.page_grounded(u):
                out.append((KIND_URL, u, m.start(), m.end()))
        return out

    def page_grounded(self, u):
        """UngroundedURLs' verdict on u, an URL as written (trailing
        punctuation trimmed or not): it names a page of the ground, the
        canonical page of an id the ground names, or no page at all."""
        n = norm_url(u.rstrip(_URL_TRIM))
        return n == "" or n in self.pages or self._canonical(n)

    def backslash_url_ok(self, u, is_open):
        """Whether u, a BACKSLASH_URL_RE match with its backslashes read as
        slashes, may stand: open (at the end of the text, more may follow),
        as an URL or a scheme with its slashes that can still become a
        grounded one, its separator never longer than "//" (no endless
        `\\\\\\`); closed, naming a grounded page or none."""
        if is_open:
            if SCHEME_OPEN_RE.search(u):
                return self.url_open("")
            return URL_RE.fullmatch(u) is not None and self.url_open(u)
        i = u.index(":") + 1
        rest = u[i:].lstrip("/")
        return rest == "" or self.page_grounded(u[:i] + "//" + rest)

    def _has_prefix(self, kind, t):
        keys = self._prefix[kind]
        i = bisect.bisect_left(keys, t)
        return i < len(keys) and keys[i].startswith(t)

    def completable(self, kind, t):
        """Whether t, an identifier still being written, can end as a
        grounded one: a prefix of a grounded identifier of its kind (a path:
        a name the ground has at the start of a word).

        t is the identifier as written to the end of the text, the
        punctuation scan trims from it included ("1.3.1." is no prefix of
        1.3.14, "web/build.gr." none of web/build.gradle): judged without
        it, a half-written identifier would pass with any number of ".",
        "*" or ":" after it, and a greedy walk that finds nothing else
        would append them forever (issue 16's `https://www.w.*.*.*`). A CWE
        id is open only up to the end of the text; it comes normalised."""
        if kind == KIND_PATH:
            t = t.lower()
            return contains_word(self.low, t[2:] if t.startswith("./") else t, whole=False)
        if kind == KIND_URL:
            # A backslash URL is read with slashes, as evaluation reads it
            # (check() holds its separator to BACKSLASH_URL_RE's rules).
            return self.url_open(slash_url(t) if "\\" in t else t)
        if kind == KIND_VERSION:
            t = t.lower()
            t = t[1:] if t.startswith("v") else t
        elif kind == KIND_VULN:
            t = t.upper()
        return self._has_prefix(kind, t)

    def url_open(self, u):
        """Whether u, an URL (or a scheme and its slashes) at the end of
        the text, can still end as a grounded one: past its scheme it is a
        prefix of a grounded URL ("www." counted once, and only before the
        host), or a grounded URL, or one with a trailing "/", followed by
        at most _URL_TAIL characters that are trimmed when it is judged.
        With no URL in the ground, none may be started."""
        if not self.url_ends:
            return False
        r = url_rest(u)
        if "www.".startswith(r):
            return True  # the scheme alone, or "www." on its way
        for c in (r, r[4:]) if r.startswith("www.") else (r,):
            if self._has_prefix(KIND_URL, c):
                return True
            core = c.rstrip(_URL_TRIM)
            if len(c) - len(core) <= _URL_TAIL and (
                core in self.url_ends or (core.endswith("/") and core[:-1] in self.url_ends)
            ):
                return True
        return False

    def check(self, text, final=False):
        """Whether text may stand as (the beginning of) an answer: every
        identifier that no later text can change is grounded, and one that
        later text can still extend is grounded or, unless final,
        completable.

        An URL open at the end of the text is held to url_open even when
        its trimmed form is grounded, and a bare scheme ("https://") only
        where the ground has an URL: every text that passes can then be
        ended, by more of a grounded identifier or by a space. A scheme
        written with backslashes (`https:\\`, BACKSLASH_URL_RE) is held to
        the same rules, read with slashes as evaluation reads it, and its
        separator to at most "//" (no endless `\\\\\\`).

        Only the text from the start of the word before the last is read:
        an identifier spans at most one whitespace character ("CWE 79"), so
        the earlier text was checked when it was written and cannot change."""
        runs = [m.start() for m in _SPACE_RUN.finditer(text, max(0, len(text) - 4096))]
        lo = runs[-2] if len(runs) >= 2 else 0
        window = text[lo:]
        for kind, t, start, end in self.scan(window):
            if final or window[end:].strip(_OPEN_AFTER[kind]) != "":
                return False
            if not self.completable(kind, t if kind == KIND_CWE else window[start:]):
                return False
        for m in BACKSLASH_URL_RE.finditer(window):
            is_open = not final and m.end() == len(window)
            if not self.backslash_url_ok(m.group(0).replace("\\", "/"), is_open):
                return False
        if final:
            return True
        last = None
        for last in URL_RE.finditer(window):
            pass
        if last is not None and last.end() == len(window):
            return self.url_open(last.group(0))
        return SCHEME_OPEN_RE.search(window) is None or self.url_open("")


# The logit a kept token masked to -inf gets (_only): below any a model
# gives, finite in every float type a model computes in.
_FLOOR = -1.0e4


# What may follow an identifier that later text can still extend: a
# version's next part or qualifier ("1.3." may become 1.3.14), a
# vulnerability id's next segment ("DSA-123-" may become DSA-123-1). A CWE
# id, a path or a URL is open only up to the end of the text.
_OPEN_AFTER = {KIND_VERSION: ".-+~", KIND_VULN: "-:", KIND_CWE: "", KIND_PATH: "", KIND_URL: ""}


def ungrounded(text, ground):
    """evaluate.UngroundedIdents: the (text, kind) pairs of the ungrounded
    identifiers of text, sorted by text, one per text (a later rule's kind
    wins, as in Go's map)."""
    by_text, urls = {}, set()
    for kind, t, _s, _e in Ground(ground).scan(text):
        if kind == KIND_URL:
            urls.add(t)
        else:
            by_text[t] = kind
    return sorted(sorted(by_text.items()) + [(u, KIND_URL) for u in sorted(urls)], key=lambda p: p[0])


class GroundedProcessor:
    """An mlx-lm logits processor that keeps one answer grounded.

    tokenizer decodes candidates; ground is the example's ground text;
    greedy says the sampler takes the top token (then a step that needs no
    intervention returns the logits untouched; otherwise every checked
    candidate that fails is masked and, so sampling cannot reach unchecked
    ones, so is everything below the top `top_k`). observe records where the
    processor would first intervene and never changes the logits: free
    decoding that reports whether grounded decoding would differ.

    The walk reads the top `top_k` candidates; when none passes it goes on
    in logit order up to `max_walk` (a check costs tens of microseconds, a
    vocabulary of 49,152 would cost seconds a step), and when still none
    passes, over the rest of the vocabulary: ending the answer there would
    leave a half-written identifier in it (a grounded GHSA page cut at
    `https://github.com/advisoriES/g`, counted ungrounded), and a grounded
    one can always be finished one character at a time. Only when no token
    at all passes does it allow end-of-sequence alone, counted in
    `stuck`.

    mlx-lm decodes one step ahead (BatchGenerator's GenerationBatch.next,
    and generate_step, call the processors for the step after token k
    before they report token k and see it end the answer), so the
    processor is called once more after an answer's last token and that
    step's token is never emitted. It leaves that call alone — logits
    untouched, nothing counted — when the context ends in end-of-sequence
    or `max_tokens` steps were already taken: checking it would count an
    intervention in a token no answer has. An answer an op cuts short
    itself (a repetition stop) it cannot see end; stats(tokens) leaves out
    what lies past it.
    """

    def __init__(
        self,
        tokenizer,
        ground,
        *,
        greedy=True,
        observe=False,
        top_k=64,
        max_walk=4096,
        eos_ids=(),
        max_tokens=None,
        pin=None,
    ):
        from .pin import AnswerPin

        self.tokenizer = tokenizer
        self.ground = Ground(ground)
        # pin: the finding's {"installed", "fixed"} versions, whose fix
        # snippets may not give the installed one, "blocks", the fix
        # snippets its fenced blocks may hold whole, "sections", the only
        # lines of the sections it names, "leads", the lines those it
        # names open with, and "forbidden", phrases it may not write
        # (pin.py); None: no rule.
        self.pin = AnswerPin(pin) if pin else None
        self.greedy = greedy
        self.observe = observe
        self.top_k = top_k
        self.max_walk = max_walk
        self.eos = set(eos_ids)
        self.max_tokens = max_tokens
        self.ids = []
        self.text = ""
        self._started = False
        self.steps = 0
        # [index, deep, stuck] of each step where the top token failed: its
        # index in the answer's tokens, whether the walk went past top_k,
        # whether nothing passed. The counts derive from it, so stats() can
        # leave out those past the answer an op reports.
        self._marks = []
        self._tail_n = 6
        self._before = ""  # the decoded text of the last _tail_n tokens

    def resume(self, prefix):
        """Start past prefix, answer tokens already chosen: grounded
        regeneration resumes at free decoding's first intervention, feeding
        the model the prompt and prefix (the free answer's tokens before
        it, which grounded decoding would have chosen too, since it hands
        the logits on untouched until then). The processor is put where it
        stood after the from-scratch run's len(prefix) calls: every prefix
        token but the last appended (by _append, token by token, so text
        and _before are what that run built), len(prefix) steps taken, and
        started. Its first call then sees the prefix's last token, fed to
        the model, and appends it as the run from scratch did, so checks,
        past_end and max_tokens count the whole answer. Stats stay those
        of the run from scratch: the prefix held no intervention (a step
        the processor would have changed ends it), so steps, interventions
        and first_intervention (the prefix's length, when it intervenes at
        once) come out the same. Must precede the first call."""
        if self._started or self.steps:
            raise ValueError("resume: the processor has already started")
        if not prefix:
            return self
        for tok in prefix[:-1]:
            self._append(int(tok))
        self._started = True
        self.steps = len(prefix)
        return self

    def replay(self, ids, finish_reason):
        """Observe an answer free decoding already gave, without the model:
        ids are its tokens, finish_reason how it ended ("stop": an
        end-of-sequence came after ids). Free decoding is greedy, so the
        token each step took is the top one an observing processor would
        have seen there (after the loop guard, which masks first); checking
        each in turn finds the intervention the observing pass would have
        found, at the same index. Evaluation keeps free answers under a
        key without grounds or pins and replays them against the current
        rules in seconds, so a change to the rules regenerates only what
        grounded decoding changes. Returns answer_stats()."""
        if not self.observe:
            raise ValueError("replay: the processor does not observe")
        if self._started or self.steps:
            raise ValueError("replay: the processor has already started")
        toks = [int(t) for t in ids]
        if finish_reason == "stop" and self.eos:
            toks.append(min(self.eos))
        for k, tok in enumerate(toks):
            if self.max_tokens is not None and self.steps >= self.max_tokens:
                break
            if k:
                self._append(toks[k - 1])
            self._started = True
            self.steps += 1
            if not self.passes(tok):
                self._marks.append([k, 0, 0])
                break
        return self.answer_stats(len(ids), finish_reason)

    def _append(self, tok):
        self.text = self._candidate_text(tok)
        self.ids.append(tok)
        self._before = self.tokenizer.decode(self.ids[-self._tail_n :])

    def _candidate_text(self, tok):
        # Decoding a few tokens of context and the candidate, not the whole
        # answer: byte-level pieces join by concatenation except where a
        # character spans tokens, which the context covers.
        tail = self.ids[-self._tail_n :]
        before = self._before
        after = self.tokenizer.decode(tail + [tok])
        if after.startswith(before):
            return self.text + after[len(before) :]
        return self.tokenizer.decode(self.ids + [tok])

    def passes(self, tok):
        final = tok in self.eos
        text = self.text if final else self._candidate_text(tok)
        return self.ground.check(text, final=final) and (self.pin is None or self.pin.check(text, final=final))

    def __call__(self, context, logits):
        import mlx.core as mx

        # The context ends with the token fed to the model this step: the
        # prompt's last on the first call, the previous answer token after.
        if self.observe and self.first_intervention is not None:
            return logits
        if self.past_end(context):
            return logits
        if self._started:
            self._append(int(context[-1].item()))
        self._started = True
        self.steps += 1
        row = logits.reshape(-1)
        top = int(mx.argmax(row).item())
        if self.passes(top):
            if self.greedy or self.observe:
                return logits
            order = [top] + [t for t in mx.argsort(-row)[: self.top_k].tolist() if t != top]
            keep = [t for t in order if t == top or self.passes(t)]
            return self._only(logits, keep)
        mark = [len(self.ids), 0, 0]
        self._marks.append(mark)
        if self.observe:
            return logits
        # Where a held lead decides the rest of the line, the walk would
        # take the best-ranked token on its way, often a character or two:
        # a secret's Fix section, held whole, ran past the answer's bound
        # at twice the reference's tokens. The tokenizer's own first token
        # of the rest is taken instead, as the reference itself is cut.
        forced = self._lead_token()
        if forced is not None and self.passes(forced):
            return self._only(logits, [forced])
        order = mx.argsort(-row)[: self.max_walk].tolist()
        keep = []
        for rank, t in enumerate(order):
            if rank == self.top_k and not keep:
                mark[1] = 1
            if rank >= self.top_k and keep:
                break
            if t != top and self.passes(t):
                keep.append(t)
                if self.greedy:
                    break
        if not keep and self.max_walk < row.size:
            # Rare (once in the 35 answers of the other projects): the cost
            # of a full walk is paid only here, and the first token that
            # passes is taken.
            for t in mx.argsort(-row)[self.max_walk :].tolist():
                if self.passes(t):
                    keep.append(t)
                    break
        if not keep:
            mark[2] = 1
            keep = sorted(self.eos)[:1] or [top]
        return self._only(logits, keep)

    def _lead_token(self):
        """The tokenizer's first token of the lead text the pin decides
        next (pin.py rest), or None: no pin, nothing decided, or a
        tokenizer without encode."""
        if self.pin is None or not self.pin.active:
            return None
        rest = self.pin.rest(self.text)
        encode = getattr(self.tokenizer, "encode", None)
        if not rest or encode is None:
            return None
        try:
            ids = encode(rest, add_special_tokens=False)
        except TypeError:
            ids = encode(rest)
        return int(ids[0]) if len(ids) else None

    @staticmethod
    def _only(logits, keep):
        """logits with only the tokens of keep left. A kept token that an
        earlier processor masked (the loop guard, which runs first: a stuck
        line may only end) gets a finite logit below every other: the
        facts come before the guard when none of the tokens it leaves
        passes (a path open at a line's end, "bin/um"), and a row of
        -inf alone would have sampled token 0, SmolLM2's <|endoftext|>."""
        import mlx.core as mx

        mask = mx.zeros(logits.shape[-1], dtype=mx.bool_)
        mask[mx.array(keep)] = True
        ninf = mx.array(-float("inf"), dtype=logits.dtype)
        kept = mx.where(logits == ninf, mx.array(_FLOOR, dtype=logits.dtype), logits)
        return mx.where(mask, kept, ninf)

    @property
    def interventions(self):
        """Steps whose top token failed."""
        return len(self._marks)

    @property
    def first_intervention(self):
        """The answer token where the processor first intervened, or None."""
        return self._marks[0][0] if self._marks else None

    @property
    def deep(self):
        """Interventions whose walk went past top_k."""
        return sum(m[1] for m in self._marks)

    @property
    def stuck(self):
        """Interventions where nothing passed and the answer was ended."""
        return sum(m[2] for m in self._marks)

    def past_end(self, context):
        """Whether this call is mlx-lm's look-ahead past the answer's end:
        the context (its last token is the one fed to the model this step)
        ends in end-of-sequence after the answer started, or max_tokens
        answer tokens were already chosen. The one definition of the rule,
        for the ops and for `vulntune serve --grounded`."""
        if self.max_tokens is not None and self.steps >= self.max_tokens:
            return True
        return self._started and int(context[-1].item()) in self.eos

    def stats(self, tokens=None):
        """The counts, as the ops and the server report them. tokens, when
        given, is how many answer tokens the op reports, end-of-sequence
        included (what the processor judged): a step at or past it (a
        repetition stop's look-ahead, or the loop an op trims) was computed
        but is no part of the answer, and neither it nor an intervention in
        it is counted."""
        marks = self._marks if tokens is None else [m for m in self._marks if m[0] < tokens]
        return {
            "steps": self.steps if tokens is None else min(self.steps, tokens),
            "interventions": len(marks),
            "first_intervention": marks[0][0] if marks else None,
            "deep": sum(m[1] for m in marks),
            "stuck": sum(m[2] for m in marks),
        }

    def answer_stats(self, answer_tokens, finish_reason):
        """stats() for an answer an op reports with answer_tokens tokens
        and finish_reason: the processor judged its end-of-sequence too
        ("stop"), and past a repetition stop or a loop the op trimmed, a
        step or more no answer has."""
        return self.stats(answer_tokens + (finish_reason == "stop"))


def request_processors(req, tokenizer, indices):
    """The processors of the examples at indices, for an evaluate or observe
    request that names grounds: {index: GroundedProcessor}, empty without them.
    req["grounding"] is "observe" (free decoding that records where the
    processor would first intervene) or "enforce" (grounded decoding);
    req["pins"], when set, holds each example's installed and fixed
    versions, or null (pin.py)."""
    grounds = req.get("grounds")
    if not grounds:
        return {}
    mode = req.get("grounding") or "enforce"
    if mode not in ("observe", "enforce"):
        from .protocol import WorkerError

        raise WorkerError("BadRequest", f'grounding {mode!r}: want "observe" or "enforce"')
    # The observe op replays "answers", the evaluate op decodes "examples".
    n = len(req["examples"] if "examples" in req else req["answers"])
    if len(grounds) != n:
        from .protocol import WorkerError

        raise WorkerError("BadRequest", f"{len(grounds)} grounds for {n} examples")
    pins = req.get("pins") or [None] * len(grounds)
    if len(pins) != len(grounds):
        from .protocol import WorkerError

        raise WorkerError("BadRequest", f"{len(pins)} pins for {len(grounds)} grounds")
    eos = list(tokenizer.eos_token_ids)
    max_tokens = req.get("max_tokens")
    max_tokens = int(max_tokens) if max_tokens is not None else None
    return {
        i: GroundedProcessor(
            tokenizer, grounds[i], observe=mode == "observe", eos_ids=eos, max_tokens=max_tokens, pin=pins[i]
        )
        for i in indices
    }
