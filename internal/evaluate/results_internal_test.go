package evaluate

import (
	"reflect"
	"testing"
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
