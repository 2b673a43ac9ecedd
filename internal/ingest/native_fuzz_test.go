package ingest_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/vulntune/vulntune/internal/ingest"
)

// nativeFuzz seeds a fuzz target with testdata/<dir>/ and the producer cases
// of native_producers_test.go for the format (large samples cut to
// their first 16 KiB, which keeps the fuzzer fast and still exercises the
// truncated-input path) and checks that Parse and Sniff never panic and that
// Parse returns an error or findings with the required fields.
func nativeFuzz(f *testing.F, dir string) {
	format := nativeFormats[dir]
	for _, p := range nativeCases(f, dir) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 16<<10)])
	}
	for _, c := range nativeProducerCases {
		if c.dir == dir {
			f.Add([]byte(c.doc))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		format.Sniff(data[:min(len(data), ingest.SniffSize)])
		in := ingest.Input{Name: "fuzz.json", Size: int64(len(data))}
		got, err := format.Parse(context.Background(), in, bytes.NewReader(data))
		if err == nil && got == nil && len(bytes.TrimSpace(data)) == 0 {
			t.Fatal("empty input gave no error")
		}
		for _, f := range got {
			nativeCheckRequired(t, format.Name(), f)
		}
	})
}

func FuzzParseOSV(f *testing.F)      { nativeFuzz(f, "osv") }
func FuzzParseZAP(f *testing.F)      { nativeFuzz(f, "zap") }
func FuzzParseSemgrep(f *testing.F)  { nativeFuzz(f, "semgrep") }
func FuzzParseTrivy(f *testing.F)    { nativeFuzz(f, "trivy") }
func FuzzParseGitleaks(f *testing.F) { nativeFuzz(f, "gitleaks") }
func FuzzParseGrype(f *testing.F)    { nativeFuzz(f, "grype") }
func FuzzParseCheckov(f *testing.F)  { nativeFuzz(f, "checkov") }
func FuzzParseKICS(f *testing.F)     { nativeFuzz(f, "kics") }
