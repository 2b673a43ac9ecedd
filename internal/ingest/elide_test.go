package ingest_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/ingest"
)

// TestLongStringsElided checks that a message over 64 KiB reaches the
// finding as head, note and tail, and that the summary counts it.
func TestLongStringsElided(t *testing.T) {
	t.Parallel()
	long := "start " + strings.Repeat("a-b.c/", 50<<10) + " end"
	sarif := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"demo","rules":[{"id":"R1"}]}},"results":[` +
		`{"ruleId":"R1","level":"error","message":{"text":"` + long + `"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a.go"},"region":{"startLine":3}}}]},` +
		`{"ruleId":"R1","level":"error","message":{"text":"short"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"b.go"},"region":{"startLine":4}}}]}]}]}`
	dir := t.TempDir()
	writeFile(t, dir, "big.sarif", []byte(sarif))
	res := runIngest(t, dir)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if len(res.Files) != 1 || res.Files[0].Elided != 1 || res.Files[0].Findings != 2 {
		t.Fatalf("files = %+v", res.Files)
	}
	var msg string
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Message, "start ") {
			msg = f.Message
		}
	}
	want := long[:32<<10] + fmt.Sprintf("[… %d bytes elided …]", len(long)-64<<10) + long[len(long)-32<<10:]
	if msg != want {
		i := 0
		for i < min(len(msg), len(want)) && msg[i] == want[i] {
			i++
		}
		t.Errorf("message is %d bytes, want %d; differs at %d: %.60q", len(msg), len(want), i, msg[i:])
	}
	sum := ingest.Summarize(res)
	var text bytes.Buffer
	sum.WriteText(&text)
	if sum.Elided != 1 || !strings.Contains(text.String(), "1 strings over 64 KiB cut to head and tail") {
		t.Errorf("summary: elided %d, text %q", sum.Elided, text.String())
	}
}
