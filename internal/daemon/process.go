package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/ingest"
)

// Artifact states.
const (
	ArtifactRead      = "read"
	ArtifactFetched   = "downloaded"
	ArtifactExpired   = "expired"
	ArtifactRefused   = "refused"
	ArtifactFiltered  = "filtered"
	ArtifactNoReports = "no-reports"
)

type outcome struct {
	state                             string
	reason                            string
	artifacts, read, refused, expired int
	findings, newFindings             int
}

type fetched struct {
	row  int // index into rows
	data []byte
}

// process takes one run from where it stands to parsed (or skipped). The
// artifacts are held in memory only: a run interrupted after "downloaded"
// fetches them again, and its findings are stored once, with the state
// change, in one transaction.
func (d *Daemon) process(ctx context.Context, r RunRow) (outcome, error) {
	from := r.State // what the store holds; every transition starts there
	step := r.State // where the work resumes
	if step == StateFailed {
		step = r.Resume
	}
	arts, err := d.o.GitHub.ListArtifacts(ctx, r.Repo, r.ID)
	if err != nil {
		var ae *ghactions.APIError
		if errors.As(err, &ae) && ae.Status == 404 {
			return d.skip(r, from, "the run or its artifacts no longer exist", nil)
		}
		return outcome{}, err
	}
	var rows []ArtifactRow
	var got []fetched
	for _, a := range arts {
		row := ArtifactRow{ID: a.ID, RunID: r.ID, Name: a.Name, Size: a.Size}
		switch {
		case !d.wanted(a.Name):
			row.State, row.Reason = ArtifactFiltered, "name matches no github.artifact_patterns entry"
		default:
			data, err := d.o.GitHub.Download(ctx, r.Repo, a, d.o.MaxArtifactBytes)
			switch {
			case errors.Is(err, ghactions.ErrExpired):
				row.State, row.Reason = ArtifactExpired, "expired: GitHub no longer keeps it"
			case errors.Is(err, ghactions.ErrTooLarge):
				row.State, row.Reason = ArtifactRefused, err.Error()
			case err != nil:
				return outcome{}, err
			default:
				row.State = ArtifactFetched
				got = append(got, fetched{row: len(rows), data: data})
			}
		}
		rows = append(rows, row)
	}
	if step == StatePending || step == "" {
		if err := d.store.markDownloaded(RunRow{ID: r.ID, State: from}, rows, d.o.Clock.Now()); err != nil {
			return outcome{}, err
		}
		from = StateDownloaded
		d.hook("downloaded")
	}
	out := outcome{artifacts: len(rows)}
	var all []finding.Finding
	for _, f := range got {
		row := &rows[f.row]
		fs, problem, unsafe, err := d.parse(ctx, r, row.Name, f.data)
		if err != nil {
			return outcome{}, err
		}
		switch {
		case unsafe:
			row.State, row.Reason = ArtifactRefused, problem
		case len(fs) == 0 && problem != "":
			row.State, row.Reason = ArtifactNoReports, problem
		default:
			row.State, row.Reason, row.Findings = ArtifactRead, problem, len(fs)
			all = append(all, fs...)
		}
	}
	var reasons []string
	for _, row := range rows {
		switch row.State {
		case ArtifactRead:
			out.read++
		case ArtifactRefused:
			out.refused++
			reasons = append(reasons, row.Name+": "+row.Reason)
		case ArtifactExpired:
			out.expired++
			reasons = append(reasons, row.Name+": expired")
		}
	}
	out.findings = len(all)
	if out.read == 0 {
		why := "no artifact with a scanner report"
		if len(reasons) > 0 {
			why += " (" + strings.Join(reasons, "; ") + ")"
		}
		o, err := d.skip(r, from, why, rows)
		o.artifacts, o.refused, o.expired = out.artifacts, out.refused, out.expired
		return o, err
	}
	added, err := d.store.saveParsed(RunRow{ID: r.ID, State: from}, rows, all, d.o.Clock.Now())
	if err != nil {
		return outcome{}, err
	}
	out.newFindings, out.state = added, StateParsed
	if added == 0 {
		out.state, out.reason = StateSkipped, "no new findings"
	}
	if len(reasons) > 0 {
		out.reason = strings.TrimPrefix(out.reason+"; "+strings.Join(reasons, "; "), "; ")
	}
	d.hook(out.state)
	return out, nil
}

func (d *Daemon) skip(r RunRow, from, why string, rows []ArtifactRow) (outcome, error) {
	if err := d.store.skip(RunRow{ID: r.ID, State: from}, why, rows, d.o.Clock.Now()); err != nil {
		return outcome{}, err
	}
	d.hook(StateSkipped)
	return outcome{state: StateSkipped, reason: why}, nil
}

func (d *Daemon) wanted(name string) bool {
	if len(d.o.ArtifactPatterns) == 0 {
		return true
	}
	for _, p := range d.o.ArtifactPatterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// parse reads one artifact's reports through ingest's zip reader. An
// archive that breaks a cap or holds a link, "..", or an absolute path is
// refused whole (unsafe): it came from CI, and its other entries are no
// more trustworthy. problem sums up what ingest could not read.
func (d *Daemon) parse(ctx context.Context, r RunRow, name string, data []byte) (fs []finding.Finding, problem string, unsafe bool, err error) {
	tmp := d.statePath(tmpDir)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, "", false, err
	}
	arch := ingest.Archive{Name: fmt.Sprintf("%s/actions/runs/%d/artifacts/%s.zip", r.Repo, r.ID, name), Data: data,
		Source: finding.Source{RunID: strconv.FormatInt(r.ID, 10), Commit: r.HeadSHA, Branch: r.Branch}}
	res, err := ingest.Run(ctx, nil, ingest.Options{Archives: []ingest.Archive{arch}, Zip: d.o.Zip, TempDir: tmp})
	if err != nil {
		return nil, "", false, err
	}
	var msgs []string
	for _, e := range res.Errors {
		if errors.Is(e, ingest.ErrUnsafeArchive) {
			unsafe = true
		}
		msgs = append(msgs, e.Error())
	}
	problem = strings.Join(msgs, "; ")
	if len(problem) > 1000 {
		problem = problem[:1000] + "…"
	}
	if unsafe {
		return nil, problem, true, nil
	}
	return res.Findings, problem, false, nil
}
