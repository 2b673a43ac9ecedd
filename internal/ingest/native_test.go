package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/golden"
	"github.com/vulntune/vulntune/internal/ingest"
)

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }

// nativeFormats maps each testdata directory to the format that must read
// every file in it.
var nativeFormats = map[string]ingest.Format{
	"osv":      ingest.OSVScanner{},
	"zap":      ingest.ZAP{},
	"semgrep":  ingest.Semgrep{},
	"trivy":    ingest.Trivy{},
	"gitleaks": ingest.Gitleaks{},
	"grype":    ingest.Grype{},
	"checkov":  ingest.Checkov{},
	"kics":     ingest.KICS{},
}

// nativeGolden is what a golden file holds: the findings as parsed (with the
// fields that never serialise shown too, since tests must see them) and the
// error text.
type nativeGolden struct {
	Findings []nativeGoldenFinding `json:"findings"`
	Error    []string              `json:"errors"`
}

type nativeGoldenFinding struct {
	finding.Finding
	PartialFingerprint string   `json:"partial_fingerprint,omitempty"`
	Secrets            []string `json:"secrets,omitempty"`
}

// nativeCases lists testdata/<dir>/*.json except golden files.
func nativeCases(t testing.TB, dir string) []string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		if !strings.HasSuffix(p, ".golden.json") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no cases in testdata/%s", dir)
	}
	return out
}

func nativeParse(t testing.TB, f ingest.Format, path string) ([]finding.Finding, error) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in := ingest.Input{Name: filepath.ToSlash(path), Size: int64(len(data))}
	return f.Parse(context.Background(), in, bytes.NewReader(data))
}

func TestNativeGolden(t *testing.T) {
	t.Parallel()
	for dir, format := range nativeFormats {
		for _, path := range nativeCases(t, dir) {
			t.Run(filepath.ToSlash(path), func(t *testing.T) {
				t.Parallel()
				got, err := nativeParse(t, format, path)
				g := nativeGolden{Findings: []nativeGoldenFinding{}, Error: []string{}}
				for _, f := range got {
					nativeCheckRequired(t, format.Name(), f)
					g.Findings = append(g.Findings, nativeGoldenFinding{Finding: f, PartialFingerprint: f.PartialFingerprint, Secrets: f.Secrets})
				}
				if err != nil {
					g.Error = strings.Split(err.Error(), "\n")
				}
				golden.AssertJSON(t, strings.TrimSuffix(path, ".json")+".golden.json", g)
			})
		}
	}
}

// nativeCheckRequired asserts what every parsed finding must have, whatever
// the input: fuzzing and golden cases both call it.
func nativeCheckRequired(t testing.TB, format string, f finding.Finding) {
	t.Helper()
	if len(f.Tools) != 1 || f.Tools[0].Name == "" {
		t.Errorf("%s: finding %q: want exactly one named tool, got %+v", format, f.Title, f.Tools)
	}
	if !f.Kind.Valid() {
		t.Errorf("%s: finding %q: kind %q not valid", format, f.Title, f.Kind)
	}
	if f.Severity.Rank() < 0 {
		t.Errorf("%s: finding %q: severity %q not one of the five", format, f.Title, f.Severity)
	}
	if f.ID != "" || len(f.Sources) != 0 {
		t.Errorf("%s: finding %q: ID and Sources are ingest's to set", format, f.Title)
	}
	if f.Kind == finding.KindDependency && (f.Package == nil || f.Package.Name == "" && len(f.VulnIDs) == 0) {
		t.Errorf("%s: dependency finding %q without package", format, f.Title)
	}
	for _, c := range f.CWE {
		if !strings.HasPrefix(c, "CWE-") {
			t.Errorf("%s: finding %q: CWE %q not normalised", format, f.Title, c)
		}
	}
}

// TestNativeSniffExclusive checks that every testdata file and every real
// sample (native and SARIF) is claimed by exactly the right format: one of
// the native formats for their testdata, none of them for SARIF, and that
// Detect, with every registered format, agrees.
func TestNativeSniffExclusive(t *testing.T) {
	t.Parallel()
	type sample struct{ path, want string }
	var samples []sample
	for dir, f := range nativeFormats {
		for _, p := range nativeCases(t, dir) {
			samples = append(samples, sample{p, f.Name()})
		}
	}
	sarif, _ := filepath.Glob("../../examples/artifacts/*/*.sarif")
	for _, p := range sarif {
		samples = append(samples, sample{p, "sarif"})
	}
	for _, s := range samples {
		data, err := os.ReadFile(s.path)
		if err != nil {
			t.Fatal(err)
		}
		head := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")), " \t\r\n")
		head = head[:min(len(head), ingest.SniffSize)]
		want := s.want
		if strings.HasSuffix(s.path, "gitleaks/empty.json") {
			want = "" // "[]" cannot be attributed to a tool
		}
		var claims []string
		for _, f := range nativeFormats {
			if f.Sniff(head) {
				claims = append(claims, f.Name())
			}
		}
		switch {
		case want == "sarif" || want == "":
			if len(claims) != 0 {
				t.Errorf("%s: claimed by %v, want none of the native formats", s.path, claims)
			}
		case len(claims) != 1 || claims[0] != want:
			t.Errorf("%s: claimed by %v, want only %s", s.path, claims, want)
		}
		got := ""
		if f := ingest.Detect(head); f != nil {
			got = f.Name()
		}
		if want != "sarif" && got != want {
			t.Errorf("%s: Detect = %q, want %q", s.path, got, want)
		}
		if want == "sarif" && got != "" && got != "sarif" {
			t.Errorf("%s: Detect = %q, want sarif", s.path, got)
		}
	}
}

func TestNativeBadInput(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	tests := []struct {
		name    string
		data    string
		wantErr string
	}{
		{"empty file", "", "empty file"},
		{"whitespace only", " \n\t ", "empty file"},
		{"bom only", "\xEF\xBB\xBF", "empty file"},
		{"truncated", `{"results": [{"source": {"path": "a"`, "truncated JSON"},
		{"binary garbage", "\x00\x01\x02\xff\xfe", "invalid JSON"},
		{"utf-16", "\xff\xfe{\x00}\x00", "UTF-16"},
		{"wrong top type", `"just a string"`, "want"},
		{"deep nesting", deep, "byte"},
		{"trailing garbage", `{} {}`, "invalid JSON"},
	}
	for _, tt := range tests {
		for dir, f := range nativeFormats {
			t.Run(tt.name+"/"+dir, func(t *testing.T) {
				t.Parallel()
				in := ingest.Input{Name: "in.json", Size: int64(len(tt.data))}
				got, err := f.Parse(context.Background(), in, strings.NewReader(tt.data))
				if err == nil {
					t.Fatalf("no error, %d findings; want error containing %q", len(got), tt.wantErr)
				}
				var ie *ingest.InputError
				if !errors.As(err, &ie) || ie.File != "in.json" {
					t.Errorf("error %v: want an *InputError naming in.json", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q: want it to contain %q", err, tt.wantErr)
				}
			})
		}
	}
}

func TestNativeSizeCap(t *testing.T) {
	t.Parallel()
	in := ingest.Input{Name: "big.json", Size: 300 << 20}
	_, err := ingest.Trivy{}.Parse(context.Background(), in, strings.NewReader("{}"))
	if err == nil || !strings.Contains(err.Error(), "314572800 bytes, over the 256 MiB limit") {
		t.Errorf("error %v: want the size and the cap named", err)
	}
}
