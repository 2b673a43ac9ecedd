package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line progress indicator on a terminal and stays
// silent otherwise (CI logs, pipes), so quiet-by-default holds everywhere.
type progress struct {
	w       io.Writer
	on      bool
	start   time.Time
	last    time.Time
	drawn   bool
	current string
}

func newProgress(w io.Writer, enabled bool) *progress {
	return &progress{w: w, on: enabled && isTerminal(w), start: time.Now()}
}

// update shows phase done/total with elapsed time and an ETA; redraws are
// throttled so a fast loop does not flood the terminal.
func (p *progress) update(phase string, done, total int) {
	if !p.on {
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total && phase == p.current {
		return
	}
	p.last, p.current = now, phase
	el := now.Sub(p.start).Round(time.Second)
	eta := ""
	if done > 0 && done < total {
		rem := time.Duration(float64(now.Sub(p.start)) * float64(total-done) / float64(done)).Round(time.Second)
		eta = fmt.Sprintf(" ETA %s", rem)
	}
	width := 30
	fill := 0
	if total > 0 {
		fill = width * done / total
	}
	bar := make([]byte, width)
	for i := range bar {
		if i < fill {
			bar[i] = '='
		} else {
			bar[i] = ' '
		}
	}
	fmt.Fprintf(p.w, "\r%-9s [%s] %d/%d %s%s   ", phase, bar, done, total, el, eta)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// isTerminal reports whether w is a terminal, where progress may redraw.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
