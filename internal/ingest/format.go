// Package ingest reads scanner output (SARIF from any producer, through
// package sarif, and the native JSON of OSV-Scanner, ZAP, Semgrep, Trivy,
// Gitleaks, Grype, Checkov and KICS) from files, directories and zip
// archives, recognises each format by its content, and turns it into
// normalised, fingerprinted, redacted and merged findings.
package ingest

import (
	"context"
	"io"
	"sort"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/report"
)

// Input is one scanner file as a parser sees it (see package report).
type Input = report.Input

// Format is one input format. Each lives in its own file (zap.go, ...) or
// package (sarif) and registers itself in formats below.
type Format interface {
	// Name is the short format name shown in summaries ("sarif", "zap").
	Name() string
	// Sniff reports whether head (the first bytes of a file, UTF-8 BOM and
	// leading whitespace removed, at most SniffSize bytes) is this format.
	// It must not rely on the file name.
	Sniff(head []byte) bool
	// Parse reads one whole file. It returns the findings it could read and
	// an error (an *InputError where a position is known) for what it could
	// not; a partial result with an error is allowed. Parsers set every
	// field they know except ID, Sources and Occurrences, which ingest fills.
	// Raw secret values a secret scanner reports go into Finding.Secrets so
	// the redactor can mask them everywhere; they must not be copied into
	// other fields unmasked by the parser on purpose.
	Parse(ctx context.Context, in Input, r io.Reader) ([]finding.Finding, error)
}

// SniffSize is how many leading bytes Sniff sees.
const SniffSize = 64 << 10

// formats is the registry, in sniffing order: specific formats before
// generic ones.
var formats []Format

// register adds a format; called from each format file's init.
func register(f Format) { formats = append(formats, f) }

// FormatNames lists the registered format names, sorted.
func FormatNames() []string {
	names := make([]string, 0, len(formats))
	for _, f := range formats {
		names = append(names, f.Name())
	}
	sort.Strings(names)
	return names
}

// Detect returns the format whose Sniff accepts head, or nil.
func Detect(head []byte) Format {
	for _, f := range formats {
		if f.Sniff(head) {
			return f
		}
	}
	return nil
}

// InputError is a problem with one input file: it names the file, the
// place (a byte offset, a JSON path, or both) and what was expected there
// (see package report).
type InputError = report.Error
