// Command daemonbench measures `vulntune daemon` against the GitHub
// stand-in (internal/ghactions/ghtest) on this machine, in two parts:
//
//  1. backlog: -runs completed runs, each with one small artifact (a SARIF
//     report of three findings), processed by `daemon run --once` to the
//     dataset (fine-tuning and publishing off): wall time, CPU time and
//     peak RSS of the daemon process;
//
//  2. idle: a fresh `daemon run --interval -interval` over the same state,
//     left polling for -cycles cycles with nothing new: HTTP requests per
//     cycle, CPU time per cycle and resident memory (Linux /proc).
//
//     go build -o bin/vulntune ./cmd/vulntune
//     go run ./bench/daemonbench -vulntune bin/vulntune
//
// bench/daemon.sh does both steps.
package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

const token = "ghs_benchToken0123456789"

// reporter lets the stand-in run outside go test: contract violations are
// printed and fail the benchmark.
type reporter struct {
	failed   bool
	cleanups []func()
}

func (r *reporter) Helper() {}
func (r *reporter) Errorf(f string, a ...any) {
	r.failed = true
	fmt.Fprintf(os.Stderr, "stand-in: "+f+"\n", a...)
}
func (r *reporter) Fatalf(f string, a ...any) { r.Errorf(f, a...); r.close(); os.Exit(1) }
func (r *reporter) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *reporter) close() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func main() {
	bin := flag.String("vulntune", "bin/vulntune", "vulntune binary")
	runs := flag.Int("runs", 100, "runs in the backlog")
	cycles := flag.Int("cycles", 30, "idle polls to measure")
	interval := flag.Duration("interval", time.Second, "poll interval while idle")
	flag.Parse()
	r := &reporter{}
	err := bench(r, *bin, *runs, *cycles, *interval)
	r.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemonbench:", err)
		os.Exit(1)
	}
	if r.failed {
		os.Exit(1)
	}
}

func bench(r *reporter, bin string, runs, cycles int, interval time.Duration) error {
	s := ghtest.New(r, ghtest.Options{Token: token, Clock: ghtest.NewClock(time.Now())})
	start := time.Now().Add(-time.Duration(runs+10) * time.Minute)
	for i := range runs {
		id := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Created: start.Add(time.Duration(i) * time.Minute)})
		s.AddArtifact(id, ghtest.ArtifactSpec{Name: "semgrep-sarif", Zip: artifact(i)})
	}
	work, err := os.MkdirTemp("", "daemonbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	env := []string{"HOME=" + work, "XDG_CONFIG_HOME=" + filepath.Join(work, "config"), "PATH=" + os.Getenv("PATH"),
		"VULNTUNE_DATA_DIR=" + filepath.Join(work, "data"), "VULNTUNE_GITHUB_API_URL=" + s.URL(), "GH_TOKEN=" + token,
		"VULNTUNE_FINE_TUNING_SKIP_IN_DAEMON=true", "VULNTUNE_FINE_TUNING_HUGGINGFACE_SKIP_IN_DAEMON=true",
		"VULNTUNE_DATASET_MAX_PER_RULE=0"}
	stateDir := filepath.Join(work, "data", "daemon")

	// 1. The backlog.
	cmd := exec.Command(bin, "daemon", "run", "--once", "--json", "--repo", "acme/app", "--workflow", "security.yml")
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("backlog: %v\n%s", err, errb.String())
	}
	wall := time.Since(t0)
	var sum daemon.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		return fmt.Errorf("backlog summary: %v\n%s", err, out.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	examples := 0
	if sum.Dataset != nil {
		examples = *sum.Dataset
	}
	fmt.Printf("backlog: %d runs (%d parsed, %d failed), %d findings -> %d examples, %d requests\n",
		sum.Processed, sum.Parsed, sum.Failed, sum.NewFindings, examples, sum.Requests)
	fmt.Printf("backlog: wall %.2f s, CPU %.2f s, peak RSS %.1f MiB\n", wall.Seconds(), cpu.Seconds(), float64(ru.Maxrss)/1024)
	var runsMS, datasetMS float64
	for _, line := range strings.Split(errb.String(), "\n") {
		var rec struct {
			Msg        string  `json:"msg"`
			DurationMS float64 `json:"duration_ms"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil {
			switch rec.Msg {
			case "run processed":
				runsMS += rec.DurationMS
			case "dataset built":
				datasetMS += rec.DurationMS
			}
		}
	}
	fmt.Printf("backlog: of which runs (list, download, parse, store) %.2f s, dataset build %.2f s (from the daemon's log)\n", runsMS/1000, datasetMS/1000)
	if sum.Processed != runs || sum.Failed != 0 {
		return fmt.Errorf("backlog: %d of %d runs processed, %d failed", sum.Processed, runs, sum.Failed)
	}

	// 2. Idle polling over the same state.
	cmd = exec.Command(bin, "daemon", "run", "--repo", "acme/app", "--workflow", "security.yml", "--interval", interval.String())
	cmd.Env = env
	errb.Reset()
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	polls := func() int {
		st, err := daemon.ReadStatus(stateDir)
		if err != nil {
			return 0
		}
		return st.Polls
	}
	wait := func(n int) error {
		deadline := time.Now().Add(time.Duration(n+5)*interval + 30*time.Second)
		for polls() < n {
			if time.Now().After(deadline) {
				return fmt.Errorf("idle: poll %d not reached: %s", n, errb.String())
			}
			time.Sleep(interval / 20)
		}
		return nil
	}
	base := polls()
	if err := wait(base + 2); err != nil { // past start-up and the first poll
		return err
	}
	p0, c0, reqs0 := polls(), procCPU(cmd.Process.Pid), len(s.Requests())
	if err := wait(p0 + cycles); err != nil {
		return err
	}
	p1, c1, reqs := polls(), procCPU(cmd.Process.Pid), s.Requests()
	n := p1 - p0
	var notModified int
	for _, q := range reqs[reqs0:] {
		if q.Status == 304 {
			notModified++
		}
	}
	rss, hwm := procMem(cmd.Process.Pid, "VmRSS"), procMem(cmd.Process.Pid, "VmHWM")
	fmt.Printf("idle: %d polls, %d requests (%d answered 304): %.2f requests per poll\n", n, len(reqs)-reqs0, notModified, float64(len(reqs)-reqs0)/float64(n))
	fmt.Printf("idle: CPU %.2f ms per poll (%v over %d polls, %s apart; includes the runtime's idle work)\n",
		float64((c1-c0).Microseconds())/1000/float64(n), c1-c0, n, interval)
	fmt.Printf("idle: RSS %.1f MiB (peak %.1f MiB since start)\n", float64(rss)/1024, float64(hwm)/1024)
	t1 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	err = cmd.Wait()
	fmt.Printf("stop: exited %v after SIGTERM in %.0f ms\n", exitText(err), float64(time.Since(t1).Microseconds())/1000)
	return nil
}

func exitText(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}

// artifact is run i's artifact: a SARIF report of three findings that no
// other run has.
func artifact(i int) []byte {
	var results []any
	for l := range 3 {
		results = append(results, map[string]any{"ruleId": fmt.Sprintf("rule-%d", i%20), "level": "warning",
			"message": map[string]any{"text": "user input reaches a SQL query"},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": fmt.Sprintf("src/module%d/db.py", i)},
				"region":           map[string]any{"startLine": 10 + l}}}}})
	}
	doc := map[string]any{"version": "2.1.0", "runs": []any{map[string]any{
		"tool": map[string]any{"driver": map[string]any{"name": "Semgrep OSS", "version": "1.50.0",
			"rules": []any{map[string]any{"id": fmt.Sprintf("rule-%d", i%20), "shortDescription": map[string]any{"text": "SQL injection"},
				"properties": map[string]any{"tags": []any{"CWE-89: SQL Injection"}}}}}},
		"results": results}}}
	report, _ := json.Marshal(doc)
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("semgrep/results.sarif")
	w.Write(report)
	zw.Close()
	return b.Bytes()
}

// procCPU is a process's user+system CPU time from /proc (Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// procMem reads a kB field of /proc/PID/status (Linux).
func procMem(pid int, field string) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
