package evaluate

import (
	"reflect"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

func TestAggregateWholeAnswer(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	gens := []Generation{
		{FinishReason: "stop", Scores: Scores{Snippet: &yes, Ungrounded: []string{}}},
		{FinishReason: "length", Scores: Scores{Snippet: &no, Ungrounded: []string{"1.3.5", "https://x.example/a"},
			UngroundedByKind: map[string]int{"version": 1, "URL": 1}}},
		{FinishReason: "stop", Scores: Scores{Ungrounded: []string{"https://x.example/b"}, UngroundedByKind: map[string]int{"URL": 1}}},
		{FinishReason: "length", Scores: Scores{Snippet: &no, Ungrounded: []string{}}},
		{FinishReason: "repetition", Text: "Fix it.\nFix it.", Scores: Scores{Ungrounded: []string{}}},
		{FinishReason: "stop", Text: "Change the port here.\nok\nChange the port here.\nChange the port here.", Scores: Scores{Ungrounded: []string{}}},
	}
	m := aggregate(gens)
	if m.SnippetN != 3 || m.SnippetAccuracy == nil || *m.SnippetAccuracy != 1.0/3 {
		t.Errorf("snippet accuracy %v over %d, want 1/3 over 3", show(m.SnippetAccuracy), m.SnippetN)
	}
	if m.Truncated != 2 || m.Repeating != 1 || m.EndedShare == nil || *m.EndedShare != 0.5 {
		t.Errorf("truncated %d, repeating %d, ended share %v; want 2, 1 and 0.5", m.Truncated, m.Repeating, show(m.EndedShare))
	}
	// The answer stopped for repetition and the one with a line three
	// times; not the others.
	if m.RepetitionShare == nil || *m.RepetitionShare != 2.0/6 {
		t.Errorf("repetition share %v, want 2/6", show(m.RepetitionShare))
	}
	want := map[string]int{"version": 1, "CWE": 0, "vulnerability id": 0, "path": 0, "URL": 2}
	if !reflect.DeepEqual(m.UngroundedByKind, want) {
		t.Errorf("ungrounded by kind %v, want %v", m.UngroundedByKind, want)
	}
	if m.HallucinationRate == nil || *m.HallucinationRate != 2.0/6 {
		t.Errorf("hallucination rate %v, want 2/6", show(m.HallucinationRate))
	}

	// Coverage counts the answers whose reference has a snippet: the one
	// that wrote one (right or wrong) against the one that left it out.
	cov := aggregate([]Generation{
		{FinishReason: "stop", Scores: Scores{Snippet: &no, SnippetWritten: &yes, Ungrounded: []string{}}},
		{FinishReason: "stop", Scores: Scores{SnippetWritten: &no, Ungrounded: []string{}}},
		{FinishReason: "stop", Scores: Scores{Ungrounded: []string{}}},
	})
	if cov.SnippetCoverageN != 2 || cov.SnippetCoverage == nil || *cov.SnippetCoverage != 0.5 {
		t.Errorf("snippet coverage %v over %d, want 0.5 over 2", show(cov.SnippetCoverage), cov.SnippetCoverageN)
	}

	none := aggregate([]Generation{{FinishReason: "stop", Scores: Scores{Ungrounded: []string{}}}})
	if none.SnippetAccuracy != nil || none.SnippetN != 0 || *none.EndedShare != 1 {
		t.Errorf("no snippet: accuracy %v over %d, ended %v; want nil over 0, ended 1", show(none.SnippetAccuracy), none.SnippetN, show(none.EndedShare))
	}
	if empty := aggregate(nil); empty.EndedShare != nil || empty.RepetitionShare != nil || empty.UngroundedByKind != nil {
		t.Errorf("no answers: ended %v, by kind %v; want nil", show(empty.EndedShare), empty.UngroundedByKind)
	}
}

func show(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// TestScoreSnippetWritten: an answer is held to write a fix snippet where
// its reference answer has one, and only there.
func TestScoreSnippetWritten(t *testing.T) {
	t.Parallel()
	facts := dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20", FixedVersion: "4.17.21", Location: "package-lock.json"}
	ex := func(ref string) example {
		return example{Messages: []chat.Message{{Role: "user", Content: "lodash 4.17.20 in package-lock.json, fixed in 4.17.21"},
			{Role: "assistant", Content: ref}}, Meta: dataset.Meta{Facts: facts}}
	}
	withSnippet := "Upgrade lodash to 4.17.21.\n```\nnpm install lodash@4.17.21\n```"
	for _, tt := range []struct {
		name, ref, answer string
		want              *bool
	}{
		{"written", withSnippet, "Upgrade lodash to 4.17.21: `npm install lodash@4.17.21`.", ptrBool(true)},
		{"left out", withSnippet, "Upgrade lodash to 4.17.21.", ptrBool(false)},
		{"reference has none", "Upgrade lodash to 4.17.21.", "Upgrade lodash to 4.17.21.", nil},
	} {
		g := Generation{Text: tt.answer, FinishReason: "stop"}
		g.score(ex(tt.ref))
		if got := g.Scores.SnippetWritten; (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: snippet written %v, want %v", tt.name, showBool(got), showBool(tt.want))
		}
	}
}

func ptrBool(b bool) *bool { return &b }

func showBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// TestScoreSnippetVerbatim: scored against its reference, a snippet that
// pins the fixed version is right only written as the reference writes
// the fix (scoring v8); answers of issue 16's runs I and K show the
// shapes that pinned the right version and fixed nothing.
func TestScoreSnippetVerbatim(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name          string
		facts         dataset.Facts
		ref, answer   string
		want, fixedOK *bool
	}{
		{"as the reference", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm   install lodash@4.17.21\n```", ptrBool(true), ptrBool(true)},
		{"inline command as the reference's line", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21: `npm install lodash@4.17.21`.", ptrBool(true), ptrBool(true)},
		{"npm's own alias of install", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm add lodash@4.17.21\n```", ptrBool(true), ptrBool(true)},
		{"npm's short alias", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21: `npm i lodash@4.17.21`.", ptrBool(true), ptrBool(true)},
		{"another package manager's add", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\npnpm add lodash@4.17.21\n```", ptrBool(false), ptrBool(true)},
		{"an alias with the installed version", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm add lodash@4.17.20\n```", ptrBool(false), ptrBool(false)},
		{"space before the version", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm install lodash @4.17.21\n```", ptrBool(false), ptrBool(true)},
		{"another build system's line", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nRUN apt-get update && apt-get install -y --only-upgrade lodash=4.17.21\n```", ptrBool(false), ptrBool(true)},
		{"no gem line", dataset.Facts{Package: "uri", InstalledVersion: "0.10.1", FixedVersion: "0.10.2", Location: "Gemfile.lock"},
			"Upgrade uri from 0.10.1 to 0.10.2.\n```\ngem 'uri', '>= 0.10.2'\n```",
			"Upgrade uri from 0.10.1 to 0.10.2.\n```\ngem 'uri:0.10.2', package: 'uri:0.10.2'\n```", ptrBool(false), ptrBool(true)},
		{"installed version stays wrong", lodashFacts, lodashRef,
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm install lodash@4.17.20\n```", ptrBool(false), ptrBool(false)},
		{"reference without a snippet judges no line", lodashFacts, "Upgrade lodash from 4.17.20 to 4.17.21.",
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nyarn add lodash@4.17.21\n```", ptrBool(true), ptrBool(true)},
		{"no snippet, nothing scored", lodashFacts, lodashRef, "Upgrade lodash from 4.17.20 to 4.17.21.", nil, ptrBool(true)},
		// A block is the reference's whole (scoring v14): run W's grounded
		// answer for httpclient left the <groupId> line out.
		{"the reference's block whole", httpFacts, httpRef, httpRef, ptrBool(true), ptrBool(true)},
		{"a block without its groupId", httpFacts, httpRef,
			"Upgrade httpclient from 4.1.1 to 4.3.5.\n```\n<dependency>\n  <artifactId>httpclient</artifactId>\n  <version>4.3.5</version>\n</dependency>\n```", ptrBool(false), ptrBool(true)},
		{"an answer that stops inside the block", httpFacts, httpRef,
			"Upgrade httpclient from 4.1.1 to 4.3.5.\n```\n<dependency>\n  <groupId>org.apache.httpcomponents</groupId>\n  <artifactId>httpclient</artifactId>\n  <version>4.3.5</version>", ptrBool(false), ptrBool(true)},
		{"two of the reference's blocks in one fence", lodashFacts, lodashRef + "\n```\nnpm ls lodash\n```",
			"Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm install lodash@4.17.21\nnpm ls lodash\n```", ptrBool(true), ptrBool(true)},
	} {
		ex := example{Messages: []chat.Message{{Role: "user", Content: "lodash 4.17.20 in package-lock.json, fixed in 4.17.21; uri 0.10.1 in Gemfile.lock, fixed in 0.10.2; org.apache.httpcomponents:httpclient 4.1.1 in /TwilioNotifier.hpi, fixed in 4.3.5"},
			{Role: "assistant", Content: tt.ref}}, Meta: dataset.Meta{Facts: tt.facts}}
		g := Generation{Text: tt.answer, FinishReason: "stop"}
		g.score(ex)
		if got := g.Scores.Snippet; (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: snippet %v, want %v", tt.name, showBool(got), showBool(tt.want))
		}
		if got := g.Scores.FixedVersion; (got == nil) != (tt.fixedOK == nil) || got != nil && *got != *tt.fixedOK {
			t.Errorf("%s: fixed version %v, want %v", tt.name, showBool(got), showBool(tt.fixedOK))
		}
	}
}

var lodashFacts = dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20", FixedVersion: "4.17.21", Location: "package-lock.json"}

var httpFacts = dataset.Facts{Package: "org.apache.httpcomponents:httpclient", InstalledVersion: "4.1.1", FixedVersion: "4.3.5", Location: "/TwilioNotifier.hpi"}

const httpRef = "Upgrade org.apache.httpcomponents:httpclient from 4.1.1 to 4.3.5.\n```\n<dependency>\n  <groupId>org.apache.httpcomponents</groupId>\n  <artifactId>httpclient</artifactId>\n  <version>4.3.5</version>\n</dependency>\n```"

const lodashRef = "Upgrade lodash from 4.17.20 to 4.17.21.\n```\nnpm install lodash@4.17.21\n```"

// TestScoreEcosystem: the ecosystem an answer's package line names is held
// to the reference's (scoring v9); run N7 answered golang.org/x/net with
// "(npm)" and an npm block.
func TestScoreEcosystem(t *testing.T) {
	t.Parallel()
	const ref = "**Where**\n- Package golang.org/x/net, installed version 0.1.0 (go)\n- File go.sum"
	for _, tt := range []struct {
		name, ref, answer string
		want              *bool
	}{
		{"as the reference", ref, "**Where**\n- Package golang.org/x/net, installed version 0.1.0 (go)", ptrBool(true)},
		{"case and spaces aside", ref, "- Package golang.org/x/net, installed version 0.1.0 ( Go )", ptrBool(true)},
		{"another ecosystem", ref, "**Where**\n- Package golang.org/x/net, installed version 0.1.0 (npm)", ptrBool(false)},
		{"none named", ref, "**Where**\n- Package golang.org/x/net, installed version 0.1.0\n- File go.sum", ptrBool(false)},
		{"reference names none", "**Where**\n- File main.go, line 3", "**Where**\n- Package x, installed version 1.0 (npm)", nil},
	} {
		ex := example{Messages: []chat.Message{{Role: "user", Content: "golang.org/x/net 0.1.0 (go) in go.sum"},
			{Role: "assistant", Content: tt.ref}}}
		g := Generation{Text: tt.answer, FinishReason: "stop"}
		g.score(ex)
		if got := g.Scores.Ecosystem; (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: ecosystem %v, want %v", tt.name, showBool(got), showBool(tt.want))
		}
	}
	m := aggregate([]Generation{
		{FinishReason: "stop", Scores: Scores{Ecosystem: ptrBool(true), Ungrounded: []string{}}},
		{FinishReason: "stop", Scores: Scores{Ecosystem: ptrBool(false), Ungrounded: []string{}}},
		{FinishReason: "stop", Scores: Scores{Ungrounded: []string{}}},
	})
	if m.EcosystemN != 2 || m.EcosystemAccuracy == nil || *m.EcosystemAccuracy != 0.5 {
		t.Errorf("ecosystem accuracy %v over %d, want 0.5 over 2", show(m.EcosystemAccuracy), m.EcosystemN)
	}
}
