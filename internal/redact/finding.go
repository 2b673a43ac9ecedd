package redact

import (
	"context"
	"regexp"
	"sort"

	"github.com/vulntune/vulntune/internal/finding"
)

// Finding masks secrets in every string field of f that leaves ingest: title,
// message, description, help URI, references, CWE and vulnerability ids, tool
// fields, every Location (main, related, code flow: path, snippet, URL,
// method, param, image, logical names), fixes, suppression, sources, and
// property keys and values. It masks the known values given to New, f's own
// Secrets, and detector hits, then clears f.Secrets. It returns counts by
// detector name.
//
// Package fields are left alone: they are names and versions that
// remediation must see unchanged and that no scanner fills with secrets. So
// are ID, SecretHash and PartialFingerprint, which are hashes. Finding does
// not set SecretHash; fingerprinting runs before redaction and needs it set
// already (ingest does that with Hash).
func (r *Redactor) Finding(f *finding.Finding) Stats {
	st, _ := r.finding(&pass{}, f)
	return st
}

// FindingContext is Finding that gives up when ctx is done, returning ctx's
// error; f is then partly redacted and must be dropped.
func (r *Redactor) FindingContext(ctx context.Context, f *finding.Finding) (Stats, error) {
	return r.finding(&pass{ctx: ctx}, f)
}

func (r *Redactor) finding(p *pass, f *finding.Finding) (Stats, error) {
	w := walker{r: r, p: p, stats: Stats{}}
	if len(f.Secrets) > 0 {
		w.extra = newKnownSet(f.Secrets, false)
	}
	for i := range f.Tools {
		t := &f.Tools[i]
		w.str(&t.Name, &t.Version, &t.RuleID)
	}
	w.str(&f.CVSSVector, &f.Title, &f.Message, &f.Description, &f.HelpURI)
	w.list(f.References, f.CWE, f.VulnIDs)
	w.location(&f.Location)
	for i := range f.Related {
		w.location(&f.Related[i])
	}
	for i := range f.Flow {
		w.location(&f.Flow[i])
	}
	for i := range f.Fixes {
		x := &f.Fixes[i]
		w.str(&x.Description, &x.Path, &x.Replacement)
	}
	if f.Suppression != nil {
		s := f.Suppression
		w.str(&s.Kind, &s.Status, &s.Justification)
	}
	for i := range f.Sources {
		s := &f.Sources[i]
		w.str(&s.Artifact, &s.ToolFile, &s.RunID, &s.Commit, &s.Branch)
	}
	f.Properties = w.properties(f.Properties)
	f.Secrets = nil
	return w.stats, p.err
}

// walker redacts fields in place and sums what it masked.
type walker struct {
	r     *Redactor
	p     *pass
	extra *knownSet
	stats Stats
}

func (w *walker) str(fields ...*string) {
	for _, p := range fields {
		if *p == "" || w.p.cancelled() {
			continue
		}
		out, st, _ := w.r.redact(w.p, *p, w.extra)
		*p = out
		w.stats.Add(st)
	}
}

func (w *walker) list(lists ...[]string) {
	for _, l := range lists {
		for i := range l {
			w.str(&l[i])
		}
	}
}

func (w *walker) location(l *finding.Location) {
	w.str(&l.Path, &l.Snippet, &l.URL, &l.Method, &l.Param, &l.Image)
	w.list(l.Logical)
}

var (
	passwordKeyRe = regexp.MustCompile(`(?i)^` + passwordKey + `$`)
	secretKeyRe   = regexp.MustCompile(`(?i)^` + secretKey + `$`)
)

// properties redacts keys and values. A value under a secret-like key
// ("password", "api_token") is masked whole unless it is a placeholder,
// because once serialised it reads `"password": "..."`, which the assignment
// detectors would flag in any leak scan of the output. Keys are visited in
// sorted order so that two keys masked to the same text merge the same way
// every run.
func (w *walker) properties(props map[string]string) map[string]string {
	if len(props) == 0 {
		return props
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(props))
	for _, k := range keys {
		v := props[k]
		w.str(&k)
		if name := secretKeyName(k); name != "" && !isPlaceholder(v) && !isMask(v) {
			v = mask(name)
			w.stats[name]++
		} else {
			w.str(&v)
		}
		if prev, ok := out[k]; ok {
			v = prev + "\n" + v
		}
		out[k] = v
	}
	return out
}

// secretKeyName names the assignment detector whose key pattern k matches
// whole, or "" when k is not a secret-like name.
func secretKeyName(k string) string {
	switch {
	case passwordKeyRe.MatchString(k):
		return "password-assignment"
	case secretKeyRe.MatchString(k):
		return "secret-assignment"
	}
	return ""
}

// isMask reports whether v is exactly one mask.
func isMask(v string) bool {
	start, end := nextMask(v, 0)
	return start == 0 && end == len(v)
}
