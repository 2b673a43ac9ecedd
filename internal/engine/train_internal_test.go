package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func TestRunRanks(t *testing.T) {
	boom := errors.New("rank 1 failed")
	tests := []struct {
		name   string
		cancel bool // the caller's context is cancelled while the ranks run
		rank   func(ctx context.Context, r int) error
		want   error
	}{
		{"all succeed", false, func(context.Context, int) error { return nil }, nil},
		{
			// Rank 0 waits in the step's sum for rank 1, which has failed:
			// only the cancellation frees it, and rank 1's error is the cause.
			"first failure cancels the others", false,
			func(ctx context.Context, r int) error {
				if r == 1 {
					return boom
				}
				<-ctx.Done()
				return ctx.Err()
			}, boom,
		},
		{
			// A signal to vulntune: every rank stops; rank 0's error says
			// where its checkpoint is.
			"a cancelled run returns rank 0's error", true,
			func(ctx context.Context, r int) error {
				<-ctx.Done()
				if r == 0 {
					time.Sleep(20 * time.Millisecond) // rank 1 fails first
					return errLeader
				}
				return ctx.Err()
			}, errLeader,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(10*time.Millisecond, cancel)
			}
			if got := runRanks(ctx, 2, tt.rank); !errors.Is(got, tt.want) {
				t.Errorf("runRanks: %v, want %v", got, tt.want)
			}
		})
	}
}

var errLeader = errors.New("stopped by SIGTERM after step 3; checkpoint saved")

func TestRingHostfile(t *testing.T) {
	path, err := ringHostfile(3)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var hosts [][]string
	if err := json.Unmarshal(b, &hosts); err != nil {
		t.Fatalf("hostfile %s: %v", b, err)
	}
	if len(hosts) != 3 {
		t.Fatalf("hostfile %s: %d ranks, want 3", b, len(hosts))
	}
	seen := map[string]bool{}
	for r, h := range hosts {
		if len(h) != 1 {
			t.Fatalf("rank %d: %v, want one address", r, h)
		}
		host, port, err := net.SplitHostPort(h[0])
		if err != nil || host != "127.0.0.1" || seen[port] {
			t.Errorf("rank %d: address %q (err %v): want a localhost port of its own", r, h[0], err)
		}
		seen[port] = true
		// Free again: the rank listens on it.
		l, err := net.Listen("tcp", h[0])
		if err != nil {
			t.Errorf("rank %d: %s is not free: %v", r, h[0], err)
			continue
		}
		l.Close()
	}
}
