package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/vulntune/vulntune/internal/train"
)

// plainEvery is how often a plain progress line may be written when stderr
// is not a terminal: often enough that a long CI job shows it is alive, rare
// enough that a 30-minute run logs dozens of lines, not thousands.
const plainEvery = 30 * time.Second

// progress draws a one-line progress indicator on a terminal. Elsewhere (CI
// logs, pipes) it writes a plain line at most every plainEvery and one when
// a count completes, so a log of a long job shows it is alive; -q and
// --json turn both off.
type progress struct {
	w       io.Writer
	on      bool // a terminal: redraw one line in place
	plain   bool // not a terminal: append plain lines
	now     func() time.Time
	start   time.Time
	last    time.Time
	drawn   bool
	current string
	count   int
	first   int // the count at the first update since the clock started
	total   int
}

func newProgress(w io.Writer, enabled bool) *progress {
	tty := isTerminal(w)
	return &progress{w: w, on: enabled && tty, plain: enabled && !tty, now: time.Now}
}

// training shows a trainer's step or validation pass: the phase with its
// loss and rate, step/total, elapsed time and ETA.
func (p *progress) training(tp train.Progress) {
	switch {
	case tp.Stage == "train" && tp.Step == 0:
		p.update("train", tp.Step, tp.Total)
	case tp.Stage == "train":
		p.update(fmt.Sprintf("train loss %.3f %.0f tok/s", tp.Loss, tp.TokensPerSecond), tp.Step, tp.Total)
	case tp.Stage == "eval":
		p.update(fmt.Sprintf("validate loss %.3f", tp.ValLoss), tp.Step, tp.Total)
	}
}

// update shows phase done/total with the time since the count's first
// report and an ETA. A count that starts again (evaluation after training, the tuned model
// after the base) restarts the clock, so its ETA is its own.
func (p *progress) update(phase string, done, total int) {
	if !p.on && !p.plain {
		return
	}
	now := p.now()
	restarted := p.start.IsZero() || total != p.total || done < p.count
	if restarted {
		p.start, p.first = now, done
	}
	p.count, p.total = done, total
	el := now.Sub(p.start).Round(time.Second)
	eta := ""
	// The rate counts from the first update seen, not from zero: the first
	// report arrives after a step has already run.
	if done > p.first && done < total {
		rem := time.Duration(float64(now.Sub(p.start)) * float64(total-done) / float64(done-p.first)).Round(time.Second)
		eta = fmt.Sprintf(" ETA %s", rem)
	}
	if p.plain {
		if !restarted && done < total && now.Sub(p.last) < plainEvery {
			return
		}
		p.last = now
		fmt.Fprintf(p.w, "%s %d/%d %s%s\n", phase, done, total, el, eta)
		return
	}
	if now.Sub(p.last) < 100*time.Millisecond && done < total && phase == p.current {
		return
	}
	p.last, p.current = now, phase
	width := 30
	fill := 0
	if total > 0 {
		fill = min(width, width*done/total)
	}
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.w, "\r%-9s [%s] %d/%d %s%s   ", phase, bar, done, total, el, eta)
	p.drawn = true
}

// done clears the drawn line, and ends the count so the next one restarts
// the clock.
func (p *progress) done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
	p.start = time.Time{}
}

// isTerminal reports whether w is a terminal, where progress may redraw.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
