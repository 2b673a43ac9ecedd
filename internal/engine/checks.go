package engine

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
)

// Check statuses.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is one line of a diagnosis: what was checked, how it stands, what
// was found and, when not ok, the command or setting that fixes it.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Diagnose asks the engine for its versions and device and judges what it
// runs on: the interpreter, mlx and mlx-lm, and on a Linux CPU the BLAS
// the child actually resolves (not only the one preloaded), the allocator
// tuning and, on x86-64, the CPU kernels. Info is nil when the engine did
// not answer.
func (e *Engine) Diagnose(ctx context.Context) (*Info, []Check) {
	info, err := e.Info(ctx)
	if err != nil {
		return nil, []Check{{Name: "engine", Status: CheckFail, Detail: err.Error(), Fix: "vulntune setup --force"}}
	}
	out := []Check{
		{Name: "engine", Status: CheckOK, Detail: fmt.Sprintf("Python %s at %s", info.Python, info.PythonExecutable)},
		{Name: "mlx", Status: CheckOK, Detail: fmt.Sprintf("mlx %s, %s backend on %s", info.MLX, info.Backend, info.Device)},
		{Name: "mlx-lm", Status: CheckOK, Detail: fmt.Sprintf("mlx-lm %s, huggingface_hub %s, transformers %s", info.MLXLM, info.HuggingfaceHub, info.Transformers)},
	}
	if info.Backend == BackendCPU && runtime.GOOS == "linux" {
		switch {
		case !e.BLAS.Optimised():
			out = append(out, Check{Name: "BLAS", Status: CheckWarn, Detail: "mlx[cpu] runs on its bundled reference BLAS (about 30x slower): " + e.BLAS.Reason, Fix: BLASHint})
		case !SameFile(info.BLASLibrary, e.BLAS.Library):
			out = append(out, Check{Name: "BLAS", Status: CheckFail, Fix: BLASHint,
				Detail: fmt.Sprintf("%s BLAS %s was preloaded, but the engine's matmuls resolve to %q", e.BLAS.Source, e.BLAS.Library, info.BLASLibrary)})
		default:
			out = append(out, Check{Name: "BLAS", Status: CheckOK, Detail: fmt.Sprintf("%s: %s (%s)", e.BLAS.Source, e.BLAS.Library, e.BLAS.Reason)})
		}
		if len(e.Malloc) > 0 {
			out = append(out, Check{Name: "allocator", Status: CheckOK, Detail: "glibc keeps freed memory mapped (" + strings.Join(e.Malloc, " ") + ")"})
		} else {
			out = append(out, Check{Name: "allocator", Status: CheckWarn, Detail: "glibc defaults: every large array is mapped and faulted in anew (training about 5% slower)",
				Fix: "unset " + MallocEnv + " to let the engine tune glibc's malloc"})
		}
	}
	if w, threads := e.workers(math.MaxInt, ""); w > 1 {
		out = append(out, Check{Name: "workers", Status: CheckOK, Detail: fmt.Sprintf("fine-tuning trains (data parallel), and evaluation and explain answer, in %d processes, %s OpenBLAS threads each, when memory holds a copy of the model for each (%s=1: one process)", w, threads, WorkersEnv)})
	}
	if e.workersProblem != "" {
		out = append(out, Check{Name: "workers", Status: CheckWarn, Detail: e.workersProblem, Fix: "set " + WorkersEnv + " to a number of at least 1, or unset it"})
	}
	if info.Backend == BackendCPU && runtime.GOARCH == "amd64" {
		if len(e.Kernels) > 0 {
			out = append(out, Check{Name: "cpu kernels", Status: CheckOK, Detail: "vulntune's exp, softmax and attention kernels replace MLX's scalar ones"})
		} else {
			out = append(out, Check{Name: "cpu kernels", Status: CheckWarn, Detail: "MLX's scalar exp: training and evaluation about a third slower",
				Fix: "unset " + CPUKernelsEnv + " to let the engine use its faster kernels"})
		}
	}
	return info, out
}

// DiskCheck judges the free space under dir (named name in the report)
// against what an install needs.
func DiskCheck(name, dir string) Check {
	free, err := DiskFree(dir)
	switch {
	case err != nil:
		return Check{Name: name, Status: CheckWarn, Detail: err.Error()}
	case free < MinFreeBytes:
		return Check{Name: name, Status: CheckWarn, Detail: fmt.Sprintf("%s: only %d MiB free", dir, free>>20), Fix: "free some space"}
	}
	return Check{Name: name, Status: CheckOK, Detail: fmt.Sprintf("%s: %.1f GiB free", dir, float64(free)/(1<<30))}
}
