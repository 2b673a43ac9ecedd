package engine

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestChooseBLAS(t *testing.T) {
	t.Parallel()
	// A venv with the engine's OpenBLAS, one without, and system libraries
	// as files in a temp dir.
	root := t.TempDir()
	withOwn := filepath.Join(root, "venv")
	own := filepath.Join(withOwn, "lib", "python3.11", "site-packages", "scipy_openblas32", "lib", "libopenblas_python.so")
	system := filepath.Join(root, "libblas.so.3")
	for _, f := range []string{own, system} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	without := filepath.Join(root, "bare")
	measured := filepath.Join(root, "measured")
	if err := os.MkdirAll(measured, 0o755); err != nil {
		t.Fatal(err)
	}
	// A venv whose setup measured the system's OpenBLAS clearly faster.
	if err := os.Symlink(filepath.Join(withOwn, "lib"), filepath.Join(measured, "lib")); err != nil {
		t.Fatal(err)
	}
	rec, _ := json.Marshal(BLASRecord{Chosen: BLASFromSystem, Libraries: map[string]string{BLASFromSystem: system},
		GFLOPS: map[string]float64{BLASFromEngine: 90, BLASFromSystem: 120}})
	if err := os.WriteFile(filepath.Join(measured, blasRecordName), rec, 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == BLASEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name, goos, env, venv, system string
		wantLib, wantSource           string
	}{
		{"macOS never preloads", "darwin", "/x/libblas.so", withOwn, system, "", ""},
		{"an explicit path wins", "linux", "/opt/blas/libblas.so.3", withOwn, system, "/opt/blas/libblas.so.3", BLASFromEnv},
		{"bundled opts out", "linux", "bundled", withOwn, system, "", BLASFromBundled},
		{"system on request", "linux", "system", withOwn, system, system, BLASFromSystem},
		{"engine on request", "linux", " engine ", withOwn, system, own, BLASFromEngine},
		{"engine requested but missing", "linux", "engine", without, system, "", BLASFromBundled},
		{"the engine's own before an unmeasured system one", "linux", "", withOwn, system, own, BLASFromEngine},
		{"the system's when measured clearly faster", "linux", "", measured, system, system, BLASFromSystem},
		{"a measured system library that is gone", "linux", "", measured, "", filepath.Join(measured, "lib", "python3.11", "site-packages", "scipy_openblas32", "lib", "libopenblas_python.so"), BLASFromEngine},
		{"the system's in a venv from before the pin", "linux", "", without, system, system, BLASFromSystem},
		{"nothing optimised anywhere", "linux", "", without, "", "", BLASFromBundled},
	}
	for _, tt := range tests {
		got := chooseBLAS(tt.goos, env(tt.env), tt.venv, tt.system)
		if got.Library != tt.wantLib || got.Source != tt.wantSource {
			t.Errorf("%s: got %q from %q (%s), want %q from %q", tt.name, got.Library, got.Source, got.Reason, tt.wantLib, tt.wantSource)
		}
		if got.Source != "" && got.Reason == "" {
			t.Errorf("%s: no reason given", tt.name)
		}
	}
}

func TestSameFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib := filepath.Join(dir, "libopenblasp-r0.3.21.so")
	link := filepath.Join(dir, "libblas.so.3")
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(lib, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		a, b string
		want bool
	}{
		{lib, link, true},
		{"", "", true},
		{lib, "", false},
		{lib, filepath.Join(dir, "other.so"), false},
	}
	for _, tt := range tests {
		if got := SameFile(tt.a, tt.b); got != tt.want {
			t.Errorf("SameFile(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
