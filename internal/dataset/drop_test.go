package dataset_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
)

// Planted bad examples are dropped with the reason of the check they fail,
// counted in stats.json and the card, and nothing of them is written.
func TestScreenDropsBadExamples(t *testing.T) {
	t.Parallel()
	const marker = "zebra-quartz-marker"
	good := "The finding is real and must be fixed: upgrade the library as the report says, rebuild and run the scanner again to confirm."
	planted := []struct {
		id, answer, reason string
	}{
		{"bad-empty", "   ", dataset.ReasonEmptyAnswer},
		{"bad-short", marker + " fix it.", dataset.ReasonShortAnswer},
		{"bad-truncated", good + " Then " + marker + " and then we", dataset.ReasonTruncated},
		{"bad-placeholder", good + " TODO: " + marker + " implement the fix here.", dataset.ReasonPlaceholder},
		{"bad-cwe", good + " This is " + marker + " CWE-352, cross-site request forgery.", dataset.ReasonUngrounded},
		{"bad-path", good + " See " + marker + " /var/lib/apt/lists/ for the cache.", dataset.ReasonUngrounded},
		{"bad-secret", good + " " + marker + " uses key AKIAIOSFODNN7EXAMPLF in the config.", dataset.ReasonSecretLike},
	}
	ex := synthetic(40)
	for i := range ex {
		ex[i].Messages[2].Content = good + " " + ex[i].Messages[2].Content
	}
	for _, p := range planted {
		e := example(p.id, "code")
		e.Messages[1].Content = "Semgrep flags app/db.py:12 with rule sql-injection."
		e.Messages[2].Content = p.answer
		ex = append(ex, e)
	}
	kept, drops := dataset.Screen(ex)
	if len(kept) != 40 || len(drops) != len(planted) {
		t.Fatalf("kept %d, dropped %d (%+v)", len(kept), len(drops), drops)
	}
	byID := map[string]dataset.Drop{}
	for _, d := range drops {
		byID[d.FindingID] = d
		if strings.Contains(d.Detail, marker) || strings.Contains(d.Detail, "AKIA") || strings.Contains(d.Detail, "/var/lib") {
			t.Errorf("%s: the detail quotes the dropped example: %q", d.FindingID, d.Detail)
		}
	}
	for _, p := range planted {
		if d, ok := byID[p.id]; !ok || d.Reason != p.reason {
			t.Errorf("%s: dropped as %+v, want reason %q", p.id, d, p.reason)
		}
	}

	st, err := dataset.Split(kept, dataset.SplitOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ds")
	stats, err := dataset.Write(dir, kept, dataset.WriteOptions{Split: st, Drops: drops})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Dropped[dataset.ReasonUngrounded] != 2 || len(stats.DroppedExamples) != len(planted) {
		t.Errorf("stats: dropped %v, %d listed", stats.Dropped, len(stats.DroppedExamples))
	}
	var onDisk dataset.Stats
	b, _ := os.ReadFile(filepath.Join(dir, "stats.json"))
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.Dropped[dataset.ReasonSecretLike] != 1 {
		t.Errorf("stats.json dropped %v (%v)", onDisk.Dropped, err)
	}
	card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"## Dropped examples", "| " + dataset.ReasonUngrounded + " | 2 |", "finding `bad-secret`: " + dataset.ReasonSecretLike} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.Contains(string(b), marker) {
			t.Errorf("%s holds text of a dropped example", e.Name())
		}
	}
}

// Write refuses what Screen would have dropped: a dataset is never
// written around a failing example that nobody screened.
func TestWriteRefusesUnscreened(t *testing.T) {
	t.Parallel()
	ex, st := splitSynthetic(t, 40)
	ex[3].Messages[2].Content += " It is tracked as CWE-352."
	_, err := dataset.Write(filepath.Join(t.TempDir(), "ds"), ex, dataset.WriteOptions{Split: st})
	if err == nil || !strings.Contains(err.Error(), dataset.ReasonUngrounded) {
		t.Fatalf("err = %v", err)
	}
}
