package ingest_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/ingest"
)

// corpus holds real reports from other projects (examples/corpus/README.md);
// SOURCES.tsv records where each came from.
const corpus = "../../examples/corpus"

// corpusRow is what the test needs from a SOURCES.tsv row.
type corpusRow struct {
	format string
	// unrecognised is set when the row's notes record that ingest does not
	// recognise the file yet (a real shape the product claims to read), so
	// the gap stays visible in SOURCES.tsv and this test fails once it closes.
	unrecognised bool
}

// knownGap is the phrase a SOURCES.tsv note uses for a real report ingest
// cannot recognise yet.
const knownGap = "not recognised by ingest as of"

// corpusSources reads SOURCES.tsv into file -> row.
func corpusSources(t *testing.T) map[string]corpusRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpus, "SOURCES.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("SOURCES.tsv: %v", err)
	}
	if len(rows) < 2 || rows[0][0] != "file" || rows[0][7] != "format" {
		t.Fatalf("SOURCES.tsv: header %q, want file ... format ...", rows[0])
	}
	out := map[string]corpusRow{}
	for i, row := range rows[1:] {
		if _, dup := out[row[0]]; dup {
			t.Errorf("SOURCES.tsv line %d: %s listed twice", i+2, row[0])
		}
		out[row[0]] = corpusRow{format: row[7], unrecognised: strings.Contains(row[9], knownGap)}
	}
	return out
}

// TestCorpusRecognised holds every report in the corpus to being sniffed as
// the format its provenance row names, so a real report the ingest cannot
// even recognise (or mistakes for another tool's) shows up here rather than
// as a quietly skipped file, and holds SOURCES.tsv to listing every file.
func TestCorpusRecognised(t *testing.T) {
	sources := corpusSources(t)
	seen := map[string]bool{}
	err := filepath.WalkDir(corpus, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(corpus, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !strings.Contains(rel, "/") {
			return nil // README.md and SOURCES.tsv describe the corpus
		}
		seen[rel] = true
		want, listed := sources[rel]
		if !listed {
			t.Errorf("%s: no row in SOURCES.tsv", rel)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		head := make([]byte, ingest.SniffSize)
		n, err := io.ReadFull(f, head)
		if err != nil && err != io.ErrUnexpectedEOF {
			return err
		}
		head = bytes.TrimSpace(bytes.TrimPrefix(head[:n], []byte("\xEF\xBB\xBF")))
		got := ingest.Detect(head)
		switch {
		case listed && want.unrecognised && got != nil:
			t.Errorf("%s: now recognised as %s; drop %q from its SOURCES.tsv note", rel, got.Name(), knownGap)
		case listed && want.unrecognised:
		case got == nil:
			t.Errorf("%s: not recognised as any report format", rel)
		case listed && got.Name() != strings.TrimSuffix(want.format, "-json"):
			t.Errorf("%s: recognised as %s, SOURCES.tsv says %s", rel, got.Name(), want.format)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file := range sources {
		if !seen[file] {
			t.Errorf("SOURCES.tsv lists %s, which is not in the corpus", file)
		}
	}
	if len(seen) == 0 {
		t.Fatal("no reports found under " + corpus)
	}
}
