package engine

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A script's teardown that would never end (here an atexit handler that
// sleeps; in MLX 0.32, stream-thread cleanup at interpreter exit) must not
// keep the child alive once its result or error event is out: protocol's
// finish exits with run's code without tearing down.
func TestFinishSkipsTeardown(t *testing.T) {
	body := []byte(`
import atexit, time

atexit.register(time.sleep, 600)


def ok(req):
    return {"echo": req["x"]}


def fail(req):
    raise WorkerError("BadRequest", "no such thing")


if __name__ == "__main__":
    finish(serve({"ok": ok, "fail": fail}, "teardown.py"))
`)
	root, err := installPython(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	header := "import sys\nsys.path.insert(0, " + strconv.Quote(root) + ")\nfrom vulntune_engine.protocol import WorkerError, finish, serve\n"
	script := filepath.Join(t.TempDir(), "teardown.py")
	if err := os.WriteFile(script, append([]byte(header), body...), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		op, wantEvent string
		wantCode      int
	}{
		{"ok", `{"echo": 7, "event": "result"}`, 0},
		{"fail", `{"type": "BadRequest", "message": "no such thing", "event": "error"}`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var out bytes.Buffer
			start := time.Now()
			err := fakeLauncher(t).Run(ctx, Call{Op: "teardown", Args: []string{"-I", script, tt.op}, Stdin: strings.NewReader(`{"x": 7}`), Stdout: &out})
			code := 0
			var ee *EngineError
			if errors.As(err, &ee) {
				code = ee.Code
			} else if err != nil {
				t.Fatal(err)
			}
			if ctx.Err() != nil || time.Since(start) > 30*time.Second {
				t.Fatalf("child ran %v: teardown was not skipped", time.Since(start))
			}
			if code != tt.wantCode || strings.TrimSpace(out.String()) != tt.wantEvent {
				t.Errorf("exit %d, stdout %q; want exit %d, %q", code, out.String(), tt.wantCode, tt.wantEvent)
			}
		})
	}
}
