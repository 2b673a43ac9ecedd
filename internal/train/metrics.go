package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// Record is one line of training/metrics.jsonl: a training step
// (kind "train") or an evaluation (kind "eval"), as the engine reported it.
type Record struct {
	Kind                      string  `json:"kind"`
	Step                      int     `json:"step"`
	Total                     int     `json:"total"`
	Loss                      float64 `json:"loss,omitempty"`
	LR                        float64 `json:"lr,omitempty"`
	Tokens                    int     `json:"tokens,omitempty"`
	SupervisedTokens          int     `json:"supervised_tokens,omitempty"`
	Seconds                   float64 `json:"seconds,omitempty"`
	TokensPerSecond           float64 `json:"tokens_per_second,omitempty"`
	SupervisedTokensPerSecond float64 `json:"supervised_tokens_per_second,omitempty"`
	PeakMemory                int64   `json:"peak_memory,omitempty"`
	ValLoss                   float64 `json:"val_loss,omitempty"`
	ValTokens                 int     `json:"val_tokens,omitempty"`
}

// Metrics is the run's history of step and evaluation records.
type Metrics struct{ Records []Record }

// ReadMetrics reads a metrics.jsonl; a missing file is an empty history.
func ReadMetrics(path string) (*Metrics, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Metrics{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	m := &Metrics{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		m.Records = append(m.Records, r)
	}
	return m, sc.Err()
}

// Add appends r.
func (m *Metrics) Add(r Record) { m.Records = append(m.Records, r) }

// TruncateAfter drops records past step: a resumed run repeats them.
func (m *Metrics) TruncateAfter(step int) {
	kept := m.Records[:0]
	for _, r := range m.Records {
		if r.Step <= step {
			kept = append(kept, r)
		}
	}
	m.Records = kept
}

// Write stores the history as JSON lines, atomically.
func (m *Metrics) Write(path string) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, r := range m.Records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// Series returns the (step, loss) points of one kind.
func (m *Metrics) Series(kind string) (steps []int, losses []float64) {
	for _, r := range m.Records {
		switch {
		case kind == "train" && r.Kind == "train":
			steps, losses = append(steps, r.Step), append(losses, r.Loss)
		case kind == "eval" && r.Kind == "eval":
			steps, losses = append(steps, r.Step), append(losses, r.ValLoss)
		}
	}
	return steps, losses
}
