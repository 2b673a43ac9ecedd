package ingest

import (
	"strings"
	"sync"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/homepath"
)

// maxUnitHomePaths bounds the home-directory paths kept per report to find
// their common root.
const maxUnitHomePaths = 4096

// pathEvidence collects, while reports are parsed, what locations still
// need making repo-relative (absolute paths the parsers found no checkout
// root for, home directories in text) and the evidence to do it with. The
// findings carrying them are rewritten once every report is read.
type pathEvidence struct {
	mu    sync.Mutex
	homes map[int][]string
	seen  map[int]map[string]bool
	roots map[int]homepath.Roots
	// rootless counts paths in a home directory that no root was found
	// for: their home and user segments were dropped, the rest kept.
	rootless int
}

func newPathEvidence() *pathEvidence {
	return &pathEvidence{homes: map[int][]string{}, seen: map[int]map[string]bool{}}
}

// note records the paths of f and says whether f must be rewritten.
func (e *pathEvidence) note(unit int, f *finding.Finding) bool {
	needs := false
	eachPath(f, func(p *string) {
		n := homepath.Normalize(*p)
		if !homepath.IsAbs(n) {
			return
		}
		needs = true
		if homepath.HomeDir(n) == "" {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		s := e.seen[unit]
		if s == nil {
			s = map[string]bool{}
			e.seen[unit] = s
		}
		if !s[n] && len(s) < maxUnitHomePaths {
			s[n] = true
			e.homes[unit] = append(e.homes[unit], n)
		}
	})
	if !needs {
		eachText(f, func(s *string) {
			needs = needs || mentionsHome(*s)
		})
	}
	return needs
}

// mentionsHome is the cheap test before the home-directory pattern.
func mentionsHome(s string) bool {
	return strings.Contains(s, "/home/") || strings.Contains(s, "Users/") || strings.Contains(s, `Users\`)
}

// settle computes each report's roots: the common directory of its
// home-directory paths, when they are at least two and it lies below the
// home directory itself.
func (e *pathEvidence) settle() {
	e.roots = map[int]homepath.Roots{}
	for unit, paths := range e.homes {
		dir := homepath.CommonDir(paths)
		if h := homepath.HomeDir(dir); dir != "" && h != "" && len(dir) > len(h) {
			e.roots[unit] = homepath.Roots{Dirs: []string{dir}}
		}
	}
}

// fix makes every path of f repo-relative and replaces home-directory
// paths in its text. It runs on one goroutine, after settle.
func (e *pathEvidence) fix(unit int, f *finding.Finding) {
	roots := e.roots[unit]
	eachPath(f, func(p *string) {
		if *p == "" {
			return
		}
		rel, how := roots.Rel(*p)
		if how == homepath.Home {
			e.rootless++
		}
		*p = rel
	})
	eachText(f, func(s *string) {
		if mentionsHome(*s) {
			*s, _ = roots.Text(*s)
		}
	})
}

func eachPath(f *finding.Finding, fn func(*string)) {
	fn(&f.Location.Path)
	for i := range f.Related {
		fn(&f.Related[i].Path)
	}
	for i := range f.Flow {
		fn(&f.Flow[i].Path)
	}
	for i := range f.Fixes {
		fn(&f.Fixes[i].Path)
	}
}

func eachText(f *finding.Finding, fn func(*string)) {
	fn(&f.Title)
	fn(&f.Message)
	fn(&f.Description)
	fn(&f.Location.Snippet)
	for i := range f.Related {
		fn(&f.Related[i].Snippet)
	}
	for i := range f.Flow {
		fn(&f.Flow[i].Snippet)
	}
	for i := range f.Fixes {
		fn(&f.Fixes[i].Description)
		fn(&f.Fixes[i].Replacement)
	}
	for k, v := range f.Properties {
		if mentionsHome(v) {
			fn(&v)
			f.Properties[k] = v
		}
	}
}
