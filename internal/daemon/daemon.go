package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/lockfile"
)

// Files under the state directory.
const (
	StateFile    = "state.db"
	LockFile     = "daemon.lock"
	FindingsFile = "findings.jsonl"
	DatasetDir   = "dataset"
	tmpDir       = "tmp"
)

// lateCompletion is how far before the newest run seen each listing looks
// again: a run is listed once it has completed, which can be long after it
// was created, and GitHub filters on creation time. Runs seen before are
// recognised by id, so looking again costs nothing but a few list entries.
const lateCompletion = 48 * time.Hour

// Daemon polls GitHub and processes runs. Open it, Run or Poll it, Close
// it; it holds the state directory's lock in between.
type Daemon struct {
	o       Options
	store   *Store
	lock    *lockfile.Lock
	started time.Time
	noted   map[string]bool // notes logged once per process
}

// Open takes the state directory's lock, opens the store and removes what
// a killed daemon may have left half-written (temporary files, staging
// directories; none of them is ever read).
func Open(o Options) (*Daemon, error) {
	o.defaults()
	if o.StateDir == "" {
		return nil, errors.New("daemon: no state directory")
	}
	if o.GitHub == nil || o.Pipeline == nil {
		return nil, errors.New("daemon: GitHub client and pipeline are required")
	}
	if len(o.Repos) == 0 {
		return nil, &ConfigError{Msg: "no repository to watch", Fix: "give --repo OWNER/NAME or set github.repos in the config"}
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockfile.Acquire(filepath.Join(o.StateDir, LockFile))
	if err != nil {
		return nil, err
	}
	cleanLeftovers(o.StateDir)
	st, err := OpenStore(filepath.Join(o.StateDir, StateFile))
	if err != nil {
		lock.Release()
		return nil, err
	}
	return &Daemon{o: o, store: st, lock: lock, started: o.Clock.Now(), noted: map[string]bool{}}, nil
}

// ConfigError is a daemon setting that cannot work; Fix says what to set.
type ConfigError struct{ Msg, Fix string }

func (e *ConfigError) Error() string { return "daemon: " + e.Msg }

// Hint tells the user what to set.
func (e *ConfigError) Hint() string { return e.Fix }

func cleanLeftovers(dir string) {
	_ = os.RemoveAll(filepath.Join(dir, tmpDir))
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") && (strings.Contains(n, ".tmp-") || strings.Contains(n, ".staging-")) ||
			strings.HasPrefix(n, DatasetDir+".old-") {
			_ = os.RemoveAll(filepath.Join(dir, n))
		}
	}
}

// Close releases the store and the lock.
func (d *Daemon) Close() error {
	err := d.store.Close()
	return errors.Join(err, d.lock.Release())
}

// Summary is what one poll did.
type Summary struct {
	Requests    int64     `json:"requests"`
	Listings    int       `json:"listings"`
	Unchanged   int       `json:"unchanged"` // listings answered 304
	NewRuns     int       `json:"new_runs"`
	Ignored     int       `json:"ignored"` // forks, failed or running runs
	Processed   int       `json:"processed"`
	Parsed      int       `json:"parsed"`
	Skipped     int       `json:"skipped"`
	Failed      int       `json:"failed"`
	NewFindings int       `json:"new_findings"`
	Dataset     *int      `json:"dataset_examples,omitempty"`
	Model       string    `json:"model,omitempty"`
	Published   bool      `json:"published"`
	Notes       []string  `json:"notes"`
	Started     time.Time `json:"started"`
	Duration    float64   `json:"duration_s"`
}

// Run polls until ctx is cancelled (SIGTERM), or once with Options.Once.
// Every step commits as it ends, so stopping between steps loses nothing
// and a step cut short is done again on the next start; a cancelled Run
// returns nil.
func (d *Daemon) Run(ctx context.Context) (*Summary, error) {
	for {
		sum, err := d.Poll(ctx)
		if ctx.Err() != nil {
			return sum, nil
		}
		next := sum.Started.Add(d.o.Interval)
		var rl *ghactions.RateLimitError
		if errors.As(err, &rl) && rl.Until.After(next) {
			next = rl.Until
		}
		if err != nil {
			d.o.Log.Error("poll failed", "err", err.Error(), "next_poll", next.UTC().Format(time.RFC3339))
		}
		if d.o.Once {
			next = time.Time{}
		}
		if herr := d.store.heartbeat(os.Getpid(), d.started, sum.Started, next); herr != nil {
			return sum, errors.Join(err, herr)
		}
		if d.o.Once {
			return sum, err
		}
		if err := d.o.Clock.Sleep(ctx, next.Sub(d.o.Clock.Now())); err != nil {
			return sum, nil
		}
	}
}

// Poll runs one cycle: list every target, process the runs that are due,
// oldest first, then build the dataset, fine-tune and publish when there
// is something new. An error stops the cycle only when no further work can
// succeed (bad token, rate limit, cancelled); a failing run is recorded
// and the others go on.
func (d *Daemon) Poll(ctx context.Context) (*Summary, error) {
	sum := &Summary{Started: d.o.Clock.Now(), Notes: []string{}}
	before := d.o.GitHub.Requests()
	defer func() {
		sum.Requests = d.o.GitHub.Requests() - before
		sum.Duration = d.o.Clock.Now().Sub(sum.Started).Seconds()
	}()
	for _, t := range d.o.Targets() {
		if err := d.list(ctx, t, sum); err != nil {
			if stopsPoll(ctx, err) {
				return sum, err
			}
			// One listing's problem (a workflow renamed, a repository
			// gone) must not keep the others from being polled.
			msg := fmt.Sprintf("listing %s failed: %v", describeTarget(t), err)
			sum.Notes = append(sum.Notes, msg)
			d.o.Log.Warn("listing failed", "repo", t.Repo, "workflow", t.Workflow, "branch", t.Branch, "err", err.Error())
		}
	}
	due, err := d.store.due(d.o.Clock.Now())
	if err != nil {
		return sum, err
	}
	for _, r := range due {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		if err := d.runOne(ctx, r, sum); err != nil {
			return sum, err
		}
	}
	if err := d.phases(ctx, sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// list records the new runs of one target.
func (d *Daemon) list(ctx context.Context, t Target, sum *Summary) error {
	tg, err := d.store.target(t)
	if err != nil {
		return err
	}
	now := d.o.Clock.Now()
	cursor := parseTime(tg.cursor)
	if cursor.IsZero() {
		// The anchor is stored with the first answer, so the query (and
		// its ETag) stays the same until a newer run moves it.
		cursor = now.Add(-d.o.Backfill)
	}
	q := ghactions.RunQuery{Repo: t.Repo, Workflow: t.Workflow, Branch: t.Branch, Status: "success",
		Created: ">=" + cursor.Add(-lateCompletion).UTC().Format(time.RFC3339)}
	sum.Listings++
	list, err := d.o.GitHub.ListRuns(ctx, q, tg.etag)
	if err != nil {
		return err
	}
	if list.NotModified {
		sum.Unchanged++
		return nil
	}
	runs := append([]ghactions.Run(nil), list.Runs...)
	sort.Slice(runs, func(i, j int) bool {
		if !runs[i].CreatedAt.Equal(runs[j].CreatedAt) {
			return runs[i].CreatedAt.Before(runs[j].CreatedAt)
		}
		return runs[i].ID < runs[j].ID
	})
	allow := false
	for _, r := range d.o.AllowForks {
		if strings.EqualFold(r, t.Repo) {
			allow = true
		}
	}
	rows := make([]RunRow, 0, len(runs))
	for _, r := range runs {
		if r.Repo == "" {
			r.Repo = t.Repo
		}
		row := RunRow{ID: r.ID, Repo: t.Repo, Workflow: r.Path, RunNumber: r.RunNumber, Event: r.Event, Branch: r.Branch,
			HeadSHA: r.HeadSHA, CreatedAt: r.CreatedAt, HTMLURL: r.HTMLURL, State: StatePending}
		if ok, why := ghactions.Eligible(r, allow); !ok {
			row.State, row.Reason = StateSkipped, why
		}
		rows = append(rows, row)
		if r.CreatedAt.After(cursor) {
			cursor = r.CreatedAt
		}
	}
	added, err := d.store.recordListing(t, target{etag: list.ETag, cursor: fmtTime(cursor)}, rows, now)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.State == StateSkipped {
			d.o.Log.Debug("run ignored", "repo", r.Repo, "run", r.ID, "reason", r.Reason)
		}
	}
	sum.NewRuns += added
	d.hook("listed")
	return nil
}

func (d *Daemon) hook(event string) {
	if d.o.hook != nil {
		d.o.hook(event)
	}
}

// runOne processes one due run and records a failure; it returns an error
// only when the cycle must stop.
func (d *Daemon) runOne(ctx context.Context, r RunRow, sum *Summary) error {
	start := d.o.Clock.Now()
	res, err := d.process(ctx, r)
	sum.Processed++
	if err == nil {
		sum.NewFindings += res.newFindings
		if res.state == StateParsed {
			sum.Parsed++
		} else {
			sum.Skipped++
		}
		d.o.Log.Info("run processed", "repo", r.Repo, "run", r.ID, "number", r.RunNumber, "state", res.state,
			"artifacts", res.artifacts, "read", res.read, "refused", res.refused, "expired", res.expired,
			"findings", res.findings, "new_findings", res.newFindings, "reason", res.reason,
			"duration_ms", d.o.Clock.Now().Sub(start).Milliseconds())
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err() // cut short: the run resumes from its last committed state
	}
	if stopsPoll(ctx, err) {
		return err
	}
	sum.Failed++
	now := d.o.Clock.Now()
	next := time.Time{}
	if r.Attempts+1 < d.o.MaxAttempts {
		next = now.Add(backoff(d.o.Backoff, d.o.MaxBackoff, r.Attempts))
	}
	d.o.Log.Warn("run failed", "repo", r.Repo, "run", r.ID, "attempt", r.Attempts+1, "err", err.Error(),
		"next_attempt", fmtTime(next))
	if ferr := d.store.fail(r, err.Error(), next, now); ferr != nil {
		return ferr
	}
	d.hook("failed")
	return nil
}

// stopsPoll reports whether an error ends the whole poll rather than one
// run or listing: a rate limit, the token (401, 403: every other request
// would fail alike), or cancellation.
func stopsPoll(ctx context.Context, err error) bool {
	var ae *ghactions.APIError
	var rl *ghactions.RateLimitError
	return ctx.Err() != nil || errors.As(err, &rl) || errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403)
}

func describeTarget(t Target) string {
	s := t.Repo
	if t.Workflow != "" {
		s += " workflow " + t.Workflow
	}
	if t.Branch != "" {
		s += " branch " + t.Branch
	}
	return s
}

// backoff is base·2^n, at most limit.
func backoff(base, limit time.Duration, n int) time.Duration {
	d := base
	for range n {
		d *= 2
		if d >= limit {
			return limit
		}
	}
	return min(d, limit)
}

// statePath is a file under the state directory.
func (d *Daemon) statePath(name string) string { return filepath.Join(d.o.StateDir, name) }

func (d *Daemon) noteOnce(sum *Summary, key, msg string) {
	sum.Notes = append(sum.Notes, msg)
	if !d.noted[key] {
		d.noted[key] = true
		d.o.Log.Info(msg)
	}
}
