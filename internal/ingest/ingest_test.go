package ingest_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest"
)

const samples = "../../examples/artifacts"

func runIngest(t *testing.T, paths ...string) *ingest.Result {
	t.Helper()
	res, err := ingest.Run(context.Background(), paths, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func toolNames(f finding.Finding) map[string]bool {
	m := map[string]bool{}
	for _, t := range f.Tools {
		m[t.Name] = true
	}
	return m
}

// TestSamples checks the merge promises the issue makes about the bundled
// artifacts, against the real files.
func TestSamples(t *testing.T) {
	res := runIngest(t, samples)
	if len(res.Errors) > 0 {
		t.Fatalf("errors on the bundled samples: %v", res.Errors)
	}
	formats := map[string]int{}
	for _, f := range res.Files {
		formats[f.Format]++
	}
	if formats["sarif"] != 6 || formats["zap"] != 2 || formats["osv-scanner"] != 1 || formats["semgrep"] != 1 {
		t.Errorf("formats read = %v (want 6 sarif, 2 zap, 1 osv-scanner, 1 semgrep)", formats)
	}
	if res.Merge.Merged == 0 {
		t.Error("no duplicates merged: the three Trivy SARIF files overlap")
	}
	var semgrepBoth, trivyOSV, trivyMulti int
	for _, f := range res.Findings {
		names := toolNames(f)
		if names["semgrep"] && len(f.Sources) >= 2 {
			semgrepBoth++
		}
		if names["trivy"] && names["osv-scanner"] {
			trivyOSV++
		}
		if names["trivy"] && len(f.Sources) > 1 {
			trivyMulti++
		}
		if f.ID == "" || !f.Kind.Valid() || f.Severity.Rank() < 0 {
			t.Errorf("finding with missing required fields: %+v", f)
		}
	}
	if semgrepBoth == 0 {
		t.Error("Semgrep JSON and Semgrep SARIF of the same scan did not merge")
	}
	if trivyMulti == 0 {
		t.Error("no Trivy finding was merged across the overlapping SARIF files")
	}
	t.Logf("%d reports -> %d findings; semgrep json+sarif merged %d; trivy multi-file %d; trivy+osv %d",
		res.Merge.Input, len(res.Findings), semgrepBoth, trivyMulti, trivyOSV)
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	sarif, err := os.ReadFile(filepath.Join(samples, "checkov/checkov-results.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string // substring of the error; "" means no error
	}{
		{"empty", nil, "empty file"},
		{"whitespace", []byte("  \n\t"), "empty file"},
		{"binary garbage", []byte{0x00, 0x01, 0xff, 0xfe, 0x80, 0x81, 0x02, 0x03}, "binary data"},
		{"utf16", append([]byte{0xff, 0xfe}, []byte("{\x00}\x00")...), "UTF-16"},
		{"not json", []byte("hello world"), "not JSON"},
		{"unknown json", []byte(`{"hello": "world"}`), "no known report format"},
		{"truncated sarif", sarif[:len(sarif)/2], "byte"},
		{"bom sarif", append([]byte("\xEF\xBB\xBF"), sarif...), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			good := writeFile(t, dir, "good.sarif", sarif)
			bad := writeFile(t, dir, "input.json", tt.data)
			res := runIngest(t, bad, good)
			var got string
			for _, e := range res.Errors {
				got += e.Error() + "\n"
			}
			if tt.wantErr == "" {
				if got != "" {
					t.Fatalf("unexpected errors: %s", got)
				}
				return
			}
			if !strings.Contains(got, tt.wantErr) || !strings.Contains(got, filepath.Base(bad)) {
				t.Errorf("errors = %q, want one naming %s and containing %q", got, bad, tt.wantErr)
			}
			goodRead := false
			for _, f := range res.Files {
				if f.Path == filepath.Base(good) && f.Findings > 0 && f.Error == "" {
					goodRead = true
				}
			}
			if !goodRead {
				t.Errorf("the good file was not processed: %+v", res.Files)
			}
		})
	}
}

func TestDirectoryWalkSkipsNonReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "README.md", []byte("# notes"))
	writeFile(t, dir, ".git/config", []byte("[remote]\n url = https://x-access-token:ghs_abc@github.com/o/r"))
	sarif, _ := os.ReadFile(filepath.Join(samples, "checkov/checkov-results.sarif"))
	writeFile(t, dir, "nested/deep/report.txt", sarif) // any name: content decides
	res := runIngest(t, dir)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v", res.Errors)
	}
	if len(res.Files) != 1 || res.Files[0].Format != "sarif" {
		t.Errorf("files = %+v", res.Files)
	}
	if len(res.Skipped) != 1 || !strings.HasSuffix(res.Skipped[0], "README.md") {
		t.Errorf("skipped = %v (hidden dirs must not even be listed)", res.Skipped)
	}
}

type zipEntry struct {
	name    string
	data    []byte
	symlink bool
}

func buildZip(t *testing.T, entries []zipEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.symlink {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestZip(t *testing.T) {
	t.Parallel()
	sarif, _ := os.ReadFile(filepath.Join(samples, "checkov/checkov-results.sarif"))
	tests := []struct {
		name      string
		entries   []zipEntry
		limits    ingest.ZipLimits
		wantFiles int
		wantErr   string
	}{
		{"github artifact", []zipEntry{{name: "checkov/results.sarif", data: sarif}, {name: "log.txt", data: []byte("hi")}}, ingest.ZipLimits{}, 1, ""},
		{"zip slip", []zipEntry{{name: "../../etc/evil.sarif", data: sarif}, {name: "ok.sarif", data: sarif}}, ingest.ZipLimits{}, 1, `".." rejected`},
		{"absolute", []zipEntry{{name: "/etc/x.sarif", data: sarif}}, ingest.ZipLimits{}, 0, "absolute path"},
		{"symlink", []zipEntry{{name: "link.sarif", data: []byte("/etc/passwd"), symlink: true}}, ingest.ZipLimits{}, 0, "symbolic link"},
		{"bomb ratio", []zipEntry{{name: "big.json", data: bytes.Repeat([]byte(" "), 1<<20)}}, ingest.ZipLimits{MaxRatio: 50}, 0, "zip bomb"},
		{"total cap", []zipEntry{{name: "a.sarif", data: sarif}}, ingest.ZipLimits{MaxTotal: 100}, 0, "limit"},
		{"too many entries", []zipEntry{{name: "a", data: nil}, {name: "b", data: nil}}, ingest.ZipLimits{MaxEntries: 1}, 0, "more than the limit"},
		{"no reports", []zipEntry{{name: "a.txt", data: []byte("x")}}, ingest.ZipLimits{}, 0, "no recognised scanner report"},
		{"hidden directory unread", []zipEntry{{name: ".git/config", data: sarif}, {name: "./out/ok.sarif", data: sarif}}, ingest.ZipLimits{}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			p := writeFile(t, dir, "artifact", buildZip(t, tt.entries)) // no .zip suffix: content decides
			res, err := ingest.Run(context.Background(), []string{p}, ingest.Options{Zip: tt.limits})
			if err != nil {
				t.Fatal(err)
			}
			read := 0
			for _, f := range res.Files {
				if f.Format != "" {
					read++
				}
			}
			if read != tt.wantFiles {
				t.Errorf("read %d reports, want %d: %+v", read, tt.wantFiles, res.Files)
			}
			var got string
			for _, e := range res.Errors {
				got += e.Error()
			}
			if (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("errors = %q, want containing %q", got, tt.wantErr)
			}
		})
	}
}

func TestArchivesInMemory(t *testing.T) {
	t.Parallel()
	sarif, _ := os.ReadFile(filepath.Join(samples, "checkov/checkov-results.sarif"))
	src := finding.Source{RunID: "42", Commit: "abc123", Branch: "main"}
	tests := []struct {
		name       string
		data       []byte
		limits     ingest.ZipLimits
		wantFiles  int
		wantUnsafe bool
		wantErr    string
	}{
		{"artifact", buildZip(t, []zipEntry{{name: "checkov/results.sarif", data: sarif}, {name: ".git/config", data: []byte("token")}}), ingest.ZipLimits{}, 1, false, ""},
		{"zip slip", buildZip(t, []zipEntry{{name: "../evil.sarif", data: sarif}}), ingest.ZipLimits{}, 0, true, `".." rejected`},
		{"symlink", buildZip(t, []zipEntry{{name: "l.sarif", data: []byte("/etc/passwd"), symlink: true}}), ingest.ZipLimits{}, 0, true, "symbolic link"},
		{"bomb", buildZip(t, []zipEntry{{name: "big.json", data: bytes.Repeat([]byte(" "), 1<<20)}}), ingest.ZipLimits{MaxRatio: 50}, 0, true, "zip bomb"},
		{"oversized", buildZip(t, []zipEntry{{name: "a.sarif", data: sarif}}), ingest.ZipLimits{MaxArchive: 64}, 0, true, "larger than"},
		{"not a zip", []byte(`{"version":"2.1.0"}`), ingest.ZipLimits{}, 0, false, "not a zip archive"},
		{"no reports", buildZip(t, []zipEntry{{name: "notes.txt", data: []byte("x")}}), ingest.ZipLimits{}, 0, false, "no recognised scanner report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := ingest.Run(context.Background(), nil, ingest.Options{Zip: tt.limits,
				Archives: []ingest.Archive{{Name: "run-42/sarif.zip", Data: tt.data, Source: src}}})
			if err != nil {
				t.Fatal(err)
			}
			read := 0
			for _, f := range res.Files {
				if f.Format != "" {
					read++
				}
			}
			if read != tt.wantFiles {
				t.Errorf("read %d reports, want %d: %+v", read, tt.wantFiles, res.Files)
			}
			var msgs string
			unsafe := false
			for _, e := range res.Errors {
				msgs += e.Error()
				unsafe = unsafe || errors.Is(e, ingest.ErrUnsafeArchive)
			}
			if unsafe != tt.wantUnsafe || !strings.Contains(msgs, tt.wantErr) || (tt.wantErr == "") != (msgs == "") {
				t.Errorf("errors %q (unsafe %v), want %q (unsafe %v)", msgs, unsafe, tt.wantErr, tt.wantUnsafe)
			}
			for _, f := range res.Findings {
				s := f.Sources[0]
				if s.RunID != "42" || s.Commit != "abc123" || s.Branch != "main" || s.Artifact != "run-42/sarif.zip" || !strings.HasPrefix(s.ToolFile, "run-42/sarif.zip!") {
					t.Fatalf("source not recorded: %+v", s)
				}
			}
			if tt.wantFiles > 0 && len(res.Findings) == 0 {
				t.Error("no findings read")
			}
		})
	}
}

func TestMissingPath(t *testing.T) {
	t.Parallel()
	res := runIngest(t, filepath.Join(t.TempDir(), "nope.sarif"))
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "nope.sarif") {
		t.Errorf("errors = %v", res.Errors)
	}
}

// TestDeterministic: files are parsed concurrently, yet the merged output
// must be byte-identical on every run (the dataset split depends on it).
func TestDeterministic(t *testing.T) {
	var first []byte
	for i := 0; i < 4; i++ {
		out := filepath.Join(t.TempDir(), "f.jsonl")
		if _, err := ingest.Run(context.Background(), []string{samples}, ingest.Options{Output: out, Workers: 4}); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("run %d wrote different findings than run 0", i)
		}
	}
}

// TestNoAbsolutePathsInResult gives ingest an absolute input (as a user
// under their home directory would) holding a report, a file it skips, a
// broken link and a bad report: nothing in the result names the absolute
// directory.
func TestNoAbsolutePathsInResult(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "home", "alice", "reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sarif, err := os.ReadFile(filepath.Join(samples, "checkov/checkov-results.sarif"))
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ok.sarif": sarif, "bad.sarif": sarif[:len(sarif)/2], "broken.zip": []byte("PK\x03\x04garbage"), "notes.txt": []byte("hello")} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "gone.sarif"), filepath.Join(dir, "link.sarif")); err != nil {
		t.Fatal(err)
	}
	res, err := ingest.Run(context.Background(), []string{dir}, ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) == 0 || len(res.Skipped) == 0 {
		t.Fatalf("want errors and skipped files: %+v %v", res.Errors, res.Skipped)
	}
	var texts []string
	for _, e := range res.Errors {
		texts = append(texts, e.Error())
	}
	texts = append(texts, res.Skipped...)
	for _, f := range res.Files {
		texts = append(texts, f.Path, f.Error)
	}
	for _, s := range texts {
		if strings.Contains(s, dir) || strings.Contains(s, "alice/reports") && strings.HasPrefix(s, "/") {
			t.Errorf("result names the absolute input: %q", s)
		}
	}
}

// TestWarningsAreNoErrors: a problem a parser worked around (the corpus's
// SARIF result at "not a valid URI", kept without a file) is a warning in
// the result, the file's row and the summary, never an input error, so the
// exit code of parse, dataset and evaluate stays 0.
func TestWarningsAreNoErrors(t *testing.T) {
	t.Parallel()
	res := runIngest(t, "../../examples/corpus/codeql/codeql-action-lgtm-invalid-uri.sarif")
	if len(res.Errors) != 0 {
		t.Fatalf("errors %v, want none", res.Errors)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Error(), `"not a valid URI" is neither a URI reference nor a file path`) {
		t.Fatalf("warnings %v, want the one about the location", res.Warnings)
	}
	if len(res.Files) != 1 || res.Files[0].Error != "" || len(res.Files[0].Warnings) != 1 || res.Files[0].Findings != 1 {
		t.Errorf("file row %+v, want one finding, one warning, no error", res.Files)
	}
	if len(res.Findings) != 1 || res.Findings[0].Location.Path != "" || res.Findings[0].Kind != finding.KindCode {
		t.Errorf("findings %+v, want one code finding without a file", res.Findings)
	}
	var b strings.Builder
	s := ingest.Summarize(res)
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1 findings (warnings)", "1 warnings, 0 errors", "  warning: "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if len(s.Errors) != 0 || len(s.Warnings) != 1 {
		t.Errorf("summary errors %v, warnings %v", s.Errors, s.Warnings)
	}
}
