package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressOffTerminal(t *testing.T) {
	t.Parallel()
	type tick struct {
		after       time.Duration // since the previous update
		phase       string
		done, total int
	}
	tests := []struct {
		name    string
		enabled bool
		ticks   []tick
		want    []string
	}{
		{"disabled by -q or --json", false,
			[]tick{{0, "train", 1, 10}, {time.Minute, "train", 10, 10}}, nil},
		{"first, throttled, last", true,
			[]tick{
				{0, "train", 1, 4},
				{10 * time.Second, "train", 2, 4}, // within plainEvery: dropped
				{25 * time.Second, "train", 3, 4}, // 35 s since the last line
				{time.Second, "train", 4, 4},      // a finished count always shows
			},
			[]string{"train 1/4 0s", "train 3/4 35s ETA 18s", "train 4/4 36s"}},
		{"a new count restarts the clock", true,
			[]tick{
				{0, "train", 2, 2},
				{time.Minute, "eval base", 1, 3},
				{40 * time.Second, "eval base", 2, 3},
			},
			[]string{"train 2/2 0s", "eval base 1/3 0s", "eval base 2/3 40s ETA 40s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			p := newProgress(&buf, tt.enabled)
			clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
			p.now = func() time.Time { return clock }
			for _, tk := range tt.ticks {
				clock = clock.Add(tk.after)
				p.update(tk.phase, tk.done, tk.total)
			}
			p.done()
			var got []string
			if s := strings.TrimSuffix(buf.String(), "\n"); s != "" {
				got = strings.Split(s, "\n")
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}
