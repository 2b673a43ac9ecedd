package dataset_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

func splitSynthetic(t *testing.T, n int) ([]dataset.Example, dataset.SplitStats) {
	t.Helper()
	ex := synthetic(n)
	for i := range ex {
		ex[i].Messages[2].Content = "The finding is real and must be fixed. " + ex[i].Messages[2].Content
		ex[i].Meta.Tools = []string{"trivy"}
		ex[i].Meta.Severity = "high"
	}
	st, err := dataset.Split(ex, dataset.SplitOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return ex, st
}

func TestWrite(t *testing.T) {
	t.Parallel()
	ex, st := splitSynthetic(t, 40)
	dir := filepath.Join(t.TempDir(), "ds")
	stats, err := dataset.Write(dir, ex, dataset.WriteOptions{Split: st, Provenance: map[string][]string{"trivy": {"0.50.0"}}, Redactions: map[string]int{"github-pat": 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"train.jsonl", "valid.jsonl", "examples.meta.jsonl", "stats.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "test.jsonl")); err == nil {
		t.Error("test.jsonl written without a test fraction")
	}
	card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"license: apache-2.0", "size_categories:\n- n<1K", "split: validation", "| trivy | 0.50.0 |", "| github-pat | 2 |"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q", want)
		}
	}
	train, _ := os.ReadFile(filepath.Join(dir, "train.jsonl"))
	if got := strings.Count(string(train), "\n"); got != stats.Splits[dataset.Train] {
		t.Errorf("train.jsonl has %d lines, stats say %d", got, stats.Splits[dataset.Train])
	}
	if strings.Contains(string(train), "finding_id") {
		t.Error("metadata leaked into the split file: trainers would read it as a column")
	}
	info, _ := os.Stat(dir)
	if info.Mode().Perm() != 0o755 {
		t.Errorf("dataset dir mode %v", info.Mode().Perm())
	}
}

func TestWriteRefusesAndKeepsPrevious(t *testing.T) {
	t.Parallel()
	ex, st := splitSynthetic(t, 20)
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := dataset.Write(dir, ex, dataset.WriteOptions{Split: st}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "train.jsonl"))
	tests := []struct {
		name   string
		mutate func([]dataset.Example)
		opts   dataset.WriteOptions
		want   string
	}{
		{"canary", func(ex []dataset.Example) { ex[3].Messages[2].Content += " Key: CanaryXYZ123." }, dataset.WriteOptions{Canaries: []string{"CanaryXYZ123"}}, "canary"},
		{"detector", func(ex []dataset.Example) {
			ex[4].Messages[1].Content += " token ghp_Canary0123456789abcdefghijABCDEFGHIJ"
		}, dataset.WriteOptions{}, "looks like a secret"},
		{"laptop path", func(ex []dataset.Example) {
			ex[6].Messages[1].Content += " in file:///Users/alicew/git/shop/src/a.js"
		}, dataset.WriteOptions{}, ".jsonl:"},
		{"windows home", func(ex []dataset.Example) { ex[6].Messages[1].Content += ` see C:\Users\carol\shop` }, dataset.WriteOptions{}, "home directory path"},
		{"todo", func(ex []dataset.Example) { ex[5].Messages[2].Content += " // TODO: Implement validation here." }, dataset.WriteOptions{}, "placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := append([]dataset.Example(nil), ex...)
			for i := range bad {
				bad[i].Messages = append([]chat.Message(nil), ex[i].Messages...)
			}
			tt.mutate(bad)
			tt.opts.Split = st
			_, err := dataset.Write(dir, bad, tt.opts)
			var ce *dataset.CheckError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a check error about %q", err, tt.want)
			}
			after, _ := os.ReadFile(filepath.Join(dir, "train.jsonl"))
			if string(after) != string(before) {
				t.Error("a refused dataset replaced the previous one")
			}
			ents, _ := os.ReadDir(filepath.Dir(dir))
			if len(ents) != 1 {
				t.Errorf("staging left behind: %v", ents)
			}
		})
	}
}
