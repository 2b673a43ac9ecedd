"""Pinned fix snippets (vulntune_engine/pin.py): the rule's verdicts on
partial and complete answers, its port of evaluation's fix snippets and
version tokens, and grounded decoding that turns a snippet from the
installed version to the fixed one. That every answer it accepts has no
snippet evaluation calls vulnerable is tested from Go
(internal/evaluate/pin_internal_test.go)."""

import pytest

from vulntune_engine.grounded import GroundedProcessor, request_processors
from vulntune_engine.pin import AnswerPin, Forbidden, Headings, SectionLines, SnippetPin, StepLines, fix_snippets, version_tokens

from test_grounded import ToyTokenizer, run

GROUND = (
    "snyk npm:tunnel-agent:20170305 in tunnel-agent@0.4.3 (npm), fixed in: 0.6.0 (recommended) at package.json\n"
    "tunnel-agent\n0.6.0\n0.4.3"
)
PIN = {"installed": "0.4.3", "fixed": "0.6.0"}


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("Upgrade tunnel-agent from 0.4.3 to 0.6.0.", True, True),  # prose is no snippet
        ("```\nnpm add tunnel-agent@0.6.0\n```", True, True),
        ("```\nnpm add tunnel-agent@0.4.3\n```", True, False),
        ("```\nnpm add tunnel-agent@0.4", False, False),  # only 0.4.3 starts so
        ("```\nnpm add tunnel-agent@0.", False, True),  # 0.6.0 may follow
        ("```\nnpm add tunnel-agent@v0.4.3", False, False),
        ("```\n<version>0.4.3</version>", False, False),
        ("Run `npm install tunnel-agent@0.4.3` first", False, False),  # an inline command
        ("The installed `tunnel-agent@0.4.3` is vulnerable", False, True),  # inline code that runs nothing
        ("then npm install tunnel-agent@0.4.3 again", False, False),  # a bare command
        ("then npm install tunnel-agent@0.6.0. Later 0.4.3 is gone", True, True),  # past the command's clause
        ("```\n- tunnel-agent@0.4.3\n+ tunnel-agent@0.6.0\n```", True, False),  # removed before any added line
        ("```\n+ tunnel-agent@0.6.0\n- tunnel-agent@0.4.3\n```", True, True),  # a diff's removed line
        ("```\nnpm add tunnel-agent@0.4.30\n```", True, True),  # another version, not the installed one
        ("```\nnpm add libfoo0.4.3", False, False),  # evaluation reads 0.4.3 in it too
    ],
)
def test_check(text, final, ok):
    assert SnippetPin("0.4.3", "0.6.0").check(text, final=final) is ok


def test_a_version_may_pass_through_the_installed_one_on_its_way_to_the_fixed_one():
    pin = SnippetPin("1.2", "1.2.1")
    assert pin.check("```\npip install x==1.2", final=False)
    assert pin.check("```\npip install x==1.2.", final=False)
    assert pin.check("```\npip install x==1.2.1\n```", final=True)
    assert not pin.check("```\npip install x==1.2\n", final=False)
    assert not pin.check("```\npip install x==1.2", final=True)
    assert not pin.check("then pip install x==1.2 now", final=False)


def test_distribution_versions_with_epochs():
    pin = SnippetPin("1:1.0.2k-19.el7", "1:1.0.2k-24.el7")
    fixed = "```\nyum install openssl-1:1.0.2k-24.el7\n```"
    assert all(pin.check(fixed[:i]) for i in range(1, len(fixed) + 1)) and pin.check(fixed, final=True)
    installed = "```\nyum install openssl-1:1.0.2k-19.el7\n```"
    first = next(i for i in range(1, len(installed) + 1) if not pin.check(installed[:i]))
    assert installed[:first].endswith("1.0.2k-1")  # where the two part


@pytest.mark.parametrize("installed,fixed", [("", "0.6.0"), ("0.4.3", ""), ("0.6", "v0.6.0")])
def test_nothing_to_hold(installed, fixed):
    assert SnippetPin(installed, fixed).check("```\nnpm add x@0.6.0 x@0.4.3\n```", final=True)


def test_fix_snippets_as_evaluation_reads_them():
    answer = (
        "Use `npm install a@1.0.0` or `a@2.0.0`, then npm up b@3.0.0: done.\n"
        "```\nimplementation 'g:a:4.0.0'\n```\n"
        "```\n- old 5.0.0\n+ new 6.0.0\n- old 7.0.0\n"
    )
    assert fix_snippets(answer) == [
        ("npm install a@1.0.0", False),
        ("npm up b@3.0.0", False),
        ("implementation 'g:a:4.0.0'", False),
        # Evaluation drops both removed lines of a block with an added
        # line; decoding, which has not seen the block's end, keeps the one
        # before the first added line: the stricter reading.
        ("- old 5.0.0\n+ new 6.0.0\n", False),  # unclosed, but it ends on a newline
    ]


def test_version_tokens_whole_with_epochs():
    text = "libssl1.1=1.1.1n-0+deb10u3 and openssl-1:1.0.2k-19.el7, v2.3.4"
    assert [text[s:e] for s, e in version_tokens(text)] == ["1.1", "1.1.1n-0+deb10u3", "1:1.0.2k-19.el7", "v2.3.4"]


VOCAB = ["<p>", "```\nnpm add tunnel-agent@", "0.", "4", "6", ".", "3", "0", "\n```", "</s>"]


def test_processor_turns_the_snippet_to_the_fixed_version():
    tok = ToyTokenizer(VOCAB)
    prefs = [[1], [2], [3, 4], [5], [6, 7], [8], [9]]
    free = run(GroundedProcessor(tok, GROUND, observe=True, eos_ids=[9], pin=PIN), VOCAB, prefs, 7)
    assert tok.decode(free) == "```\nnpm add tunnel-agent@0.4.3\n```</s>"
    proc = GroundedProcessor(tok, GROUND, eos_ids=[9], pin=PIN)
    got = run(proc, VOCAB, prefs, 7)
    assert tok.decode(got) == "```\nnpm add tunnel-agent@0.6.0\n```</s>"
    # The pin turns 0.4 to 0.6, grounding then 0.6.3 (in no ground) to 0.6.0.
    assert proc.interventions == 2 and proc.first_intervention == 2


def test_processor_without_pin_lets_the_installed_version_through():
    tok = ToyTokenizer(VOCAB)
    prefs = [[1], [2], [3, 4], [5], [6, 7], [8], [9]]
    proc = GroundedProcessor(tok, GROUND, eos_ids=[9])
    assert tok.decode(run(proc, VOCAB, prefs, 7)) == "```\nnpm add tunnel-agent@0.4.3\n```</s>"
    assert proc.interventions == 0


def test_request_processors_pins():
    class Tok(ToyTokenizer):
        eos_token_ids = [9]

    req = {"examples": [{}, {}], "grounds": [GROUND, GROUND], "pins": [None, PIN], "grounding": "enforce"}
    procs = request_processors(req, Tok(VOCAB), [0, 1])
    assert procs[0].pin is None and procs[1].pin.active
    req["pins"] = [PIN]
    with pytest.raises(Exception, match="1 pins for 2 grounds"):
        request_processors(req, Tok(VOCAB), [0, 1])


BLOCKS = [["npm install tunnel-agent@0.6.0"], ["<version>0.6.0</version>"]]


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("```\nnpm install tunnel-agent@0.6.0\n```", True, True),
        ("```\nnpm install tunnel-agent@0.6.0  \n```", True, True),  # trailing blanks aside
        ("```\nnpm  install   tunnel-agent@0.6.0\n```", True, False),  # runs of spaces are not the line
        ("```\nRUN  ", False, False),
        ("```\nnpm \t\tinstall", False, False),  # nor tabs inside it
        ("```\nnpm install tunnel-agent@0.6.0 ", False, True),  # a blank where the line ends
        ("```\nnpm install tunnel-agent@0.6.0  ", False, False),  # not a run of them
        ("```\n    <version>0.6.0</version>\n```", True, True),  # and indentation
        ("```\nnpm install tunnel-agent@0.6.0\n\n<version>0.6.0</version>\n```", True, False),  # no blank line
        ("```\n\t \nnpm install tunnel-agent@0.6.0\n```", True, False),  # nor one of blanks
        ("```\n    ", False, True),  # leading blanks on their way to an indented line
        ("```\n" + "\t" * 17, False, False),  # but not a run of them
        ("```\nnpm add lodash @4.17.21 --only-minor-version\n```", True, False),  # a line of no fix
        ("```\nnpm add", False, False),  # refused where it parts from every line
        ("```\nnpm ", False, True),  # on its way to one
        ("```\nnpm install tunnel-agent@0.6.0 --only", False, False),
        ("```\nnpm install tunnel-agent@0.6", False, True),
        ("```\nnpm install tunnel-agent@0.6", True, False),  # a final answer's line must be whole
        ("```\nnpm install tunnel-agent@0.6.0\n``", False, True),  # the closing fence on its way
        ("```bash\nnpm install tunnel-agent@0.6.0\n```\nThen run the tests.", True, True),  # outside fences: the model's
        ("Upgrade with npm add tunnel-agent@0.6.0 --save.", True, True),  # an inline command is not held to the lines
        ("```\nimplementation 'g:a'\n```", True, False),
        ("```\n```", True, False),  # an empty block closes nothing
        ("```\n``", False, False),
        ("```\n\n```", True, False),  # nor does a blank one
        ("```\nnpm install tunnel-agent@0.6.0\n```\n```\n", False, True),  # a second block opens
        ("```\nnpm install tunnel-agent@0.6.0\n```\n```\n```", True, False),  # and must hold a line too
    ],
)
def test_check_lines(text, final, ok):
    assert SnippetPin("", "0.6.0", BLOCKS).check(text, final=final) is ok


def test_lines_alone_make_a_rule():
    """A fix with no installed version still holds its fences to the
    finding's blocks; no blocks and no versions hold nothing."""
    assert SnippetPin("", "0.6.0", BLOCKS).active
    assert not SnippetPin("", "0.6.0").active
    assert not SnippetPin("", "0.6.0", [["", "   "], []]).active


POM = ["<dependency>", "  <groupId>org.apache.httpcomponents</groupId>", "  <artifactId>httpclient</artifactId>", "  <version>4.3.5</version>", "</dependency>"]
POM_BLOCKS = [POM, ["mvn dependency:tree -Dincludes=org.apache.httpcomponents:httpclient"]]


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("```xml\n" + "\n".join(POM) + "\n```", True, True),
        ("```xml\n" + "\n".join(POM), True, True),  # an answer may end after a whole block
        # Run W's grounded httpclient answer: every line right, <groupId> left out.
        ("```xml\n<dependency>\n  <artifactId>", False, False),
        ("```xml\n<dependency>\n  <", False, True),  # on its way to <groupId>
        ("```xml\n" + "\n".join(POM[:4]) + "\n```", True, False),  # closed inside the block
        ("```xml\n" + "\n".join(POM[:4]) + "\n``", False, False),
        ("```xml\n" + "\n".join(POM[:4]), True, False),  # nor may the answer end there
        ("```xml\n" + "\n".join(POM[:4]) + "\n</dep", False, True),
        ("```xml\n  <version>4.3.5</version>\n```", True, False),  # a line of a block is no block
        # Blocks one after another in one fence, each whole.
        ("```\n" + "\n".join(POM + POM_BLOCKS[1]) + "\n```", True, True),
        ("```\n" + "\n".join(POM_BLOCKS[1] + POM[:2]) + "\n```", True, False),
        ("```\n" + "\n".join(POM) + "\n<dependency>\n```", True, False),
    ],
)
def test_check_blocks(text, final, ok):
    assert SnippetPin("4.1.1", "4.3.5", POM_BLOCKS).check(text, final=final) is ok


def test_every_prefix_of_an_allowed_answer_passes():
    answer = "Upgrade it.\n```\nnpm install tunnel-agent@0.6.0\n```\n1. Rebuild."
    pin = SnippetPin("0.4.3", "0.6.0", BLOCKS)
    assert all(pin.check(answer[:i]) for i in range(len(answer) + 1)) and pin.check(answer, final=True)


def test_processor_holds_a_fence_to_the_lines():
    """Grounded decoding turns a fence's line to the finding's own: the
    model would write "npm add", the walk finds "npm install"."""
    vocab = ["```\n", "npm", " add", " install", " tunnel-agent@0.6.0", "\n```", "<eos>"]
    tok = ToyTokenizer(vocab)
    pin = {"installed": "0.4.3", "fixed": "0.6.0", "blocks": BLOCKS}
    # The model prefers each of prefs in turn, then the vocabulary's order.
    prefs = [[0], [1], [2, 3], [4], [5], [6]]
    out = run(GroundedProcessor(tok, GROUND, eos_ids=[6], pin=pin), vocab, prefs, 6)
    assert "".join(vocab[t] for t in out if t != 6) == "```\nnpm install tunnel-agent@0.6.0\n```"


PKG = "- Package tunnel-agent, installed version 0.4.3 (npm)"
WHERE = {"**Where**": [PKG, "- File package.json, line 12"]}


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("**Where**\n- File package.json, line 12\n", False, True),
        ("**Where**\n- File package.json, line 12\n- Package tunnel-agent, installed version 0.4.3 (npm)\n\n**Fix**\nx", True, True),
        ("**Where**\n-  File   package.json, line 12", True, False),  # runs of spaces are not the line
        ("**Where**\n- Package \t\ttunnel-agent", False, False),  # nor tabs inside it
        ("**Where**\n  - File package.json, line 12\n- Package tunnel-agent, installed version 0.4.3 (npm)", True, True),  # an indent aside
        ("**Where**\n- File package.json, line 1", False, True),  # on its way to "line 12"
        ("**Where**\n- File package.json, line 1", True, False),  # but a final line must be whole
        ("**Where**\n- File package.json, line 13", False, False),
        ("**Where**\n- File pack", False, True),
        ("**Where**\n- File vue/rule", False, False),  # a rule id is no file
        ("**Where**\n- Image golang.org/x/net\n", False, False),
        ("**Where**\n- File package.json, line 12 ", False, True),  # a blank where a line may end
        ("**Where**\n- File package.json, line ", False, True),
        ("** where**\n- File x", False, False),  # the heading as the loop guard reads it
        ("**In short**\n- File x\n**Fix**\n- File x", True, True),  # other sections are the model's
        ("**Where**\n- File package.json, line 12\n**Fix**\n- File x", True, False),  # a line left out
        ("**Where**\n- Package tunnel-agent, installed version 0.4.3 (npm)\n- File package.json, line 12\n**Fix**\n- File x", True, True),
        ("**Wher", False, True),
        # Each line once: a section that says a fact again is looping.
        ("**Where**\n- File package.json, line 12\n- File package.json, line 12\n", False, False),
        ("**Where**\n- File package.json, line 12\n\n- File package.json, line 1", False, False),
        ("**Where**\n- File package.json, line 12\n- Pack", False, True),  # the other line may follow
        ("**Where**\n- File package.json, line 12\n- Package tunnel-agent, installed version 0.4.3 (npm)\n**Fix**\n**Where**\n- File package.json, line 12", True, False),
        ("**Fix**\n**Where**\n- File package.json, line 12\n- Package tunnel-agent, installed version 0.4.3 (npm)", True, True),
        # Every one: a held section that leaves a line out leaves a fact out
        # (a grounded answer gave its File line alone, and no ecosystem).
        ("**Where**\n**Fix**", False, False),
        ("**Where**\n\n*", False, False),
        ("**Where**\n\n", False, True),
        ("**Where**\n\n", True, False),
        ("**Where**", False, True),  # the heading not yet ended
        ("**Where**", True, False),  # an answer that ends at the heading
        ("**Where**\n- File package.json, line 12", True, False),
        ("**Where**\n- File package.json, line 12\n**", False, False),
        ("**Where**\n- File package.json, line 12\n\n", False, True),
        # A held section that holds all its lines is done: a heading or the
        # end may follow, one blank line between, nothing else.
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\n", True, True),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\n**Fix**\nanything", True, True),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\t", False, False),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\n\t\t", False, False),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\n\xa0", False, False),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n\n\n", False, False),
        (f"**Where**\n{PKG}\n- File package.json, line 12\n \n**Fix**", False, False),
    ],
)
def test_section_lines(text, final, ok):
    assert SectionLines(WHERE).check(text, final=final) is ok


def test_section_lines_blank_lines_per_section():
    """Each done section has its own blank lines before the next heading."""
    pin = SectionLines({"**What it is**": ["Foo (zap rule 1)."], **WHERE})
    text = f"**What it is**\nFoo (zap rule 1).\n\n**Where**\n{PKG}\n- File package.json, line 12\n\n"
    assert all(pin.check(text[:i]) for i in range(1, len(text) + 1))
    assert pin.check(text, final=True)
    assert not pin.check(text + "\t")


LEAD = {"**Fix**": ["Upgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line."]}


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line.\n```\nanything\n```", True, True),
        ("**Fix**\n\nUpgrade x from 1.0 to 1.1, the lowest", False, True),  # on its way
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version above", False, False),
        # The lead ends where it ends: "No fix exists" after it is no lead.
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line. No", False, False),
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line. ", False, True),
        ("**Fix**\n1. Rebuild.", False, False),  # the lead comes first
        ("**Fix**\n**Why it matters**", False, False),  # and is not left out
        ("**Fix**\n", True, False),
        ("**Where**\nanything\n**Fix**\nUpgrade x", False, True),  # other sections are not held by it
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line.\n1. Upgrade x from 1.0 to 1.1.", True, True),
    ],
)
def test_section_leads(text, final, ok):
    assert SectionLines({}, LEAD).check(text, final=final) is ok


@pytest.mark.parametrize(
    "text,rest",
    [
        ("**Fix**\n", "Upgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line."),
        ("**Fix**\n\nUpgrade x from 1.0", " to 1.1, the lowest fixed version on the installed release line."),
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line.", ""),  # the line's end is the model's
        ("**Fix**\nUpgrade x from 1.0 to 1.1, the lowest fixed version on the installed release line.\n", ""),  # the lead given
        ("**Fix**\nUpgrade y", ""),  # off the lead: nothing decided
        ("**Where**\n- File a", ""),  # a section without a lead
        ("**Fi", ""),  # a heading on its way
    ],
)
def test_section_lead_rest(text, rest):
    # What the lead decides is what check lets through, and only that.
    got = SectionLines({}, LEAD).rest(text)
    assert got == rest
    if rest:
        assert SectionLines({}, LEAD).check(text + rest)
        assert not SectionLines({}, LEAD).check(text + rest[:-1] + "!")


def test_processor_cuts_a_decided_lead_as_the_tokenizer_does():
    # The model ranks one-character tokens first where the lead decides
    # the line: the walk would take them ("U", "p", ...); the tokenizer's
    # own first token of the rest is taken instead.
    class Tok(ToyTokenizer):
        def encode(self, text, add_special_tokens=True):
            for i in sorted(range(len(self.vocab)), key=lambda i: -len(self.vocab[i])):
                if self.vocab[i] and text.startswith(self.vocab[i]):
                    return [i] + (self.encode(text[len(self.vocab[i]) :]) if len(text) > len(self.vocab[i]) else [])
            return []

    vocab = ["<p>", "**Fix**\n", "U", "p", "Upgrade x", " now.", "Nope", "</s>"]
    pin = {"leads": {"**Fix**": ["Upgrade x now."]}}
    # Step 1 and 2: the model wants "Nope", then "U"; at step 3 "p".
    prefs = [[1], [6, 2, 4], [2, 3], [3], [7]]
    proc = GroundedProcessor(Tok(vocab), "", eos_ids=[7], pin=pin)
    got = run(proc, vocab, prefs, 4)
    assert got == [1, 4, 5, 7]  # the line ends as the model may end it
    # Without encode the walk takes the best-ranked token on its way.
    proc = GroundedProcessor(ToyTokenizer(vocab), "", eos_ids=[7], pin=pin)
    assert run(proc, vocab, prefs, 2)[1] == 2


SENTENCE = "Upgrade x from 1.0 to 1.1, the lowest fixed version above the installed one."
BLOCK_LEAD = {"**Fix**": [SENTENCE, "maven: Set the version.", "```", "<dependency>", "  <version>1.1</version>", "</dependency>", "```"]}


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("**Fix**\n" + "\n".join(BLOCK_LEAD["**Fix**"]) + "\n1. Rebuild.", True, True),
        ("**Fix**\n" + SENTENCE + "\n\nmaven: Set the version.\n```\n<dependency>\n<version>1.1</version>", False, True),  # blanks aside
        # Run W's grounded httpclient answer: its own label over the block.
        ("**Fix**\n" + SENTENCE + "\ngradle-kotlin (build.gradle-kts", False, False),
        ("**Fix**\n" + SENTENCE + "\n1. Rebuild.", False, False),  # the block is not left out
        ("**Fix**\n" + SENTENCE + "\nmaven: Set the version.\n```\n</dependency>", False, False),
        ("**Fix**\n" + SENTENCE + "\nmaven: Set the version.\n```\n<dependency>\n", True, False),  # nor cut short
        ("**Fix**\n" + SENTENCE + "\nmaven: Set the version.\n```\n<dep", False, True),
    ],
)
def test_section_lead_through_its_block(text, final, ok):
    assert SectionLines({}, BLOCK_LEAD).check(text, final=final) is ok


HEADS = ["**In short**", "**Where**", "**How to verify**"]


@pytest.mark.parametrize(
    "text,final,ok",
    [
        ("**In short**\nx\n**Where**\n- y\n**How to verify**\n- z", True, True),
        ("**In short**\nx\n\n**How to verify**\n- z\n", False, True),  # a section may be left out
        # The demo model's grounded answers: a References section the
        # finding has no link for, holding a How to verify line.
        ("**How to verify**\n- z\n\n**References**\n- z", True, False),
        ("**How to verify**\n- z\n\n**Re", False, False),  # refused on its way
        ("**In short**\nx\n**Where**\n- y\n**How to verify**\n- z\n\n**", False, False),  # no heading left to give
        ("**How to verify**\n- z\n\n**", False, True),  # In short and Where still may come
        ("**In short**\nx\n\n**", False, True),  # Where still may come
        ("**In short**\nx\n** where**", False, True),  # as the loop guard reads headings
        ("**In short**\nx\n**In short**\n", False, False),  # each once
        ("**In short**\nx\n*", False, True),
        # Asterisks alone are on their way to a heading or nothing: 9 of
        # 35 grounded answers ended on a lone "*" past their last section.
        ("**In short**\nx\n**Where**\n- y\n**How to verify**\n- z\n\n*", False, False),
        ("**In short**\nx\n\n*", True, False),
        ("**In short**\nx\n***\n", False, False),
        # A line that opens with one asterisk and goes on is no heading.
        # Past the last heading decoding cannot reach it token by token
        # (its "*" alone is barred first): the rule's price, paid by no
        # reference answer, narrate's bullets being "- ".
        ("**In short**\nx\n**Where**\n- y\n**How to verify**\n- z\n* a list item\n", False, True),
        ("**In short**\nx\n* a list item\n**Where**\n", False, True),
        ("**In short**\nx\n**Where**\n- y\n**How to verify**\n- z\n* ", False, False),
        ("**In short**\n```\n**kwargs\n", False, False),  # a bold line that is no heading
        ("no heading at all", True, True),
    ],
)
def test_headings(text, final, ok):
    assert Headings(HEADS).check(text, final=final) is ok


def test_headings_in_the_answer_pin():
    pin = AnswerPin({"headings": HEADS})
    assert pin.active and not pin.check("**References**\n", final=False)
    assert not AnswerPin({"headings": []}).active


def test_section_lines_without_lines_hold_nothing():
    assert not SectionLines({}).active and not SectionLines({"**Where**": [" "]}).active
    assert SectionLines({}).check("**Where**\n- anything", final=True)
    # A heading with no lines holds nothing, not even a line.
    assert SectionLines({"**Where**": [" "], "**Fix**": ["x"]}).check("**Where**\n**Fix**\nx", final=True)


def test_processor_holds_where_to_the_facts():
    """Grounded decoding turns the Where section's file to the finding's:
    the model would name the rule id, the walk finds the file."""
    vocab = ["**Where**\n", "- File ", "vue/rule", "package.json", ", line 12", "\n", "<eos>"]
    tok = ToyTokenizer(vocab)
    pin = {"sections": {"**Where**": ["- File package.json, line 12"]}}
    prefs = [[0], [1], [2, 3], [4], [5], [6]]
    ground = GROUND + "\nvue/rule"
    out = run(GroundedProcessor(tok, ground, eos_ids=[6], pin=pin), vocab, prefs, 6)
    assert "".join(vocab[t] for t in out if t != 6) == "**Where**\n- File package.json, line 12\n"


LATER = ["the lowest fixed version on the installed release line", "no fixed version is known"]


@pytest.mark.parametrize(
    "text,ok",
    [
        ("**What it is**\nupgrade from 2.16.3 to 4.2.1, the lowest fixed version above the installed one", True),
        ("**What it is**\nupgrade from 2.16.3 to 4.2.1, the lowest fixed version on the installed release", True),  # not yet
        ("**What it is**\nupgrade from 2.16.3 to 4.2.1, the lowest fixed version on the installed release line", False),
        ("the lowest fixed version on the installed release lines", False),  # a phrase inside a token
        ("The Lowest Fixed Version On The Installed Release Line", False),  # in any case
        ("No fixed version is known yet.", False),
        ("x" * 5000 + " no fixed version is known", False),  # at the end of a long answer
    ],
)
def test_forbidden(text, ok):
    assert Forbidden(LATER).check(text) is ok


def test_forbidden_without_phrases_holds_nothing():
    assert not Forbidden(None).active and not Forbidden(["", None]).active


def test_processor_keeps_the_fix_on_its_release_line():
    """Grounded decoding walks past the token that would put a fix on a
    later release line on the installed one."""
    vocab = ["**What it is**\n", "4.2.1, the lowest fixed version ", "on the installed release line", "above the installed one", ".", "<eos>"]
    tok = ToyTokenizer(vocab)
    pin = {"forbidden": ["the lowest fixed version on the installed release line"]}
    prefs = [[0], [1], [2, 3], [4], [5]]
    out = run(GroundedProcessor(tok, GROUND + "\n4.2.1", eos_ids=[5], pin=pin), vocab, prefs, 5)
    assert "".join(vocab[t] for t in out if t != 5) == "**What it is**\n4.2.1, the lowest fixed version above the installed one."


WEAKNESS = "Address the underlying weakness, CWE-190 (Integer Overflow or Wraparound): The product performs a calculation."
STEPS = {"Address the underlying": [WEAKNESS], "Follow the rule's documented": []}


@pytest.mark.parametrize(
    "text,final,ok",
    [
        # The finding's own step, under any list marker.
        ("**Fix**\n1. " + WEAKNESS + "\n", False, True),
        ("**Fix**\n3. " + WEAKNESS, True, True),
        ("- " + WEAKNESS + "\n", False, True),
        # On its way to it, a trailing blank included.
        ("**Fix**\n2. Address the underlying weakness, CWE-190 (Integer", False, True),
        ("**Fix**\n2. Address the underlying weakness, CWE-190 ", False, True),
        # Not yet the opening: the model's own.
        ("**Fix**\n2. Address the under", False, True),
        ("**Fix**\n2. Address the flagged code.\n", False, True),
        # A paraphrase of the opening's close opens so too.
        ("**Fix**\n2. Address the underlying vulnerability", False, False),
        ("**Fix**\n2. Follow the rule's documented solution", False, False),
        # The catalogue paraphrased wrongly, or cut short.
        ("**Fix**\n2. Address the underlying weakness, CWE-190 (Integer Overflow or Wraparound): The product of an", False, False),
        ("**Fix**\n2. Address the underlying weakness, CWE-190 (Integer Overflow or Wraparound):\n", False, False),
        ("**Fix**\n2. " + WEAKNESS, False, True),
        ("**Fix**\n2. " + WEAKNESS[:-1], True, False),
        # In another case the opening is held too.
        ("**Fix**\n2. address the underlying weakness, a secret", False, False),
        # No page: no documented fix, wherever it is written.
        ("**Fix**\n2. Follow the rule's documented fix", False, False),
        ("**How to verify**\n- Follow the rule's documented fix: https://cwe.mitre.org/data/definitions/190.html\n", False, False),
        ("**Fix**\n2. Follow the rule's", False, True),
        # Each held line once: not again, nor on its way to it again.
        ("**Fix**\n1. " + WEAKNESS + "\n2. Do it.\n3. " + WEAKNESS + "\n", False, False),
        ("**Fix**\n1. " + WEAKNESS + "\n3. " + WEAKNESS[:40], False, False),
        ("**Fix**\n1. " + WEAKNESS + "\n2. Address the under", False, True),
    ],
)
def test_step_lines(text, final, ok):
    assert StepLines(STEPS).check(text, final=final) is ok


def test_step_lines_in_the_answer_pin():
    pin = AnswerPin({"steps": STEPS})
    assert pin.active and not pin.check("1. Follow the rule's documented fix: x\n", final=False)
    assert not AnswerPin({"steps": {}}).active
    # An opening with no line (JSON null) bars it too.
    assert not StepLines({"Address the underlying": None}).check("Address the underlying weakness", final=False)
