package engine_test

import (
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine"
)

// testBudget is how long one engine test may run before its engine
// children are aborted. The slowest test takes under two minutes on a
// 2-core CPU with the bundled reference BLAS.
const testBudget = 10 * time.Minute

// watchEngine aborts this test binary's engine children when t runs past
// its budget (or to within a minute of go test's -timeout). The engine runs
// Python with faulthandler, so an aborted child prints every thread's
// traceback, and the engine call fails its own test with that traceback in
// the error's stderr tail. Without this a stuck child shows up only as go
// test's timeout panic, which names no child and shows none of its output.
func watchEngine(t *testing.T) {
	t.Helper()
	budget := testBudget
	if d, ok := t.Deadline(); ok {
		budget = min(budget, time.Until(d)-time.Minute)
	}
	stop := engine.AbortChildrenAfter(budget, func(pids []int) {
		t.Errorf("%s ran past its %v budget: aborted engine children %v for their Python tracebacks", t.Name(), budget.Round(time.Second), pids)
	})
	t.Cleanup(stop)
}
