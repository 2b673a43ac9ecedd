package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// BLASEnv names the variable that overrides BLAS selection on Linux: a path
// to a BLAS shared library to preload, "engine" or "system" for that
// candidate, or "bundled" to keep the reference BLAS the mlx wheel ships.
const BLASEnv = "VULNTUNE_BLAS"

// Where the BLAS the engine's children use comes from.
const (
	BLASFromEnv     = "env"     // VULNTUNE_BLAS names a library
	BLASFromEngine  = "engine"  // scipy-openblas32, pinned in the engine lock
	BLASFromSystem  = "system"  // a distribution's OpenBLAS
	BLASFromBundled = "bundled" // the reference BLAS inside the mlx[cpu] wheel
)

// engineBLASGlob is the OpenBLAS that the linux-cpu lock installs into the
// venv. scipy-openblas32 0.3.23.293.2 is the last release whose library
// exports the standard CBLAS and LAPACK names (cblas_sgemm, sgetrf_): from
// 0.3.24.95 every symbol carries a scipy_ prefix (numpy#25151), which libmlx
// cannot resolve without a compiled forwarding shim, and a compiler is not
// something a user's machine can be assumed to have. The 32 wheel is LP64,
// the integer width libmlx's calls use. Measured here it runs a 2048²
// float32 matmul as fast as Debian's OpenBLAS 0.3.21 (bench/RESULTS.md).
const engineBLASGlob = "lib/python3*/site-packages/scipy_openblas32/lib/libopenblas_python.so"

// systemBLASCandidates are where Linux distributions put an optimised BLAS
// that exports the standard (unprefixed) BLAS and CBLAS symbols.
var systemBLASCandidates = []string{
	"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
	"/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3",
	"/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
	"/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
	"/usr/lib64/libopenblas.so.0",
	"/usr/lib64/libopenblasp.so.0",
	"/usr/lib/libopenblas.so.0",
}

// BLAS is the library the engine's children resolve their BLAS symbols to
// on Linux, and why. The mlx[cpu] wheel for Linux links the reference
// (netlib) BLAS: a 2048² float32 matmul runs at about 3 GFLOPS with it and
// over 100 with OpenBLAS preloaded, the difference between training in
// minutes and in hours. Preloading lets the wheel's libmlx resolve its BLAS
// symbols to OpenBLAS without modifying the hash-checked installed files.
type BLAS struct {
	// Library is preloaded into every child (LD_PRELOAD); "" keeps the
	// wheel's bundled reference BLAS.
	Library string `json:"library"`
	// Source is one of the BLASFrom constants; "" where no BLAS is
	// preloaded by design (macOS, whose mlx uses Accelerate).
	Source string `json:"source"`
	// Reason says why this library was chosen, for doctor.
	Reason string `json:"reason"`
}

// Optimised reports whether the engine runs on an optimised BLAS.
func (b BLAS) Optimised() bool { return b.Source != BLASFromBundled }

// BLASRecord is what setup measured, kept in the venv beside the stamp, so
// the choice between the engine's and the system's OpenBLAS is made once
// and the same on every call.
type BLASRecord struct {
	// GFLOPS by source (engine, system, bundled): a float32 matmul's rate
	// as the engine's children see it.
	GFLOPS map[string]float64 `json:"gflops"`
	// Libraries by source, as measured.
	Libraries  map[string]string `json:"libraries"`
	Chosen     string            `json:"chosen"`
	MeasuredAt string            `json:"measured_at"`
}

const blasRecordName = "vulntune-blas.json"

// systemWinsBy is how much faster a system OpenBLAS must measure than the
// engine's before it is preferred: matmul timings here vary by about 10 %
// between runs, and the pinned library is the one every other install of
// this lock uses, so a tie goes to it.
const systemWinsBy = 1.15

// ChooseBLAS picks the BLAS for the engine in venv: VULNTUNE_BLAS first;
// then the system's OpenBLAS if setup measured it clearly faster; then the
// engine's pinned OpenBLAS; then a system one nobody measured; else the
// wheel's reference BLAS.
func ChooseBLAS(goos string, getenv func(string) string, venv string) BLAS {
	return chooseBLAS(goos, getenv, venv, systemBLAS())
}

// chooseBLAS is ChooseBLAS with the system's OpenBLAS given ("" for none).
func chooseBLAS(goos string, getenv func(string) string, venv, systemLib string) BLAS {
	if goos != "linux" {
		return BLAS{} // macOS uses Accelerate through Metal builds of mlx
	}
	engineLib := engineBLAS(venv)
	switch v := strings.TrimSpace(getenv(BLASEnv)); v {
	case "":
	case BLASFromBundled:
		return BLAS{Source: BLASFromBundled, Reason: BLASEnv + "=bundled"}
	case BLASFromEngine:
		if engineLib != "" {
			return BLAS{Library: engineLib, Source: BLASFromEngine, Reason: BLASEnv + "=engine"}
		}
		return BLAS{Source: BLASFromBundled, Reason: BLASEnv + "=engine, but the engine has no OpenBLAS (run `vulntune setup`)"}
	case BLASFromSystem:
		if systemLib != "" {
			return BLAS{Library: systemLib, Source: BLASFromSystem, Reason: BLASEnv + "=system"}
		}
		return BLAS{Source: BLASFromBundled, Reason: BLASEnv + "=system, but no system OpenBLAS was found"}
	default:
		return BLAS{Library: v, Source: BLASFromEnv, Reason: BLASEnv + " names it"}
	}
	rec, _ := ReadBLASRecord(venv)
	if rec != nil && rec.Chosen == BLASFromSystem && systemLib != "" && rec.Libraries[BLASFromSystem] == systemLib {
		return BLAS{Library: systemLib, Source: BLASFromSystem, Reason: "measured faster than the engine's at setup: " + rec.rates()}
	}
	if engineLib != "" {
		reason := "scipy-openblas32 (OpenBLAS 0.3.23), pinned in the engine lock"
		if rec != nil {
			reason += "; measured at setup: " + rec.rates()
		}
		return BLAS{Library: engineLib, Source: BLASFromEngine, Reason: reason}
	}
	if systemLib != "" {
		return BLAS{Library: systemLib, Source: BLASFromSystem, Reason: "the engine has no OpenBLAS of its own (installed before vulntune pinned one)"}
	}
	return BLAS{Source: BLASFromBundled, Reason: "no optimised BLAS in the engine or on the system"}
}

// BLASHint is the way forward when the engine runs on the reference BLAS.
const BLASHint = "run `vulntune setup --force` to install the engine's own OpenBLAS (no root needed), " +
	"or set " + BLASEnv + " to an optimised libblas.so: the BLAS bundled with mlx[cpu] is about 30x slower"

func (r *BLASRecord) rates() string {
	var parts []string
	for _, s := range []string{BLASFromEngine, BLASFromSystem, BLASFromBundled} {
		if g, ok := r.GFLOPS[s]; ok {
			parts = append(parts, fmt.Sprintf("%s %.0f GFLOPS", s, g))
		}
	}
	return strings.Join(parts, ", ")
}

func engineBLAS(venv string) string {
	if venv == "" {
		return ""
	}
	m, _ := filepath.Glob(filepath.Join(venv, engineBLASGlob))
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

func systemBLAS() string {
	for _, p := range systemBLASCandidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// ReadBLASRecord reads what setup measured for the venv, or nil when it
// measured nothing.
func ReadBLASRecord(venv string) (*BLASRecord, error) {
	b, err := os.ReadFile(filepath.Join(venv, blasRecordName))
	if err != nil {
		return nil, err
	}
	var r BLASRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", blasRecordName, err)
	}
	return &r, nil
}

// BLASRate is one matmul measurement.
type BLASRate struct {
	GFLOPS float64 `json:"gflops"`
	// Library is the file that provides cblas_sgemm inside the child, ""
	// when it is the wheel's own: proof of what was preloaded, not a
	// restatement of what was asked for.
	Library string `json:"library"`
}

// blasProbe sizes the setup measurement: a 1024² float32 matmul takes about
// 20 ms on OpenBLAS with 2 cores and 0.7 s on the reference BLAS, so five
// repeats keep setup's cost to a few seconds a candidate.
var blasProbe = struct {
	N       int `json:"n"`
	Repeats int `json:"repeats"`
}{N: 1024, Repeats: 5}

// MeasureBLAS times a float32 matmul in a child with lib preloaded ("" for
// the wheel's own BLAS).
func (e *Engine) MeasureBLAS(ctx context.Context, lib string) (*BLASRate, error) {
	probe := *e
	probe.Preload = lib
	var out BLASRate
	if err := probe.runWorker(ctx, "blas", blasProbe, "", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// measureBLAS runs at the end of setup on Linux CPU installs: it times the
// engine's OpenBLAS, the system's when there is one, and the reference
// BLAS, and records which the engine will use. A failed measurement is not
// a failed install: without a record, ChooseBLAS prefers the engine's own.
func measureBLAS(ctx context.Context, e *Engine, venv string) (*BLASRecord, error) {
	rec := &BLASRecord{GFLOPS: map[string]float64{}, Libraries: map[string]string{},
		MeasuredAt: time.Now().UTC().Format(time.RFC3339)}
	for _, c := range []struct{ source, lib string }{
		{BLASFromEngine, engineBLAS(venv)},
		{BLASFromSystem, systemBLAS()},
		{BLASFromBundled, ""},
	} {
		if c.lib == "" && c.source != BLASFromBundled {
			continue
		}
		r, err := e.MeasureBLAS(ctx, c.lib)
		if err != nil {
			return nil, fmt.Errorf("measure %s BLAS: %w", c.source, err)
		}
		if !SameFile(r.Library, c.lib) {
			// The preload did not take: the child's matmuls ran elsewhere.
			return nil, fmt.Errorf("measure %s BLAS: preloaded %s, but cblas_sgemm came from %q", c.source, c.lib, r.Library)
		}
		rec.GFLOPS[c.source], rec.Libraries[c.source] = r.GFLOPS, c.lib
	}
	rec.Chosen = BLASFromEngine
	eng, hasEngine := rec.GFLOPS[BLASFromEngine]
	sys, hasSystem := rec.GFLOPS[BLASFromSystem]
	switch {
	case hasSystem && (!hasEngine || sys >= systemWinsBy*eng):
		rec.Chosen = BLASFromSystem
	case !hasEngine:
		rec.Chosen = BLASFromBundled
	}
	b, _ := json.MarshalIndent(rec, "", "  ")
	return rec, atomicfile.WriteFile(filepath.Join(venv, blasRecordName), append(b, '\n'), 0o644)
}

// SameFile reports whether two library paths name one file (a system
// libblas.so.3 is a link to the versioned library a child reports); two
// empty paths are the same (the wheel's bundled BLAS).
func SameFile(a, b string) bool {
	if a == "" || b == "" {
		return a == b
	}
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

func hostBLAS(venv string) BLAS { return ChooseBLAS(runtime.GOOS, os.Getenv, venv) }
