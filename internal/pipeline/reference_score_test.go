package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulntune/vulntune/internal/augment"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/engine/enginetest"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/pipeline"
	"github.com/vulntune/vulntune/internal/remedy"
)

// referenceSources are the scanner reports whose datasets hold the
// reference answers the scoring rules and the repetition stop must pass.
var referenceSources = []string{"../../examples/artifacts", "../../examples/corpus"}

// referenceExamples builds src's dataset as the main job does and returns
// every example of it, training and held-out, identifier-replaced copies
// included: a copy's reference answer must pass as its original's does,
// those that moved to another ecosystem, gained a fix or lost their CWE or
// line too (on here at half their copies whatever the defaults).
func referenceExamples(t *testing.T, src string) []dataset.Example {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dataset")
	cat := augment.Default()
	cat.EcosystemShare, cat.FixShare, cat.CWEDropShare, cat.LineDropShare = 0.5, 0.5, 0.5, 0.5
	if _, err := pipeline.BuildDataset(context.Background(), pipeline.DatasetOptions{
		ArtifactPaths: []string{src}, OutDir: out,
		MaxPerRule: 10, Split: dataset.SplitOptions{ValidFraction: 0.2, Seed: 42},
		Augment: pipeline.Augmentation{Copies: 1, MaxCopies: 3, Catalogue: cat},
	}); err != nil {
		t.Fatal(err)
	}
	exs, err := dataset.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

// TestReferenceAnswersScorePerfect scores every reference answer of the
// sample and corpus datasets as evaluation scores a model's: the answer
// the model learns from must name the fixed version, agree with its first
// line, name its CWE and its location (the Where section's too), pin the fixed version in every fix snippet, name no ungrounded
// version, CWE, vulnerability id, path or URL, and repeat no line three times
// (the repetition share); so must every identifier-replaced copy of a
// training example. A scoring rule that fails a reference answer measures
// the rule, not the model.
func TestReferenceAnswersScorePerfect(t *testing.T) {
	t.Parallel()
	for _, src := range referenceSources {
		t.Run(filepath.Base(src), func(t *testing.T) {
			t.Parallel()
			exs := referenceExamples(t, src)
			snippets, copies := 0, 0
			for _, e := range exs {
				if e.Meta.AugmentOf != "" {
					copies++
				}
				s := evaluate.Score(e.Assistant(), e.Prompt(), e.Meta.Facts)
				if s.FixedVersion != nil && !*s.FixedVersion {
					t.Errorf("%s: reference answer fails fixed version (%+v)\n%s", e.Meta.FindingID, e.Meta.Facts, e.Assistant())
				}
				if s.Location != nil && !*s.Location {
					t.Errorf("%s: reference answer fails its location (%q), its Where section included\n%s", e.Meta.FindingID, e.Meta.Facts.Location, e.Assistant())
				}
				if s.CWE != nil && !*s.CWE {
					t.Errorf("%s: reference answer names none of its CWEs %v", e.Meta.FindingID, e.Meta.Facts.CWE)
				}
				if s.Snippet != nil {
					snippets++
					if !*s.Snippet {
						t.Errorf("%s: reference answer fails its fix snippets (%+v)", e.Meta.FindingID, e.Meta.Facts)
					}
				}
				// URLs included: a reference answer links only pages its
				// prompt shows or the canonical page of an id it shows
				// (narrate.Example), as evaluation requires of a model.
				for kind, n := range s.UngroundedByKind {
					t.Errorf("%s: reference answer names %d ungrounded %s (%q)", e.Meta.FindingID, n, kind, s.Ungrounded)
				}
				if line, n := evaluate.RepeatedLine(e.Assistant()); n >= evaluate.RepeatedLineCount {
					t.Errorf("%s: reference answer repeats %q %d times: the repetition share would count it", e.Meta.FindingID, line, n)
				}
				if word, n := evaluate.RepeatedWord(e.Assistant()); n >= evaluate.RepeatedWordCount-1 {
					t.Errorf("%s: reference answer writes %q %d times in a row: the repetition share would count it, or nearly", e.Meta.FindingID, word, n)
				}
			}
			t.Logf("%d examples (%d identifier-replaced copies), %d with fix snippets", len(exs), copies, snippets)
			if copies == 0 {
				t.Error("no identifier-replaced copy was scored")
			}
		})
	}
}

// TestRepeatStopAndLoopGuardSpareReferenceAnswers runs the engine's
// repetition stop (evaluate.DefaultRepeatStop) and loop guard
// (engine.DefaultLoopGuard) over every reference answer of the sample and
// corpus datasets, in the bundled model's tokens: a stop that would end a
// reference answer early, or a guard that would mask one of its tokens,
// would change answers a model should write. It loads the tokenizer only
// (seconds), and skips without the engine.
func TestRepeatStopAndLoopGuardSpareReferenceAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("engine test")
	}
	e := hubEngine(t)
	model := filepath.Join(os.Getenv("VULNTUNE_BASE_MODELS_DIR"), "SmolLM2-135M-Instruct")
	if _, err := os.Stat(filepath.Join(model, "tokenizer.json")); e == nil || os.Getenv("VULNTUNE_BASE_MODELS_DIR") == "" || err != nil {
		t.Skip("no engine or bundled model: run `make setup` (the Makefile exports VULNTUNE_DATA_DIR and VULNTUNE_BASE_MODELS_DIR)")
	}
	for _, src := range referenceSources {
		exs := referenceExamples(t, src)
		texts, prompts := make([]string, len(exs)), make([]string, len(exs))
		for i, ex := range exs {
			texts[i], prompts[i] = ex.Assistant(), ex.Prompt()
		}
		stop, guard := evaluate.DefaultRepeatStop, engine.DefaultLoopGuard
		refs, err := e.References(context.Background(), engine.ReferencesRequest{Model: model, Texts: texts, Prompts: prompts, RepeatStop: &stop, LoopGuard: &guard})
		if err != nil {
			t.Fatal(err)
		}
		longest := 0
		for i, at := range refs.Stops {
			longest = max(longest, refs.Tokens[i])
			if at >= 0 {
				t.Errorf("%s: %s: the repetition stop (%s) ends its reference answer after %d of %d tokens",
					filepath.Base(src), exs[i].Meta.FindingID, stop, at, refs.Tokens[i])
			}
			// Read against the prompt, as in decoding: a span the prompt
			// holds may come back in a line.
			if g := refs.Guarded[i]; g >= 0 {
				t.Errorf("%s: %s: the loop guard (%s) masks token %d of %d of its reference answer",
					filepath.Base(src), exs[i].Meta.FindingID, guard, g, refs.Tokens[i])
			}
		}
		if longest == 0 {
			t.Fatalf("%s: no reference answer has a token", filepath.Base(src))
		}
		t.Logf("%s: %d reference answers, the longest %d tokens (bound %d)", filepath.Base(src), len(exs), longest, evaluate.BoundFromReferences(longest))
	}
}

// pinReferenceScript checks each answer with pin.py's AnswerPin at every
// prefix and as a final answer; it prints the length of the first prefix
// refused, or -1.
const pinReferenceScript = `
import json, sys
sys.path.insert(0, sys.argv[1])
from vulntune_engine.pin import AnswerPin
out = []
for c in json.load(sys.stdin):
    p, a = AnswerPin(c), c["answer"]
    bad = next((i for i in range(1, len(a) + 1) if not p.check(a[:i])), -1)
    out.append(bad if bad >= 0 or p.check(a, final=True) else len(a))
json.dump(out, sys.stdout)
`

// TestSnippetPinSparesReferenceAnswers: grounded decoding's hold on fix
// snippets, the Fix and Why it matters leads, its headings, its fix steps
// that state facts, the sections of facts and the phrases that
// would make a fix wrong (evaluate.AnswerPin,
// the engine's pin.py) lets every reference
// answer of the sample and corpus datasets through, character by
// character: the rule bars only what a model should not write.
func TestSnippetPinSparesReferenceAnswers(t *testing.T) {
	type pinCase struct {
		Answer    string              `json:"answer"`
		Installed string              `json:"installed"`
		Fixed     string              `json:"fixed"`
		Blocks    [][]string          `json:"blocks"`
		Sections  map[string][]string `json:"sections"`
		Leads     map[string][]string `json:"leads"`
		Headings  []string            `json:"headings"`
		Steps     map[string][]string `json:"steps"`
		Forbidden []string            `json:"forbidden"`
	}
	for _, src := range referenceSources {
		var cases []pinCase
		var ids []string
		lined, led, why, through, barred, held, steps := 0, 0, 0, 0, 0, map[string]int{}, map[string]int{}
		for _, ex := range referenceExamples(t, src) {
			if pin := evaluate.AnswerPin(ex.Meta.Facts, ex.Meta.Kind, ex.Assistant()); pin != nil {
				cases = append(cases, pinCase{ex.Assistant(), pin.Installed, pin.Fixed, pin.Blocks, pin.Sections, pin.Leads, pin.Headings, pin.Steps, pin.Forbidden})
				lined += min(len(pin.Blocks), 1)
				if _, ok := pin.Leads[chat.Heading("Fix")]; ok {
					led++
				}
				if _, ok := pin.Leads[chat.Heading("Why it matters")]; ok {
					why++
				}
				if len(pin.Leads[chat.Heading("Fix")]) > 1 {
					through++
				}
				barred += min(len(pin.Forbidden), 1)
				for o, lines := range pin.Steps {
					steps[o] += min(len(lines), 1)
				}
				for h := range pin.Sections {
					held[h]++
				}
				ids = append(ids, ex.Meta.FindingID)
			}
		}
		if len(cases) == 0 {
			t.Fatalf("%s: no reference answer has a pin", filepath.Base(src))
		}
		var refused []int
		enginetest.RunScript(t, "pin.py over the reference answers", pinReferenceScript, cases, &refused)
		if len(refused) != len(cases) {
			t.Fatalf("pin.py gave %d verdicts, want %d", len(refused), len(cases))
		}
		for i, at := range refused {
			if at >= 0 {
				c := cases[i]
				t.Errorf("%s: %s: the pin (installed %s, fixed %s, %d fix blocks, sections %v) refuses its reference answer at %q",
					filepath.Base(src), ids[i], c.Installed, c.Fixed, len(c.Blocks), c.Sections, c.Answer[max(0, at-80):at])
			}
		}
		if lined == 0 || led == 0 || through == 0 || barred == 0 || why == 0 {
			t.Errorf("%s: %d reference answers' pins hold fix blocks, %d a Fix lead (%d through its block), %d a Why it matters lead, %d forbid phrases, want some of each", filepath.Base(src), lined, led, through, why, barred)
		}
		for _, h := range []string{chat.Heading("In short"), chat.Heading("What it is"), chat.Heading("Where"), chat.Heading("How to verify")} {
			if held[h] == 0 {
				t.Errorf("%s: no reference answer's pin holds its %s lines", filepath.Base(src), h)
			}
		}
		for _, o := range remedy.FactSteps {
			if steps[o] == 0 {
				t.Errorf("%s: no reference answer's pin holds a %q step", filepath.Base(src), o)
			}
		}
		t.Logf("%s: %d reference answers with a pin, %d of them with fix blocks, %d with a Fix lead (%d through its block), %d with a Why it matters lead, %d with forbidden phrases, %d with In short, %d with What it is, %d with Where, %d with How to verify lines, %d with a weakness step, %d with a documented fix",
			filepath.Base(src), len(cases), lined, led, through, why, barred, held[chat.Heading("In short")], held[chat.Heading("What it is")], held[chat.Heading("Where")], held[chat.Heading("How to verify")],
			steps[remedy.FactSteps[1]], steps[remedy.FactSteps[0]])
	}
}
