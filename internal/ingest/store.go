package ingest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/redact"
)

// store spills parsed findings to a temporary file and keeps only a small
// index in memory, so ingesting a file with hundreds of thousands of results
// stays within a few tens of MB no matter how many findings it holds.
// Findings are redacted with their own secrets and the detectors before
// they are written, and again with every secret of the run when they are
// read back.
type store struct {
	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	off     int64
	index   map[string]*entry
	reports int
	known   []string
	seen    map[string]bool
	red     *redact.Redactor // detectors only; read-only, shared by workers
	stats   redact.Stats
	// dropped units are files whose findings must not count after all (a
	// SARIF version found unsupported only at the end of the file).
	dropped map[int]bool
	fixes   int // spans marked fix
}

type entry struct {
	rank int // highest severity rank among the reports
	kind finding.Kind
	recs []span
}

type span struct {
	off  int64
	n    int
	unit int
	fix  bool // its paths still need making repo-relative (fixup)
	// pfp is the tool's partial fingerprint of a span marked fix: it is
	// not serialised, and fixup fingerprints the finding again.
	pfp string
}

func newStore(dir string) (*store, error) {
	f, err := os.CreateTemp(dir, "vulntune-ingest-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("create ingest spill file: %w", err)
	}
	return &store{f: f, w: bufio.NewWriterSize(f, 1<<20), index: map[string]*entry{},
		seen: map[string]bool{}, red: redact.New(nil), stats: redact.Stats{}, dropped: map[int]bool{}}, nil
}

// add records one fingerprinted finding. It is safe for concurrent use:
// redaction, the costly part, runs outside the lock, so parsing workers
// redact in parallel. A cancelled ctx stops a long redaction (a huge
// minified line) and returns ctx's error.
func (s *store) add(ctx context.Context, unit int, f *finding.Finding, fix bool) error {
	secrets := append([]string(nil), f.Secrets...)
	// The finding's own secrets are masked by Finding whatever the
	// Redactor knows; other findings' secrets are masked when read back.
	st, err := s.red.FindingContext(ctx, f)
	if err != nil {
		return err
	}
	f.AddRedactions(st)
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range secrets {
		if v != "" && !s.seen[v] {
			s.seen[v] = true
			s.known = append(s.known, v)
		}
	}
	s.stats.Add(st)
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write ingest spill file: %w", err)
	}
	e := s.index[f.ID]
	if e == nil {
		e = &entry{rank: -1, kind: f.Kind}
		s.index[f.ID] = e
	}
	if r := f.Severity.Rank(); r > e.rank {
		e.rank = r
	}
	sp := span{off: s.off, n: len(b), unit: unit, fix: fix}
	if fix {
		sp.pfp = f.PartialFingerprint
	}
	e.recs = append(e.recs, sp)
	s.fixes += btoi(fix)
	s.off += int64(len(b))
	s.reports++
	return nil
}

// each merges the reports of every finding and calls fn in output order:
// most severe first, then kind, then id. Each finding is redacted again
// with every secret of the run, so a secret found in a later file is masked
// in an earlier one too.
func (s *store) each(fn func(finding.Finding) error) (finding.MergeStats, error) {
	if err := s.w.Flush(); err != nil {
		return finding.MergeStats{}, err
	}
	var st finding.MergeStats
	ids := make([]string, 0, len(s.index))
	for id, e := range s.index {
		keep := e.recs[:0]
		for _, sp := range e.recs {
			if !s.dropped[sp.unit] {
				keep = append(keep, sp)
			}
		}
		e.recs = keep
		if len(keep) > 0 {
			ids = append(ids, id)
			st.Input += len(keep)
		}
	}
	st.Output = len(ids)
	st.Merged = st.Input - st.Output
	sort.Slice(ids, func(a, b int) bool {
		x, y := s.index[ids[a]], s.index[ids[b]]
		if x.rank != y.rank {
			return x.rank > y.rank
		}
		if x.kind != y.kind {
			return x.kind < y.kind
		}
		return ids[a] < ids[b]
	})
	final := redact.New(s.known)
	var buf []byte
	for _, id := range ids {
		e := s.index[id]
		// Files are parsed concurrently, so reports arrive in any order;
		// merging them in input order makes the merged finding (which
		// report's location and text win) the same on every run.
		sort.Slice(e.recs, func(a, b int) bool {
			if e.recs[a].unit != e.recs[b].unit {
				return e.recs[a].unit < e.recs[b].unit
			}
			return e.recs[a].off < e.recs[b].off
		})
		recs := make([]finding.Finding, 0, len(e.recs))
		for _, sp := range e.recs {
			if cap(buf) < sp.n {
				buf = make([]byte, sp.n)
			}
			buf = buf[:sp.n]
			if _, err := s.f.ReadAt(buf, sp.off); err != nil && err != io.EOF {
				return st, fmt.Errorf("read ingest spill file: %w", err)
			}
			var f finding.Finding
			if err := json.Unmarshal(buf, &f); err != nil {
				return st, fmt.Errorf("read ingest spill file: %w", err)
			}
			recs = append(recs, f)
		}
		merged, _ := finding.Merge(recs)
		f := merged[0]
		if len(s.known) > 0 {
			rs := final.Finding(&f)
			s.stats.Add(rs)
			f.AddRedactions(rs)
		}
		names := map[string]bool{}
		for _, t := range f.Tools {
			names[strings.ToLower(t.Name)] = true
		}
		if len(names) > 1 {
			st.MultiTool++
		}
		if err := fn(f); err != nil {
			return st, err
		}
	}
	return st, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fixup reads back every finding marked fix, lets fix rewrite it (paths
// made repo-relative), fingerprints it again and files it under its new id,
// appending the rewritten record to the spill file. It runs after all
// reports are parsed, when the evidence of every report is in.
func (s *store) fixup(fix func(unit int, f *finding.Finding)) error {
	if s.fixes == 0 {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return err
	}
	ids := make([]string, 0, len(s.index))
	for id := range s.index {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var buf []byte
	for _, id := range ids {
		e := s.index[id]
		keep := e.recs[:0]
		var moved []span
		for _, sp := range e.recs {
			if sp.fix {
				moved = append(moved, sp)
			} else {
				keep = append(keep, sp)
			}
		}
		if len(moved) == 0 {
			continue
		}
		e.recs = keep
		if len(keep) == 0 {
			delete(s.index, id)
		}
		for _, sp := range moved {
			buf = append(buf[:0], make([]byte, sp.n)...)
			if _, err := s.f.ReadAt(buf, sp.off); err != nil && err != io.EOF {
				return fmt.Errorf("read ingest spill file: %w", err)
			}
			var f finding.Finding
			if err := json.Unmarshal(buf, &f); err != nil {
				return fmt.Errorf("read ingest spill file: %w", err)
			}
			fix(sp.unit, &f)
			f.PartialFingerprint = sp.pfp
			f.ID = finding.Fingerprint(&f)
			b, err := json.Marshal(&f)
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if _, err := s.f.WriteAt(b, s.off); err != nil {
				return fmt.Errorf("write ingest spill file: %w", err)
			}
			ne := s.index[f.ID]
			if ne == nil {
				ne = &entry{rank: -1, kind: f.Kind}
				s.index[f.ID] = ne
			}
			if r := f.Severity.Rank(); r > ne.rank {
				ne.rank = r
			}
			ne.recs = append(ne.recs, span{off: s.off, n: len(b), unit: sp.unit})
			s.off += int64(len(b))
		}
	}
	s.fixes = 0
	return nil
}

// drop discards every finding of unit.
func (s *store) drop(unit int) {
	s.mu.Lock()
	s.dropped[unit] = true
	s.mu.Unlock()
}

func (s *store) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
