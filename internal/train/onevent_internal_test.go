package train

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/engine"
)

// TestTruncationIsWarned: the engine's tokenize metric reaches the log as
// a warning when rows are longer than the max sequence length (a cut row
// trains on an answer without its end), and stays quiet when none is.
func TestTruncationIsWarned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, raw string
		want      string // "" = no warning
	}{
		{"cut rows", `{"event":"metric","kind":"dataset","split":"train","examples":86,"truncated":36,"longest_full_length":1455}`,
			"36 of 86 train examples are longer than the max sequence length 768 and are cut; 1455 tokens would hold them all"},
		{"none cut", `{"event":"metric","kind":"dataset","split":"valid","examples":25,"truncated":0,"longest_full_length":700}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			o := &Options{MaxSeqLength: 768, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))}
			onEvent(o, &Metrics{}, t.TempDir()+"/metrics.jsonl", engine.Event{Event: "metric", Raw: []byte(tt.raw)})
			got := buf.String()
			if tt.want == "" && got != "" {
				t.Errorf("warned %q", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("log %q lacks %q", got, tt.want)
			}
		})
	}
}
