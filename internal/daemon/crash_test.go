package daemon_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

// callLog makes a fakePipeline in a child process leave a line per call in
// a file the parent reads.
type callLog struct {
	*fakePipeline
	path string
}

func (c callLog) note(s string) {
	f, err := os.OpenFile(c.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		fmt.Fprintln(f, s)
		f.Close()
	}
}

func (c callLog) BuildDataset(ctx context.Context, findings, out string) (daemon.DatasetInfo, error) {
	info, err := c.fakePipeline.BuildDataset(ctx, findings, out)
	c.note(fmt.Sprintf("dataset %d", info.Examples))
	return info, err
}

func (c callLog) FineTune(ctx context.Context, ds, name string) (daemon.ModelInfo, error) {
	c.note("finetune " + name)
	return c.fakePipeline.FineTune(ctx, ds, name)
}

// TestCrashChild is the daemon a kill -9 test runs in a child process: it
// polls once and kills itself with SIGKILL at the Nth committed state
// change. It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	if os.Getenv("VULNTUNE_DAEMON_CHILD") != "1" {
		t.Skip("run by TestKillAnywhereResumes")
	}
	crashAt, _ := strconv.Atoi(os.Getenv("CRASH_AT"))
	c, err := ghactions.New(ghactions.Options{APIURL: os.Getenv("GH_URL"), Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("STATE_DIR")
	o := daemon.Options{StateDir: dir, Repos: []string{"acme/app"}, Workflows: []string{"security.yml"}, FinetuneAfter: 1,
		Backfill: 100000 * time.Hour, MaxArtifactBytes: 1 << 20, GitHub: c, Once: true,
		Pipeline: callLog{&fakePipeline{}, filepath.Join(filepath.Dir(dir), "calls.log")}}
	n := 0
	daemon.SetHook(&o, func(event string) {
		n++
		if n == crashAt {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute)
		}
	})
	d, err := daemon.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestKillAnywhereResumes runs the daemon in a child process that kills
// itself (SIGKILL) right after its first committed state change, and
// restarts it until a child finds nothing left to do: the daemon is thus
// killed between every two state transitions of the whole job. Every run
// must reach its end exactly once, no file may be left half written, and
// no work may be committed twice.
func TestKillAnywhereResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	clock := ghtest.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	s := ghtest.New(t, ghtest.Options{Token: testToken, Clock: clock})
	add := func(z []byte) int64 {
		clock.Advance(10 * time.Minute)
		id := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: clock.Now()})
		if z != nil {
			s.AddArtifact(id, ghtest.ArtifactSpec{Name: "scan", Zip: z})
		}
		return id
	}
	runs := []int64{
		add(report(t, "sqli", 1, 2)),
		add(zipOf(t, entry{name: "../evil.sarif", data: sarif("x", 1)})),
		add(report(t, "sqli", 2)), // nothing new
		add(report(t, "xss", 5)),
	}
	work := t.TempDir()
	dir := filepath.Join(work, "state")
	crashes := 0
	for n := 1; ; n++ {
		if n > 100 {
			t.Fatal("the daemon never finished")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "VULNTUNE_DAEMON_CHILD=1", "CRASH_AT=1", "GH_URL="+s.URL(), "STATE_DIR="+dir)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			crashes++
			checkNothingHalfWritten(t, dir)
			continue
		}
		if err != nil {
			t.Fatalf("child %d: %v\n%s", n, err, out)
		}
		break
	}
	t.Logf("killed %d times", crashes)
	if crashes < 10 {
		t.Fatalf("only %d crash points: the hook is not called at every state change", crashes)
	}
	e := &env{t: t, opts: daemon.Options{StateDir: dir}}
	want := map[int64]string{runs[0]: daemon.StatePublished, runs[1]: daemon.StateSkipped, runs[2]: daemon.StateSkipped, runs[3]: daemon.StatePublished}
	if got := e.runStates(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after %d kills: %v, want %v", crashes, got, want)
	}
	seen := map[string]int{}
	e.query(`SELECT run_id, to_state FROM transitions`, func(r *sql.Rows) error {
		var id int64
		var to string
		err := r.Scan(&id, &to)
		seen[fmt.Sprint(id, " ", to)]++
		return err
	})
	for k, n := range seen {
		if n != 1 {
			t.Errorf("run %s committed %d times", k, n)
		}
	}
	var findings, models int
	e.query(`SELECT (SELECT count(*) FROM findings), (SELECT count(*) FROM models)`, func(r *sql.Rows) error {
		return r.Scan(&findings, &models)
	})
	if findings != 3 || models != 1 {
		t.Fatalf("%d findings, %d models; want 3 and 1", findings, models)
	}
	calls, _ := os.ReadFile(filepath.Join(work, "calls.log"))
	if strings.Count(string(calls), "finetune ") > 2 {
		t.Errorf("fine-tuned more than once besides the one a kill interrupted:\n%s", calls)
	}
}

// checkNothingHalfWritten: whatever a kill left, the files a reader sees
// are whole; only hidden temporary files may be partial.
func checkNothingHalfWritten(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, daemon.FindingsFile)); err == nil {
		readLines(t, filepath.Join(dir, daemon.FindingsFile))
	}
	if _, err := os.Stat(filepath.Join(dir, daemon.DatasetDir)); err == nil {
		readLines(t, filepath.Join(dir, daemon.DatasetDir, "train.jsonl"))
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		n := e.Name()
		switch {
		case n == daemon.FindingsFile, n == daemon.DatasetDir, n == daemon.LockFile, n == "tmp", strings.HasPrefix(n, daemon.StateFile), strings.HasPrefix(n, "."):
		default:
			t.Errorf("unexpected visible file %s after a kill", n)
		}
	}
}
