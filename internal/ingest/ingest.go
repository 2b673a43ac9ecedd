package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ingest/report"
	"github.com/vulntune/vulntune/internal/ingest/sarif"
	"github.com/vulntune/vulntune/internal/redact"
)

// Options tunes Run. The zero value is usable.
type Options struct {
	// Workers is how many files are parsed at once (default 2).
	Workers int
	// Zip limits archive reading; zero fields take the defaults.
	Zip ZipLimits
	// Output, when set, receives the merged findings as JSON lines,
	// written atomically, and Result.Findings stays nil: nothing but a small
	// index is held in memory, whatever the input size.
	Output string
	// TempDir holds this ingest's spill files, in a directory of its own
	// removed at the end (default os.TempDir(); vulntune's commands use
	// <data_dir>/tmp). Directories left by a killed ingest are removed at
	// the start of the next.
	TempDir string
	// Archives are zip archives already in memory, read after paths.
	Archives []Archive
}

// FileResult is what happened to one input file.
type FileResult struct {
	Path     string `json:"path"`
	Format   string `json:"format,omitempty"`
	Findings int    `json:"findings"`
	Bytes    int64  `json:"bytes"`
	// Elided counts JSON strings over 64 KiB cut to head and tail (see
	// capReader).
	Elided int    `json:"elided_fields,omitempty"`
	Error  string `json:"error,omitempty"`
	// Warnings are problems the parser worked around (report.Error's
	// Warning): the file's findings were kept.
	Warnings []string `json:"warnings,omitempty"`
}

// Result is the outcome of Run: merged findings plus a full account of what
// was read, skipped, merged, redacted and what failed.
type Result struct {
	// Findings are the merged findings, unless Options.Output was set.
	Findings []finding.Finding
	Files    []FileResult
	// Skipped lists files found while walking directories that are not a
	// recognised report (READMEs, logs); naming such a file explicitly is an
	// error instead.
	Skipped    []string
	Merge      finding.MergeStats
	Redactions redact.Stats
	// RootlessPaths counts paths in a home directory that no checkout
	// root was found for: written with the home and user segments dropped.
	RootlessPaths int
	// Counts describe the merged findings (also when they went to Output).
	Counts Counts
	// Errors holds every input problem, one per bad file or bad record; the
	// other inputs were still processed.
	Errors []error
	// Warnings holds the problems parsers worked around, keeping the
	// record (report.Error's Warning): not input problems.
	Warnings []error
}

// Run reads every path (file, directory walked recursively, or zip archive
// recognised by content), parses each recognised report, fingerprints,
// redacts and merges the findings. It returns an error only when nothing
// could be attempted (ctx cancelled, no temporary space, output not
// writable); per-input problems are in Result.Errors.
func Run(ctx context.Context, paths []string, opts Options) (*Result, error) {
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	res := &Result{Redactions: redact.Stats{}}
	work, done, err := workDir(opts.TempDir)
	if err != nil {
		return nil, err
	}
	defer done()
	var units []unit
	defer func() { removeTemps(units) }()
	zl := opts.Zip
	zl.tempDir = work
	for _, p := range paths {
		u, skipped, errs := expand(p, zl)
		for i := range u {
			u[i].name, u[i].archive = displayName(p, u[i].name), displayName(p, u[i].archive)
		}
		units = append(units, u...)
		for _, sk := range skipped {
			res.Skipped = append(res.Skipped, displayName(p, sk))
		}
		for _, err := range flattenAll(errs) {
			// Errors name files as the summary does: under the input as
			// given, never by an absolute path that holds a home directory.
			var ie *InputError
			if errors.As(err, &ie) {
				ie.File = displayName(p, ie.File)
			}
			res.Errors = append(res.Errors, err)
			res.Files = append(res.Files, FileResult{Path: errPath(err, p), Error: err.Error()})
		}
	}
	for _, a := range opts.Archives {
		u, skipped, err := expandArchive(a, zl)
		units = append(units, u...)
		res.Skipped = append(res.Skipped, skipped...)
		if err != nil {
			for _, err := range flatten(err) {
				res.Errors = append(res.Errors, err)
				res.Files = append(res.Files, FileResult{Path: errPath(err, a.Name), Error: err.Error()})
			}
		}
	}
	st, err := newStore(work)
	if err != nil {
		return nil, err
	}
	defer st.close()

	ev := newPathEvidence()
	results := make([]FileResult, len(units))
	fileErrs := make([][]error, len(units))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.Workers)
	for i := range units {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], fileErrs[i] = parseUnit(ctx, i, units[i], st, ev)
		}(i)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Paths are made repo-relative with the evidence of every report.
	ev.settle()
	if err := st.fixup(ev.fix); err != nil {
		return nil, err
	}
	res.RootlessPaths = ev.rootless

	r := redact.New(st.known)
	for i := range units {
		for _, err := range fileErrs[i] {
			// Parser errors may quote input; they pass the redactor too.
			msg, rs := r.String(err.Error())
			res.Redactions.Add(rs)
			if isWarning(err) {
				res.Warnings = append(res.Warnings, redactedError{msg: msg, err: err})
			} else {
				res.Errors = append(res.Errors, redactedError{msg: msg, err: err})
			}
		}
		if results[i].Error != "" {
			results[i].Error, _ = r.String(results[i].Error)
		}
		for k, w := range results[i].Warnings {
			results[i].Warnings[k], _ = r.String(w)
		}
		res.Files = append(res.Files, results[i])
	}
	res.Counts = newCounts()
	// merge hands every merged finding to out, counting it on the way.
	merge := func(out func(*finding.Finding) error) (err error) {
		res.Merge, err = st.each(func(f finding.Finding) error {
			res.Counts.add(&f)
			return out(&f)
		})
		return err
	}
	if opts.Output != "" {
		err = atomicfile.Write(opts.Output, 0o644, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			return merge(func(f *finding.Finding) error { return enc.Encode(f) })
		})
	} else {
		err = merge(func(f *finding.Finding) error {
			res.Findings = append(res.Findings, *f)
			return nil
		})
	}
	if err != nil {
		return nil, err
	}
	res.Redactions.Add(st.stats)
	sort.Slice(res.Files, func(a, b int) bool { return res.Files[a].Path < res.Files[b].Path })
	sort.Strings(res.Skipped)
	return res, nil
}

// redactedError keeps the original error for errors.Is/As while showing the
// redacted text.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

func errPath(err error, fallback string) string {
	var ie *InputError
	if errors.As(err, &ie) {
		return ie.File
	}
	return fallback
}

// Streamer is implemented by formats that can hand findings over one at a
// time (SARIF), so a huge file never sits in memory as a slice.
type Streamer interface {
	Each(ctx context.Context, in Input, r io.Reader, yield func(finding.Finding) error) error
}

func parseUnit(ctx context.Context, idx int, u unit, st *store, ev *pathEvidence) (FileResult, []error) {
	fr := FileResult{Path: u.name, Format: u.format.Name(), Bytes: u.size}
	var r io.Reader
	if u.data != nil {
		r = bytes.NewReader(u.data)
	} else {
		f, err := os.Open(u.path)
		if err != nil {
			e := &InputError{File: u.name, Offset: -1, Msg: "cannot open", Err: unwrapPathErr(err)}
			fr.Error = e.Error()
			return fr, []error{e}
		}
		defer f.Close()
		r = f
	}
	src := u.source
	src.ToolFile, src.Artifact = u.name, u.archive
	var addErr error
	add := func(f finding.Finding) error {
		f.Sources = []finding.Source{src}
		if f.Occurrences < 1 {
			f.Occurrences = 1
		}
		if f.SecretHash == "" && len(f.Secrets) > 0 {
			f.SecretHash = redact.Hash(f.Secrets[0])
		}
		if f.Severity.Rank() < 0 {
			f.Severity = finding.SeverityInfo
		}
		if math.IsNaN(f.Score) || math.IsInf(f.Score, 0) {
			f.Score = 0 // a score that is no number is missing, not fatal
		}
		f.ID = finding.Fingerprint(&f)
		if err := st.add(ctx, idx, &f, ev.note(idx, &f)); err != nil {
			addErr = err
			return err
		}
		fr.Findings++
		return nil
	}
	// Over-long strings are cut before a parser sees them; byte offsets
	// in errors after such a string count the cut text.
	cr := newCapReader(r)
	err := safeParse(ctx, u, cr, add)
	fr.Elided = cr.elided
	if errors.Is(err, sarif.ErrVersion) {
		st.drop(idx)
		fr.Findings = 0
	}
	var errs []error
	if addErr != nil {
		errs = append(errs, addErr)
	}
	if err != nil && !errors.Is(err, addErr) {
		errs = append(errs, flatten(err)...)
	}
	var msgs []string
	for _, e := range errs {
		if isWarning(e) {
			fr.Warnings = append(fr.Warnings, e.Error())
		} else {
			msgs = append(msgs, e.Error())
		}
	}
	fr.Error = strings.Join(msgs, "; ")
	return fr, errs
}

// isWarning reports whether err is a problem the parser worked around
// (report.Error's Warning) rather than an input error.
func isWarning(err error) bool {
	var re *report.Error
	return errors.As(err, &re) && re.Warning
}

// safeParse turns a parser panic into an input error so one bad file can
// never take down the run; fuzzing keeps such panics rare, this keeps them
// harmless.
func safeParse(ctx context.Context, u unit, r io.Reader, yield func(finding.Finding) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &InputError{File: u.name, Offset: -1, Msg: fmt.Sprintf("internal error in the %s parser (please report it): %v", u.format.Name(), p)}
		}
	}()
	in := Input{Name: u.name, Size: u.size}
	if s, ok := u.format.(Streamer); ok {
		return s.Each(ctx, in, r, yield)
	}
	fs, err := u.format.Parse(ctx, in, r)
	for _, f := range fs {
		if yerr := yield(f); yerr != nil {
			return yerr
		}
	}
	return err
}

// flattenAll flattens each of errs.
func flattenAll(errs []error) []error {
	var out []error
	for _, err := range errs {
		out = append(out, flatten(err)...)
	}
	return out
}

// flatten splits errors.Join trees into their leaves.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
