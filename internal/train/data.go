package train

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/narrate"
)

// Row is one chat example as the trainer reads it.
type Row struct {
	Messages []chat.Message `json:"messages"`
}

// DatasetInfo describes the prepared training data.
type DatasetInfo struct {
	Source string `json:"source"` // base name of the dataset dir or file
	// SHA256 hashes the source files (train then valid, or the one file),
	// so the same data always gives the same hash.
	SHA256 string `json:"sha256"`
	Train  int    `json:"train"`
	Valid  int    `json:"valid"`
	// Converted is true when the source was instruction/response records.
	Converted bool `json:"converted"`
}

// RowError lists every invalid row, each as file:line: problem.
type RowError struct{ Problems []string }

func (e *RowError) Error() string {
	const show = 20
	p := e.Problems
	more := ""
	if len(p) > show {
		more = fmt.Sprintf("\n  ... and %d more", len(p)-show)
		p = p[:show]
	}
	return fmt.Sprintf("%d invalid dataset rows:\n  %s%s", len(e.Problems), strings.Join(p, "\n  "), more)
}

// Hint names the expected format.
func (e *RowError) Hint() string {
	return `each line must be {"messages":[{"role":"system"|"user"|"assistant","content":"..."}...]} with at least one non-empty assistant turn, or {"instruction":"...","response":"..."}`
}

// validFraction is the share held out when one file is split.
const validFraction = 0.2

// PrepareDataset validates every row of src (a dataset dir with
// train.jsonl and valid.jsonl, or one JSONL file) and writes canonical
// train.jsonl and valid.jsonl into dst. A single file may hold chat rows or
// the original plan's {"instruction","response"} records, which get the
// narrate system prompt; it is split 80/20 by row hash, so the split does
// not depend on line order.
func PrepareDataset(src, dst string) (*DatasetInfo, error) {
	st, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	info := &DatasetInfo{Source: filepath.Base(src)}
	var train, valid []Row
	h := sha256.New()
	if st.IsDir() {
		var problems []string
		for _, split := range []struct {
			name string
			rows *[]Row
		}{{"train.jsonl", &train}, {"valid.jsonl", &valid}} {
			path := filepath.Join(src, split.name)
			rows, probs, conv, err := readRows(path, h)
			if err != nil {
				return nil, err
			}
			if conv {
				info.Converted = true
			}
			problems = append(problems, probs...)
			*split.rows = rows
		}
		if len(problems) > 0 {
			return nil, &RowError{Problems: problems}
		}
	} else {
		rows, probs, conv, err := readRows(src, h)
		if err != nil {
			return nil, err
		}
		if len(probs) > 0 {
			return nil, &RowError{Problems: probs}
		}
		info.Converted = conv
		train, valid = splitRows(rows)
	}
	if len(train) == 0 || len(valid) == 0 {
		return nil, fmt.Errorf("dataset %s: need training and validation rows, have %d and %d", src, len(train), len(valid))
	}
	info.SHA256 = hex.EncodeToString(h.Sum(nil))
	info.Train, info.Valid = len(train), len(valid)
	for name, rows := range map[string][]Row{"train.jsonl": train, "valid.jsonl": valid} {
		if err := writeRows(filepath.Join(dst, name), rows); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// readRows parses and checks every line of path, feeding its bytes to h.
// It returns the rows, one problem per bad row (file:line: what), and
// whether instruction/response records were converted.
func readRows(path string, h io.Writer) ([]Row, []string, bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, false, fmt.Errorf("dataset: %w", err)
	}
	_, _ = h.Write(b)
	var rows []Row
	var problems []string
	converted := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	name := filepath.Base(path)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		r, conv, err := parseRow(text)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", name, line, err))
			continue
		}
		converted = converted || conv
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, false, fmt.Errorf("dataset %s: %w", path, err)
	}
	return rows, problems, converted, nil
}

// rawRow holds the keys either accepted format uses.
type rawRow struct {
	Messages    *[]chat.Message `json:"messages"`
	Instruction *string         `json:"instruction"`
	Response    *string         `json:"response"`
}

// parseRow decodes one line and checks it the way training needs it.
func parseRow(line []byte) (Row, bool, error) {
	var raw rawRow
	if err := json.Unmarshal(line, &raw); err != nil {
		return Row{}, false, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw.Messages == nil {
		if raw.Instruction == nil && raw.Response == nil {
			return Row{}, false, errors.New(`no "messages" (nor "instruction"/"response")`)
		}
		if raw.Instruction == nil || strings.TrimSpace(*raw.Instruction) == "" {
			return Row{}, false, errors.New(`empty or missing "instruction"`)
		}
		if raw.Response == nil || strings.TrimSpace(*raw.Response) == "" {
			return Row{}, false, errors.New(`empty or missing "response"`)
		}
		return Row{Messages: []chat.Message{
			{Role: "system", Content: narrate.SystemPrompt},
			{Role: "user", Content: *raw.Instruction},
			{Role: "assistant", Content: *raw.Response},
		}}, true, nil
	}
	if err := chat.Check(*raw.Messages); err != nil {
		return Row{}, false, err
	}
	return Row{Messages: *raw.Messages}, false, nil
}

// splitRows holds out the validFraction of rows whose content hashes
// lowest, keeping file order within each split.
func splitRows(rows []Row) (train, valid []Row) {
	type keyed struct {
		i   int
		key string
	}
	ks := make([]keyed, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r)
		s := sha256.Sum256(b)
		ks[i] = keyed{i, hex.EncodeToString(s[:])}
	}
	sort.Slice(ks, func(a, b int) bool {
		if ks[a].key != ks[b].key {
			return ks[a].key < ks[b].key
		}
		return ks[a].i < ks[b].i
	})
	nValid := int(float64(len(rows))*validFraction + 0.999999)
	if len(rows) < 2 {
		nValid = 0
	}
	held := make(map[int]bool, nValid)
	for _, k := range ks[:nValid] {
		held[k.i] = true
	}
	for i, r := range rows {
		if held[i] {
			valid = append(valid, r)
		} else {
			train = append(train, r)
		}
	}
	return train, valid
}

func writeRows(path string, rows []Row) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	})
}
