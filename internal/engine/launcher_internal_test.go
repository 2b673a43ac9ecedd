package engine

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func systemPython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("lifecycle tests need python3 on PATH")
	}
	return py
}

func fakeLauncher(t *testing.T) *Launcher {
	return &Launcher{Python: systemPython(t), LogDir: t.TempDir(), Grace: 500 * time.Millisecond}
}

func fakeCall(mode string) Call {
	script, _ := filepath.Abs(filepath.Join("testdata", "fake_worker.py"))
	return Call{Op: "fake-" + mode, Args: []string{script, mode}}
}

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// A zombie has exited; it only waits for its parent to reap it.
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestCancelKillsWholeGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	for _, mode := range []string{"spawn", "stubborn", "holder"} {
		t.Run(mode, func(t *testing.T) {
			l := fakeLauncher(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := l.Start(ctx, fakeCall(mode))
			if err != nil {
				t.Fatal(err)
			}
			var ev struct{ Pid, Child int }
			if err := json.NewDecoder(p.Stdout).Decode(&ev); err != nil {
				t.Fatalf("read first event: %v", err)
			}
			pids := []int{ev.Pid}
			if ev.Child != 0 {
				pids = append(pids, ev.Child)
			}
			for _, pid := range pids {
				if !alive(pid) {
					t.Fatalf("pid %d not running before cancel", pid)
				}
			}
			start := time.Now()
			cancel()
			// Read to EOF first, as runScript does: a child that leaves a
			// process holding its stdout must not make this wait forever.
			_, _ = io.Copy(io.Discard, p.Stdout)
			err = p.Wait()
			var ee *EngineError
			if !errors.As(err, &ee) || !errors.Is(err, context.Canceled) {
				t.Fatalf("Wait() = %v, want *EngineError wrapping context.Canceled", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("stop took %v, want about the grace period", d)
			}
			deadline := time.Now().Add(2 * time.Second)
			for _, pid := range pids {
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("pid %d survived cancellation", pid)
				}
			}
		})
	}
}

func TestCrashReportsStderrTail(t *testing.T) {
	l := fakeLauncher(t)
	err := l.Run(context.Background(), fakeCall("crash"))
	var ee *EngineError
	if !errors.As(err, &ee) {
		t.Fatalf("Run() = %v, want *EngineError", err)
	}
	if ee.Code != 3 {
		t.Errorf("Code = %d, want 3", ee.Code)
	}
	if !strings.Contains(ee.StderrTail, "ValueError: bad weights") {
		t.Errorf("StderrTail = %q, want the traceback's last line", ee.StderrTail)
	}
	log, rerr := os.ReadFile(ee.LogPath)
	if rerr != nil || !strings.Contains(string(log), "loading model") {
		t.Errorf("log %s = %q, %v; want the full stderr", ee.LogPath, log, rerr)
	}
	if !strings.Contains(err.Error(), "exit 3") || !strings.Contains(ee.Hint(), ee.LogPath) {
		t.Errorf("message %q / hint %q should carry the code and the log path", err, ee.Hint())
	}
}

func TestChildEnvAllowList(t *testing.T) {
	t.Setenv("HF_TOKEN", "hf_secret")
	t.Setenv("GITHUB_TOKEN", "gh_secret")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws")
	t.Setenv("HF_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("PIP_INDEX_URL", "http://mirror")
	tests := []struct {
		name    string
		call    Call
		want    map[string]string
		wantOut []string
	}{
		{"default", Call{}, map[string]string{"HF_ENDPOINT": "http://127.0.0.1:1", "PYTHONNOUSERSITE": "1"},
			[]string{"HF_TOKEN", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "PIP_INDEX_URL"}},
		{"hub call opts in", Call{HFToken: "hf_given"}, map[string]string{"HF_TOKEN": "hf_given"},
			[]string{"GITHUB_TOKEN"}},
		{"pip prefix", Call{PassPrefixes: []string{"PIP_"}}, map[string]string{"PIP_INDEX_URL": "http://mirror"},
			[]string{"HF_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, kv := range childEnv(os.Environ(), tt.call) {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			for _, k := range tt.wantOut {
				if _, ok := got[k]; ok {
					t.Errorf("%s leaked into the child environment", k)
				}
			}
		})
	}
}

// The allocator tuning and the kernel choice reach the interpreter's
// children, and only them: a Program call (the base python creating the
// venv) runs as the user set it.
func TestLauncherMallocEnv(t *testing.T) {
	py := systemPython(t)
	l := &Launcher{Python: py, LogDir: t.TempDir(), Malloc: []string{"MALLOC_ARENA_MAX=1"}, Kernels: []string{CPUKernelsEnv + "=1"}}
	for _, tt := range []struct {
		name    string
		program string
		want    string
	}{
		{"interpreter", "", "1"},
		{"program", py, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeCall("env")
			c.Program = tt.program
			p, err := l.Start(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			res, _, derr := decodeEvents(p.Stdout, nil)
			if err := errors.Join(derr, p.Wait()); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Env map[string]string `json:"env"`
			}
			if err := json.Unmarshal(res, &got); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"MALLOC_ARENA_MAX", CPUKernelsEnv} {
				if got.Env[k] != tt.want {
					t.Errorf("%s = %q, want %q", k, got.Env[k], tt.want)
				}
			}
		})
	}
}

func TestWorkerProtocol(t *testing.T) {
	py := systemPython(t)
	tests := []struct {
		name    string
		mode    string
		wantErr string
	}{
		{"result", "env", ""},
		{"not json", "garbage", "worker protocol"},
		{"crash", "crash", "exit 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Launcher{Python: py, LogDir: t.TempDir()}
			c := fakeCall(tt.mode)
			p, err := l.Start(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			res, _, derr := decodeEvents(p.Stdout, nil)
			werr := p.Wait()
			err = errors.Join(derr, werr)
			if tt.wantErr == "" {
				if err != nil || res == nil {
					t.Fatalf("got result %s, err %v", res, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

// The installed package is checked before every use: a tampered module or
// a missing one is replaced, the package staying whole.
func TestInstallPythonRepairsTamperedFile(t *testing.T) {
	dir := t.TempDir()
	root, err := installPython(dir)
	if err != nil {
		t.Fatal(err)
	}
	worker := filepath.Join(root, "vulntune_engine", "worker.py")
	want, _ := os.ReadFile(worker)
	if err := os.WriteFile(worker, []byte("import os; os.system('evil')"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "run.py")); err != nil {
		t.Fatal(err)
	}
	again, err := installPython(dir)
	if err != nil || again != root {
		t.Fatalf("reinstall: %q, %v", again, err)
	}
	if b, _ := os.ReadFile(worker); string(b) != string(want) {
		t.Error("tampered module was not rewritten")
	}
	if _, err := os.Stat(filepath.Join(root, "run.py")); err != nil {
		t.Error("missing run.py was not restored")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".py-staging-*")); len(leftovers) > 0 {
		t.Errorf("staging left behind: %v", leftovers)
	}
}

// TestInstallPythonConcurrent: engines started at the same moment in the
// same data directory (the daemon's publisher and its trainer) all get
// the package; the one that renames its copy second uses the first's
// instead of failing with "file exists" (seen in TestDaemon* runs).
func TestInstallPythonConcurrent(t *testing.T) {
	t.Parallel()
	for round := range 5 {
		dir := filepath.Join(t.TempDir(), "worker")
		const n = 8
		roots, errs := make([]string, n), make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				roots[i], errs[i] = installPython(dir)
			}()
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil || roots[i] != roots[0] || !installedIntact(roots[i]) {
				t.Fatalf("round %d, install %d: %q, %v", round, i, roots[i], errs[i])
			}
		}
		if leftovers, _ := filepath.Glob(filepath.Join(dir, ".py-staging-*")); len(leftovers) > 0 {
			t.Errorf("staging left behind: %v", leftovers)
		}
	}
}
