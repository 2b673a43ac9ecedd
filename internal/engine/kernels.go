package engine

import (
	"os"
	"runtime"
	"strings"
)

// CPUKernelsEnv names the variable that chooses the engine's exp-heavy CPU
// kernels: "mlx" keeps MLX's own; anything else lets vulntune decide.
const CPUKernelsEnv = "VULNTUNE_CPU_KERNELS"

// CPUKernels returns the environment that asks the training and evaluation
// scripts for vulntune's exp-heavy kernels (vulntune_engine/cpumath.py), or nil. MLX's
// CPU backend computes exp one scalar at a time on x86-64 (14 ns an
// element, against 0.3 ns for its adds), and attention softmax, SiLU and
// the vocabulary logsumexp made up most of a training step. The scripts
// apply the kernels only when MLX runs on the CPU, so the variable is
// harmless on a machine that trains on a GPU. A full-width SmolLM2 step
// (4 x 736 tokens) ran 35.5 -> 27.0 s with the same loss to six digits
// (bench/trainstep.sh, bench/RESULTS.md).
func CPUKernels(goarch string, getenv func(string) string) []string {
	if goarch != "amd64" || strings.TrimSpace(getenv(CPUKernelsEnv)) == "mlx" {
		return nil
	}
	return []string{CPUKernelsEnv + "=vulntune"}
}

func hostKernels() []string { return CPUKernels(runtime.GOARCH, os.Getenv) }
