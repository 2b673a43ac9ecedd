package engine

import (
	"os"
	"runtime"
	"strings"
)

// MallocEnv names the variable that turns the engine's malloc tuning off:
// "default" keeps glibc's own settings.
const MallocEnv = "VULNTUNE_MALLOC"

// glibcRetain keeps every freed block in one arena's heap, mapped: no mmap
// for large blocks (so no munmap on free), no trimming of the heap's top,
// one arena so the threads of MLX's CPU streams share that heap, and the
// heap grown 1 GiB at a time.
var glibcRetain = []string{
	"MALLOC_ARENA_MAX=1",
	"MALLOC_MMAP_MAX_=0",
	"MALLOC_TRIM_THRESHOLD_=107374182400",
	"MALLOC_TOP_PAD_=1073741824",
}

// MallocTuning returns the environment every engine child runs with on
// Linux, or nil. MLX's CPU backend allocates each array with malloc and
// frees it as soon as it is dead, with no buffer cache of its own (its cache
// stays at 0 bytes), and glibc serves blocks over 32 MiB with a fresh mmap
// that free unmaps again, so every training step faulted its logits,
// activations and gradients in anew, zero-filled by the kernel. Served from
// a heap that stays mapped, a full-width training step (4 x 736 tokens) ran
// 19% faster, and `make demo` 4% (kernel CPU time 889 -> 704 s, page faults
// 62 million -> 5.6 million), with a byte-identical adapter (bench/RESULTS.md).
// The price: a child keeps its peak memory until it exits (peak RSS 12.2 ->
// 12.9 GB in the demo).
func MallocTuning(goos string, getenv func(string) string) []string {
	if goos != "linux" || strings.TrimSpace(getenv(MallocEnv)) == "default" {
		return nil
	}
	return append([]string(nil), glibcRetain...)
}

func hostMalloc() []string { return MallocTuning(runtime.GOOS, os.Getenv) }
