package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// evaluate's inputs are checked before any model or engine is touched:
// one source of examples, and a set name that stays inside eval/.
func TestEvaluateArgs(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"no examples", []string{"evaluate", "m"}, "give exactly one of --dataset"},
		{"dataset and artifacts", []string{"evaluate", "m", "--dataset", "d", "--artifacts-dir", "examples/corpus"}, "give exactly one of --dataset"},
		{"set outside eval", []string{"evaluate", "m", "--dataset", "d", "--set", "../x"}, `evaluation set name "../x"`},
		{"upper-case set", []string{"evaluate", "m", "--artifacts-dir", "a", "--set", "Other"}, `evaluation set name "Other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolate(t, "")
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want %d (usage)\nstderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, stderr.String())
			}
		})
	}
}
