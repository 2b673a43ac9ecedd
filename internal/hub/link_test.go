package hub_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/hub"
	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// TestLinkModels lists models on a published dataset's card through the
// engine against the stand-in: one commit of README.md per new model,
// earlier models kept, none for a model already listed, and the list
// kept when the dataset is republished from a card that lacks it.
func TestLinkModels(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{})
	e := testEngine(t)
	ctx := context.Background()
	tok := token(t, hubtest.DefaultWriteToken)
	ds := filepath.Join(t.TempDir(), "findings-ds")
	hubtest.WriteDataset(t, ds, "", 30)
	o := hub.Options{PlanOptions: hub.PlanOptions{Kind: hub.KindDataset, Dir: ds}, GateOptions: gateOptions(),
		Token: tok, Endpoint: s.URL, Engine: e, BackoffSeconds: 0.05}
	if _, err := hub.Publish(ctx, o); err != nil {
		t.Fatal(err)
	}
	repo := hubtest.DefaultUser + "/findings-ds"
	m1, m2 := hubtest.DefaultUser+"/sec-model-1", hubtest.DefaultUser+"/sec-model-2"
	for i, step := range []struct {
		model     string
		committed bool
		commits   int
	}{{m1, true, 3}, {m1, false, 3}, {m2, true, 4}} {
		l, err := hub.LinkModels(ctx, e, tok, s.URL, repo, "main", step.model)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		h := s.History("dataset", repo, "main")
		if l.Committed != step.committed || len(h) != step.commits || l.Commit != h[0].ID {
			t.Errorf("step %d: committed %v, %d commits, commit %s", i, l.Committed, len(h), l.Commit)
		}
	}
	h := s.History("dataset", repo, "main")
	card := string(h[0].Files["README.md"])
	want := "## Models trained on this dataset\n\n- [" + m1 + "](" + s.URL + "/" + m1 + ")\n- [" + m2 + "]("
	if !strings.Contains(card, want) || !strings.HasPrefix(card, string(h[2].Files["README.md"])) {
		t.Errorf("card:\n%s", card)
	}
	if len(h[0].Files) != len(h[2].Files) {
		t.Errorf("the card commits changed the file set: %d -> %d files", len(h[2].Files), len(h[0].Files))
	}
	// Republishing the dataset (its local card lists no model): no commit,
	// the list stays.
	r, err := hub.Publish(ctx, o)
	if err != nil || r.Published.Committed {
		t.Fatalf("republish: committed %v, %v", r != nil && r.Published != nil && r.Published.Committed, err)
	}
	if _, err := hub.LinkModels(ctx, e, tok, s.URL, "not-an-id", "main", m1); err == nil {
		t.Error("a dataset that is not a Hub id accepted")
	}
	for _, r := range s.Leaks() {
		t.Errorf("token outside Authorization: %s %s (%s)", r.Method, r.Path, r.TokenElsewhere)
	}
}
