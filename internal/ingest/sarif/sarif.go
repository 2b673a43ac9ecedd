// Package sarif reads SARIF 2.1.0 logs, streamed, into findings, with what
// vulntune knows of each producer's habits (tools.go; Trivy's in trivy.go).
// Package ingest registers Format among its formats; this package imports
// only ingest/report from ingest, never ingest itself.
package sarif

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/report"
)

// Format reads SARIF 2.1.0 logs from any producer (Trivy, CodeQL, Semgrep,
// Checkov, Gitleaks, Grype, Snyk, KICS, gosec, ESLint, MegaLinter
// aggregates...). Facts producers hide in odd places are read by the
// per-tool profiles in tools.go.
//
// Results are decoded one at a time from a token stream, so memory grows
// with the findings kept, not with the file. A run's results are read after
// the rest of the run (tool, artifacts, taxonomies, originalUriBaseIds,
// properties) because producers write those in any order — Semgrep writes
// results before tool. The first pass skips the results array (tokenizing
// only) and a second decoder re-reads its byte range through io.ReaderAt,
// so the reader should be an io.ReaderAt and io.Seeker (*os.File,
// *bytes.Reader: what ingest passes); any other reader is read into memory
// first.
type Format struct{}

// Name implements ingest.Format.
func (Format) Name() string { return "sarif" }

// version is the one SARIF version read; "2.1.0-rtm.N" drafts share its
// schema closely enough to be read too.
const version = "2.1.0"

// maxErrors caps the errors kept per file; the rest are counted.
const maxErrors = 50

// Sniff reports whether head is a SARIF log: a top-level object with a
// "runs" array and a "version" string or a $schema naming SARIF. Any version
// is accepted here so that Parse can say which versions are supported.
func (Format) Sniff(head []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(head), decoderOptions...)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	var runs, version, schema, runMember bool
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			break
		}
		switch name.String() {
		case "runs":
			if dec.PeekKind() != '[' {
				return false
			}
			runs = true
			runMember = sniffRun(dec)
		case "version":
			tok, err := dec.ReadToken()
			version = err == nil && tok.Kind() == '"'
		case "$schema":
			tok, err := dec.ReadToken()
			schema = err == nil && strings.Contains(strings.ToLower(tok.String()), "sarif")
		default:
			if dec.SkipValue() != nil {
				return false
			}
			continue
		}
		if runs && (version || schema || runMember) {
			return true
		}
		if runs {
			// The runs array ran past the head or its first run was
			// skipped; what follows it cannot be reached in a head.
			break
		}
	}
	return runs && (version || schema || runMember)
}

// sniffRun consumes the start of runs[0] and reports whether it has a
// "tool" or "results" member; it may stop anywhere.
func sniffRun(dec *jsontext.Decoder) bool {
	if _, err := dec.ReadToken(); err != nil || dec.PeekKind() != '{' {
		return false
	}
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	for dec.PeekKind() == '"' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if n := name.String(); n == "tool" || n == "results" {
			return true
		}
		if dec.SkipValue() != nil {
			return false
		}
	}
	return false
}

// Parse implements ingest.Format. It returns every finding it could read; bad
// results are skipped with an *report.Error each (joined), and a syntax error
// ends the file with the findings read before it. An unsupported version
// returns no findings.
func (s Format) Parse(ctx context.Context, in report.Input, r io.Reader) ([]finding.Finding, error) {
	var out []finding.Finding
	err := s.Each(ctx, in, r, func(f finding.Finding) error {
		out = append(out, f)
		return nil
	})
	if errors.Is(err, ErrVersion) {
		return nil, err
	}
	return out, err
}

// Each parses like Parse but hands each finding to yield as soon as its
// result is decoded instead of collecting them, so memory stays flat
// however large the file (bench/sarif-rss.sh measures both). An error from
// yield stops parsing and is returned as is. Producers that write
// "version" after "runs" (Semgrep) are only known to be unsupported at the
// end: the error then wraps ErrVersion and the findings already
// yielded must be discarded.
func (Format) Each(ctx context.Context, in report.Input, r io.Reader, yield func(finding.Finding) error) error {
	p := &parser{ctx: ctx, file: in.Name, yield: yield}
	err := p.parse(r)
	if p.stopErr != nil {
		return p.stopErr
	}
	if p.dropped > 0 {
		p.errs = append(p.errs, &report.Error{File: p.file, Offset: -1,
			Msg: fmt.Sprintf("%d more errors like the ones above were not listed", p.dropped)})
	}
	if err != nil {
		p.errs = append(p.errs, err)
	}
	return errors.Join(p.errs...)
}

// ErrVersion is wrapped by the error for an unsupported version; ingest
// drops the findings of a file whose error wraps it.
var ErrVersion = errors.New("unsupported SARIF version")

// errStop unwinds the walk when yield fails.
var errStop = errors.New("stopped by the caller")

// decoderOptions: duplicate names are allowed because checking them
// costs time and because the decoder can only resume after a bad result
// when it does not track object names; invalid UTF-8 becomes U+FFFD rather
// than failing a whole report over one mis-encoded snippet.
var decoderOptions = []jsontext.Options{
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
}

// jsonOptions are the same options for json.Unmarshal of raw values.
var jsonOptions = []json.Options{
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
}

// parser walks one file.
type parser struct {
	ctx     context.Context
	file    string
	ra      io.ReaderAt // re-reads a results array
	base    int64       // file offset of the main decoder's offset 0
	version string
	schema  string
	yield   func(finding.Finding) error
	stopErr error // what yield returned
	errs    []error
	dropped int
}

// emit hands one finding to yield; after yield fails, results stop.
func (p *parser) emit(f finding.Finding) {
	if p.stopErr == nil {
		p.stopErr = p.yield(f)
	}
}

func (p *parser) parse(r io.Reader) error {
	if ra, ok := r.(io.ReaderAt); ok {
		if s, ok := r.(io.Seeker); ok {
			if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
				p.ra, p.base = ra, pos
			}
		}
	}
	if p.ra == nil {
		// Results are re-read by offset, so a reader that cannot seek is
		// read into memory first; ingest always passes *os.File or
		// *bytes.Reader, which stream.
		data, err := io.ReadAll(r)
		if err != nil {
			return &report.Error{File: p.file, Offset: int64(len(data)), Msg: "cannot read", Err: err}
		}
		br := bytes.NewReader(data)
		r, p.ra = br, br
	}
	var bom [3]byte
	n, err := io.ReadFull(r, bom[:])
	switch {
	case n == 3 && bom == [3]byte{0xEF, 0xBB, 0xBF}:
		p.base += 3
	case err != nil && n == 0:
		if errors.Is(err, io.EOF) {
			return &report.Error{File: p.file, Offset: 0, Msg: "empty file: expected a SARIF log object"}
		}
		return &report.Error{File: p.file, Offset: 0, Msg: "cannot read", Err: err}
	default:
		r = io.MultiReader(bytes.NewReader(bom[:n]), r)
	}
	w := &walker{p: p, dec: jsontext.NewDecoder(r, decoderOptions...), base: p.base, root: "$"}
	if err := w.log(); err != nil {
		return err
	}
	return p.checkVersion()
}

var schemaVersion = regexp.MustCompile(`(\d+\.\d+\.\d+)`)

// checkVersion rejects versions other than 2.1.0. A log without "version"
// is read as 2.1.0 unless its $schema names another version: every current
// producer writes 2.1.0, and the few that omit the member mean it.
func (p *parser) checkVersion() error {
	v := p.version
	if v == "" {
		if m := schemaVersion.FindString(p.schema); m != "" {
			v = m
		} else {
			return nil
		}
	}
	if v == version || strings.HasPrefix(v, version+"-") {
		return nil
	}
	return &report.Error{File: p.file, Offset: -1, JSONPath: "$.version", Err: ErrVersion,
		Msg: fmt.Sprintf("unsupported SARIF version %q: supported versions are %s (re-export the report as SARIF %s)", v, version, version)}
}

// addErr records one non-fatal problem, up to maxErrors.
func (p *parser) addErr(err error) {
	if len(p.errs) >= maxErrors {
		p.dropped++
		return
	}
	p.errs = append(p.errs, err)
}
