package daemon_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
	"github.com/vulntune/vulntune/internal/lockfile"
)

func TestThreeRunsOnceEachInOrder(t *testing.T) {
	e := newEnv(t)
	ids := []int64{
		e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1, 2)),
		e.addRun(ghtest.RunSpec{}, report(t, "sqli", 2, 3)),
		e.addRun(ghtest.RunSpec{}, report(t, "xss", 7)),
	}
	sum := e.poll()
	if sum.NewRuns != 3 || sum.Parsed != 3 || sum.NewFindings != 4 || sum.Failed != 0 {
		t.Fatalf("summary %+v", sum)
	}
	var order []int64
	for _, r := range e.logs.with("run processed") {
		order = append(order, r["run"].(int64))
		if r["findings"] == nil || r["new_findings"] == nil || r["artifacts"] == nil {
			t.Fatalf("log line without counts: %v", r)
		}
	}
	if !slices.Equal(order, ids) {
		t.Fatalf("processed %v, want oldest first %v", order, ids)
	}
	if got := readLines(t, filepath.Join(e.opts.StateDir, daemon.FindingsFile)); got != 4 {
		t.Fatalf("findings.jsonl has %d findings, want 4 (deduplicated by fingerprint)", got)
	}
	ds, ft, pub := e.pipe.counts()
	if ds != 1 || ft != 1 || pub != 1 {
		t.Fatalf("pipeline calls dataset/finetune/publish = %d/%d/%d, want 1/1/1", ds, ft, pub)
	}
	for id, st := range e.runStates() {
		if st != daemon.StatePublished {
			t.Errorf("run %d %s, want published", id, st)
		}
	}
	// Nothing new: nothing done again.
	e.gh.ResetRequests()
	sum = e.poll()
	if sum.Processed != 0 || sum.NewRuns != 0 {
		t.Fatalf("second poll redid work: %+v", sum)
	}
	if ds2, ft2, pub2 := e.pipe.counts(); ds2 != 1 || ft2 != 1 || pub2 != 1 {
		t.Fatalf("second poll called the pipeline: %d/%d/%d", ds2, ft2, pub2)
	}
	// A fourth run later is the only one processed.
	id4 := e.addRun(ghtest.RunSpec{}, report(t, "xss", 8))
	sum = e.poll()
	if sum.Processed != 1 || sum.NewFindings != 1 || e.runStates()[id4] != daemon.StatePublished {
		t.Fatalf("fourth run: %+v, %v", sum, e.runStates())
	}
}

// snapshot is every table but the heartbeat, and every file of the state
// directory but the database's own.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	var b strings.Builder
	for _, table := range []string{"targets", "runs", "artifacts", "findings", "datasets", "models", "publications", "steps", "transitions"} {
		e.query("SELECT * FROM "+table, func(rows *sql.Rows) error {
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			fmt.Fprintln(&b, table, vals)
			return nil
		})
	}
	filepath.Walk(e.opts.StateDir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !strings.HasPrefix(filepath.Base(p), daemon.StateFile) {
			fmt.Fprintln(&b, p, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String()
}

func TestIdleCycleIsOneConditionalRequestAndNoWrites(t *testing.T) {
	e := newEnv(t)
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	d := e.open()
	defer d.Close()
	if _, err := d.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, e)
	e.gh.ResetRequests()
	sum, err := d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.gh.Requests()
	if len(reqs) != 1 || reqs[0].Status != http.StatusNotModified || reqs[0].IfNoneMatch == "" || sum.Requests != 1 || sum.Unchanged != 1 {
		t.Fatalf("idle cycle: %d requests %+v, summary %+v", len(reqs), reqs, sum)
	}
	if after := snapshot(t, e); after != before {
		t.Fatalf("idle cycle wrote state:\nbefore %s\nafter %s", before, after)
	}
}

func TestRateLimitedListingWaits(t *testing.T) {
	e := newEnv(t)
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	e.gh.FailNext(1, "actions/list-workflow-runs", http.StatusTooManyRequests, "45")
	e.gh.FailNext(1, "actions/list-workflow-run-artifacts", http.StatusForbidden, "15")
	start := e.clock.Now()
	sum := e.poll()
	if sum.Parsed != 1 {
		t.Fatalf("summary %+v", sum)
	}
	if got := e.clock.Slept(); !slices.Equal(got, []time.Duration{45 * time.Second, 15 * time.Second}) {
		t.Fatalf("slept %v, want the Retry-After values 45s and 15s", got)
	}
	if e.clock.Now().Sub(start) != time.Minute {
		t.Fatalf("clock moved %v", e.clock.Now().Sub(start))
	}
}

func TestExpiredArtifactsSkippedAndRecorded(t *testing.T) {
	e := newEnv(t)
	good := e.addRun(ghtest.RunSpec{})
	e.gh.AddArtifact(good, ghtest.ArtifactSpec{Name: "sarif", Zip: report(t, "sqli", 1)})
	e.gh.AddArtifact(good, ghtest.ArtifactSpec{Name: "old", Zip: report(t, "sqli", 2), Expired: true})
	e.gh.AddArtifact(good, ghtest.ArtifactSpec{Name: "gone", Zip: report(t, "sqli", 3), Gone: true})
	onlyOld := e.addRun(ghtest.RunSpec{})
	e.gh.AddArtifact(onlyOld, ghtest.ArtifactSpec{Name: "old", Zip: report(t, "xss", 1), Expired: true})
	sum := e.poll()
	if sum.Parsed != 1 || sum.Skipped != 1 || sum.NewFindings != 1 {
		t.Fatalf("summary %+v", sum)
	}
	arts := map[string]string{}
	e.query(`SELECT run_id, name, state FROM artifacts`, func(r *sql.Rows) error {
		var id int64
		var name, st string
		err := r.Scan(&id, &name, &st)
		arts[fmt.Sprint(id, "/", name)] = st
		return err
	})
	want := map[string]string{fmt.Sprint(good, "/sarif"): "read", fmt.Sprint(good, "/old"): "expired", fmt.Sprint(good, "/gone"): "expired",
		fmt.Sprint(onlyOld, "/old"): "expired"}
	if !reflect.DeepEqual(arts, want) {
		t.Fatalf("artifacts %v, want %v", arts, want)
	}
	st := e.status()
	if e.runStates()[onlyOld] != daemon.StateSkipped || st.Runs[daemon.StateSkipped] != 1 {
		t.Fatalf("run with only an expired artifact: %v", e.runStates())
	}
}

func TestHostileArtifactsRefusedOthersGoOn(t *testing.T) {
	e := newEnv(t)
	e.opts.FinetuneAfter = 1000
	sar := sarif("sqli", 1)
	hostile := map[string][]byte{
		"zip-slip":  zipOf(t, entry{name: "../../../home/u/.bashrc.sarif", data: sar}, entry{name: "ok.sarif", data: sarif("sqli", 9)}),
		"symlink":   zipOf(t, entry{name: "report.sarif", data: []byte("/etc/passwd"), symlink: true}),
		"zip-bomb":  zipOf(t, entry{name: "bomb.json", data: make([]byte, 50<<20)}),
		"oversized": zipOf(t, entry{name: "big.sarif", data: append(sar, make([]byte, 2<<20)...), store: true}),
	}
	ids := map[string]int64{}
	good1 := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	for _, name := range []string{"zip-slip", "symlink", "zip-bomb", "oversized"} {
		ids[name] = e.addRun(ghtest.RunSpec{}, hostile[name])
	}
	good2 := e.addRun(ghtest.RunSpec{}, report(t, "xss", 4))
	sum := e.poll()
	if sum.Parsed != 2 || sum.Skipped != 4 || sum.Failed != 0 || sum.NewFindings != 2 {
		t.Fatalf("summary %+v", sum)
	}
	states := e.runStates()
	if states[good1] != daemon.StatePublished || states[good2] != daemon.StatePublished {
		t.Fatalf("good runs did not go on: %v", states)
	}
	reasons := map[int64]string{}
	e.query(`SELECT run_id, state, reason FROM artifacts`, func(r *sql.Rows) error {
		var id int64
		var st, why string
		err := r.Scan(&id, &st, &why)
		reasons[id] = st + ": " + why
		return err
	})
	wantWords := map[string]string{"zip-slip": `".." rejected`, "symlink": "symbolic link", "zip-bomb": "zip bomb", "oversized": "larger than the download limit"}
	for name, id := range ids {
		if states[id] != daemon.StateSkipped || !strings.HasPrefix(reasons[id], "refused: ") || !strings.Contains(reasons[id], wantWords[name]) {
			t.Errorf("%s: run %s, artifact %q", name, states[id], reasons[id])
		}
	}
	if got := readLines(t, filepath.Join(e.opts.StateDir, daemon.FindingsFile)); got != 2 {
		t.Fatalf("%d findings stored, want 2: nothing from a refused artifact", got)
	}
}

func TestForkAndPullRequestRunsIgnored(t *testing.T) {
	e := newEnv(t)
	own := e.addRun(ghtest.RunSpec{Event: "pull_request"}, report(t, "sqli", 1))
	fork := e.addRun(ghtest.RunSpec{Event: "pull_request", HeadRepo: "mallory/app"}, report(t, "sqli", 2))
	target := e.addRun(ghtest.RunSpec{Event: "pull_request_target", HeadRepo: "mallory/app"}, report(t, "sqli", 3))
	e.poll()
	st := e.runStates()
	if st[own] != daemon.StatePublished || st[fork] != daemon.StateSkipped || st[target] != daemon.StateSkipped {
		t.Fatalf("states %v", st)
	}
	for _, r := range e.gh.Requests() {
		if strings.Contains(r.Path, fmt.Sprint(fork)) || strings.Contains(r.Path, fmt.Sprint(target)) {
			t.Fatalf("a fork's run was read: %+v", r)
		}
	}
	// Allowed per repository.
	e2 := newEnv(t)
	e2.opts.AllowForks = []string{"ACME/app"}
	f2 := e2.addRun(ghtest.RunSpec{Event: "pull_request", HeadRepo: "mallory/app"}, report(t, "sqli", 2))
	e2.poll()
	if s := e2.runStates()[f2]; s != daemon.StatePublished {
		t.Fatalf("allowed fork run: %s", s)
	}
}

func TestRunWithoutNewFindingsDoesNoDatasetWork(t *testing.T) {
	e := newEnv(t)
	first := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1, 2))
	e.poll()
	same := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 2, 1))
	sum := e.poll()
	if sum.Processed != 1 || sum.NewFindings != 0 || sum.Dataset != nil {
		t.Fatalf("summary %+v", sum)
	}
	if ds, ft, pub := e.pipe.counts(); ds != 1 || ft != 1 || pub != 1 {
		t.Fatalf("pipeline calls %d/%d/%d, want 1/1/1", ds, ft, pub)
	}
	st := e.runStates()
	if st[first] != daemon.StatePublished || st[same] != daemon.StateSkipped {
		t.Fatalf("states %v", st)
	}
}

func TestSkipInDaemonKeys(t *testing.T) {
	tests := []struct {
		name            string
		skipFT, skipPub bool
		wantFT, wantPub int
		wantState       string
	}{
		{"both on", false, false, 1, 1, daemon.StatePublished},
		{"fine_tuning.skip_in_daemon", true, false, 0, 1, daemon.StatePublished},
		{"huggingface.skip_in_daemon", false, true, 1, 0, daemon.StateTrained},
		{"both skipped", true, true, 0, 0, daemon.StateDataset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.opts.SkipFineTuning, e.opts.SkipPublishing = tt.skipFT, tt.skipPub
			id := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
			sum := e.poll()
			ds, ft, pub := e.pipe.counts()
			if ds != 1 || ft != tt.wantFT || pub != tt.wantPub {
				t.Fatalf("calls %d/%d/%d, want 1/%d/%d", ds, ft, pub, tt.wantFT, tt.wantPub)
			}
			if got := e.runStates()[id]; got != tt.wantState {
				t.Fatalf("run %s, want %s", got, tt.wantState)
			}
			if (tt.skipFT || tt.skipPub) && len(sum.Notes) == 0 {
				t.Fatal("the summary does not say what was skipped")
			}
		})
	}
}

func TestFineTuneWaitsForGrowthAndRejectedModelsAreNotPublished(t *testing.T) {
	e := newEnv(t)
	e.opts.FinetuneAfter = 3
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1, 2))
	e.poll()
	if _, ft, pub := e.pipe.counts(); ft != 0 || pub != 1 {
		t.Fatalf("2 examples < 3: fine-tunes %d (want 0), publications %d (want 1, the dataset)", ft, pub)
	}
	e.pipe.reject = true
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 3))
	e.poll()
	st := e.status()
	if _, ft, pub := e.pipe.counts(); ft != 1 || pub != 2 || st.Model == nil || st.Model.State != daemon.ModelRejected {
		t.Fatalf("fine-tunes %d, publications %d, model %+v", ft, pub, st.Model)
	}
	if e.pipe.published[1] != "" {
		t.Fatalf("a rejected model was published: %v", e.pipe.published)
	}
	e.pipe.reject = false
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 4))
	e.poll()
	if _, ft, _ := e.pipe.counts(); ft != 1 {
		t.Fatalf("grew by 1 since the last model: fine-tuned anyway (%d)", ft)
	}
}

func TestFailingRunBacksOffWithoutBlockingOthers(t *testing.T) {
	e := newEnv(t)
	bad := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	good := e.addRun(ghtest.RunSpec{}, report(t, "xss", 2))
	e.gh.FailNext(1, "actions/list-workflow-run-artifacts", http.StatusBadGateway, "")
	sum := e.poll()
	st := e.status()
	if sum.Failed != 1 || e.runStates()[good] != daemon.StatePublished || len(st.Failures) != 1 || st.Failures[0].ID != bad {
		t.Fatalf("summary %+v, states %v, failures %+v", sum, e.runStates(), st.Failures)
	}
	f := st.Failures[0]
	if f.Attempts != 1 || !f.NextAttempt.Equal(e.clock.Now().Add(time.Minute).Truncate(time.Millisecond)) || !strings.Contains(f.Reason, "502") {
		t.Fatalf("failure %+v (now %v)", f, e.clock.Now())
	}
	if s := e.poll(); s.Processed != 0 {
		t.Fatalf("retried before its next attempt: %+v", s)
	}
	e.clock.Advance(time.Minute)
	if s := e.poll(); s.Processed != 1 || e.runStates()[bad] != daemon.StatePublished {
		t.Fatalf("retry: %+v, %v", s, e.runStates())
	}
}

func TestBackoffDoublesToCapThenGivesUp(t *testing.T) {
	e := newEnv(t)
	e.opts.MaxAttempts, e.opts.Backoff, e.opts.MaxBackoff = 4, time.Minute, 3*time.Minute
	id := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	var waits []time.Duration
	for range 5 {
		e.gh.FailNext(1, "actions/list-workflow-run-artifacts", http.StatusInternalServerError, "")
		e.poll()
		f := e.status().Failures
		if len(f) != 1 {
			t.Fatalf("failures %+v", f)
		}
		if f[0].NextAttempt.IsZero() {
			break
		}
		waits = append(waits, f[0].NextAttempt.Sub(e.clock.Now()).Round(time.Second))
		e.clock.Advance(f[0].NextAttempt.Sub(e.clock.Now()) + time.Millisecond)
	}
	if want := []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	if st := e.status().Failures[0]; st.ID != id || st.Attempts != 4 {
		t.Fatalf("gave up at %+v", st)
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	e := newEnv(t)
	d := e.open()
	defer d.Close()
	if st := e.status(); !st.Running || st.PID != os.Getpid() {
		t.Fatalf("status of a running daemon: running %v, pid %d", st.Running, st.PID)
	}
	o := e.opts
	o.GitHub = e.client()
	_, err := daemon.Open(o)
	var le *lockfile.HeldError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), fmt.Sprint(os.Getpid())) {
		t.Fatalf("second daemon: %v", err)
	}
}

func TestBadTokenStopsThePoll(t *testing.T) {
	e := newEnv(t)
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	o := e.opts
	c := e.client()
	o.GitHub = c
	d, err := daemon.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// With a wrong token every listing fails the same way: one error, no
	// run marked failed.
	e2 := newEnv(t)
	e2.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	o2 := e2.opts
	o2.GitHub = mustClient(t, e2.gh.URL(), "wrong", e2.clock)
	d2, err := daemon.Open(o2)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if _, err := d2.Poll(context.Background()); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("poll with a bad token: %v", err)
	}
}

func TestOnceSummaryAndStatus(t *testing.T) {
	e := newEnv(t)
	e.opts.Interval = time.Hour
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1, 2))
	d := e.open()
	sum, err := d.Run(context.Background())
	d.Close()
	if err != nil || sum.Parsed != 1 || sum.Dataset == nil || *sum.Dataset != 2 || sum.Model == "" || !sum.Published {
		t.Fatalf("once: %+v, %v", sum, err)
	}
	st := e.status()
	if !st.Initialized || st.Running || st.Polls != 1 || !st.NextPoll.IsZero() || st.LastPoll.IsZero() || len(st.Targets) != 1 ||
		st.Targets[0].Cursor.IsZero() || st.Dataset == nil || st.Dataset.Examples != 2 || st.Model == nil || st.Model.State != daemon.ModelDone ||
		st.Publication == nil || st.Publication.ModelURL == "" || st.Findings != 2 || st.Runs[daemon.StatePublished] != 1 {
		t.Fatalf("status %+v", st)
	}
}

func TestCancelDuringFineTuneResumesSameModel(t *testing.T) {
	e := newEnv(t)
	e.opts.Once = false
	e.pipe.blockFineTune = make(chan struct{})
	e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	d := e.open()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := d.Run(ctx); done <- err }()
	<-e.pipe.blockFineTune
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cancelled run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not stop within 10 s of its context")
	}
	d.Close()
	st := e.status()
	if st.Model == nil || st.Model.State != daemon.ModelTraining {
		t.Fatalf("model after cancel: %+v", st.Model)
	}
	name := st.Model.Name
	e.pipe.blockFineTune = nil
	e.clock.Advance(time.Hour)
	e.poll()
	if e.pipe.finetunes[1] != name || e.status().Model.State != daemon.ModelDone {
		t.Fatalf("resumed as %v, want %s", e.pipe.finetunes, name)
	}
}

func TestOneBadListingDoesNotStopTheOthers(t *testing.T) {
	e := newEnv(t)
	e.opts.Repos = []string{"acme/gone", "acme/app"}
	id := e.addRun(ghtest.RunSpec{}, report(t, "sqli", 1))
	sum := e.poll()
	if e.runStates()[id] != daemon.StatePublished || len(sum.Notes) == 0 || !strings.Contains(strings.Join(sum.Notes, " "), "acme/gone") {
		t.Fatalf("summary %+v, states %v", sum, e.runStates())
	}
}
