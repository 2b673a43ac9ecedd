package engine

import (
	"os"
	"runtime"
	"strings"
)

// BLASEnv names the variable that overrides BLAS selection on Linux: a path
// to a BLAS shared library to preload, or "bundled" to keep the one the mlx
// wheel ships.
const BLASEnv = "VULNTUNE_BLAS"

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

// SystemBLAS returns the optimised BLAS library the engine preloads on
// Linux, or "" to use the wheel's own. The mlx[cpu] wheel for Linux bundles
// the reference (netlib) BLAS: measured here, a 1024² float32 matmul runs at
// about 6 GFLOPS with it and about 190 GFLOPS with OpenBLAS preloaded, which
// is the difference between training in minutes and in hours. Preloading
// lets the wheel's libmlx resolve its BLAS symbols to OpenBLAS without
// modifying the hash-checked installed files.
func SystemBLAS(goos string, getenv func(string) string) string {
	if goos != "linux" {
		return "" // macOS uses Accelerate through Metal builds of mlx
	}
	switch v := strings.TrimSpace(getenv(BLASEnv)); {
	case v == "bundled":
		return ""
	case v != "":
		return v
	}
	for _, p := range systemBLASCandidates {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// BLASHint is the way forward when no optimised BLAS was found on Linux.
const BLASHint = "install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread; Fedora: dnf install openblas) " +
	"or set " + BLASEnv + " to an optimised libblas.so: the BLAS bundled with mlx[cpu] is about 30x slower"

func hostBLAS() string { return SystemBLAS(runtime.GOOS, os.Getenv) }
