package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/interrupt"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// mainEnv makes the test binary act as vulntune itself, so a test can send
// a real signal to a real process.
const mainEnv = "VULNTUNE_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) != "" {
		ctx, stop := interrupt.Context(context.Background())
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(golden.Main(m))
}

// stopGuard is how long a signalled vulntune may take before the test
// calls it hung. It guards against a hang, it does not measure: vulntune
// stops within 10 s (train's grace is 8 s), and the time taken is logged.
const stopGuard = 60 * time.Second

// TestSignalStopsAndResumes runs the main job on a few examples with the
// real engine and the bundled model, sends SIGTERM during fine-tuning and
// then SIGINT during evaluation, and checks each time that vulntune exits
// with the signal's code, records the interruption in run.json and keeps
// the phase to resume; the third run finishes the job.
func TestSignalStopsAndResumes(t *testing.T) {
	dataDir := os.Getenv("VULNTUNE_DATA_DIR")
	if dataDir == "" {
		t.Skip("no engine: run `make test` (it exports VULNTUNE_DATA_DIR after `make setup`)")
	}
	bases := os.Getenv("VULNTUNE_BASE_MODELS_DIR")
	if bases == "" {
		bases = filepath.Join(dataDir, "models", "base")
	}
	if _, err := os.Stat(filepath.Join(bases, "SmolLM2-135M-Instruct", "config.json")); err != nil {
		t.Skipf("no bundled base model under %s: run `make setup`", bases)
	}
	root := t.TempDir()
	runDir := filepath.Join(root, "run")
	env := append(os.Environ(), mainEnv+"=1",
		"VULNTUNE_DATA_DIR="+dataDir, "VULNTUNE_BASE_MODELS_DIR="+bases,
		"VULNTUNE_FINE_TUNED_MODELS_DIR="+filepath.Join(root, "models"),
		"VULNTUNE_FINE_TUNING_WORKSPACE_DIR="+filepath.Join(root, "workspace"))
	args := []string{"run", "--artifacts-dir", "../../examples/artifacts/osv-scanner", "--output-dir", runDir,
		"--max-steps", "2", "--max-seq-length", "768", "--train-eval-batches", "1",
		"--eval-limit", "2", "--eval-max-tokens", "8", "--no-eval-cache"}

	stops := []struct {
		phase string
		when  string // a line on stderr after which the signal goes
		sig   syscall.Signal
		code  int
	}{
		{pipeline.PhaseFinetune, "train 0/", syscall.SIGTERM, 143},
		{pipeline.PhaseEvaluate, "evaluate  running", syscall.SIGINT, 130},
	}
	for i, s := range stops {
		code, took, log := runUntil(t, env, args, s.when, s.sig)
		t.Logf("%v during %s: exit %d %s after the signal", s.sig, s.phase, code, took.Round(100*time.Millisecond))
		if code != s.code {
			t.Fatalf("%v during %s: exit %d, want %d\n%s", s.sig, s.phase, code, s.code, log)
		}
		m, err := pipeline.LoadManifest(runDir, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Interruptions) != i+1 || m.Interruptions[i].Phase != s.phase || m.Interruptions[i].Signal != interrupt.Name(s.sig) {
			t.Fatalf("run.json interruptions %+v, want %s in %s\n%s", m.Interruptions, interrupt.Name(s.sig), s.phase, log)
		}
		if p := m.Phases[s.phase]; p == nil || p.Status != pipeline.StatusRunning {
			t.Fatalf("phase %s left as %+v, want running (to resume)", s.phase, p)
		}
	}
	// The third run finishes what the second left: the interrupted
	// evaluation and the validation after it. A 2-step model need not pass
	// the quality gate (exit 3); it must get there.
	cmd := exec.Command(os.Args[0], append(args, "--json")...)
	cmd.Env = env
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != exitOK && code != exitGate {
		t.Fatalf("the resumed run failed: %v\n%s", err, out)
	}
	m, err := pipeline.LoadManifest(runDir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{pipeline.PhaseFinetune, pipeline.PhaseEvaluate, pipeline.PhaseValidate} {
		if p := m.Phases[name]; p == nil || p.Status == pipeline.StatusRunning {
			t.Errorf("after the resumed run, %s is %+v", name, p)
		}
	}
	if p := m.Phases[pipeline.PhaseEvaluate]; p == nil || p.Status != pipeline.StatusDone {
		t.Errorf("evaluation did not finish: %+v\n%s", p, out)
	}
}

// runUntil starts vulntune with args, sends sig once a stderr line
// contains when, and returns the exit code, the time from the signal to the
// exit, and stderr.
func runUntil(t *testing.T, env, args []string, when string, sig syscall.Signal) (int, time.Duration, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	var sent time.Time
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		fmt.Fprintln(&log, sc.Text())
		if sent.IsZero() && strings.Contains(sc.Text(), when) {
			sent = time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			guard := time.AfterFunc(stopGuard, func() { cmd.Process.Kill() })
			defer guard.Stop()
		}
	}
	_, _ = io.Copy(&log, stderr)
	err = cmd.Wait()
	if sent.IsZero() {
		t.Fatalf("never saw %q; the run ended with %v:\n%s", when, err, log.String())
	}
	took := time.Since(sent)
	if took >= stopGuard {
		t.Fatalf("still running %s after %v:\n%s", stopGuard, sig, log.String())
	}
	return cmd.ProcessState.ExitCode(), took, log.String()
}
