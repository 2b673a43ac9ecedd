package daemon_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions"
)

func TestTailFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "daemon.log")
	var all []string
	for i := range 100000 {
		all = append(all, strings.Repeat("x", i%50)+"|"+string(rune('a'+i%26)))
	}
	os.WriteFile(p, []byte(strings.Join(all, "\n")+"\n"), 0o644)
	for _, n := range []int{0, 1, 3, 5000} {
		var b bytes.Buffer
		if err := daemon.TailFile(context.Background(), p, n, false, &b, ghactions.SystemClock{}); err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if n == 0 {
			got = nil
		}
		if want := all[len(all)-n:]; !slices.Equal(got, want) {
			t.Fatalf("n=%d: got %d lines, want %d", n, len(got), len(want))
		}
	}
	sf, _ := daemon.Service(daemon.ServiceOptions{GOOS: "linux", Binary: "/x", Home: "/h"})
	if got := strings.Join(daemon.LogsCommand(sf, 20, true), " "); got != "journalctl --user --unit vulntune-daemon.service --lines 20 --no-pager --follow" {
		t.Fatal(got)
	}
}
