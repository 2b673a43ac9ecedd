package finding

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// ReadJSONL reads findings written by `vulntune parse`, one JSON object per
// line. A bad line is reported with its file and line number and skipped;
// the good ones are still returned.
func ReadJSONL(path string) ([]Finding, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("read findings %s: %w", path, err)}
	}
	defer f.Close()
	return DecodeJSONL(path, f)
}

// DecodeJSONL is ReadJSONL over any reader; name is used in errors.
func DecodeJSONL(name string, r io.Reader) ([]Finding, []error) {
	var out []Finding
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var f Finding
		if err := json.Unmarshal(b, &f); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: expected a finding object: %w", name, line, err))
			continue
		}
		if f.ID == "" || !f.Kind.Valid() {
			errs = append(errs, fmt.Errorf("%s:%d: finding without id or with unknown kind %q", name, line, f.Kind))
			continue
		}
		out = append(out, f)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s:%d: %w", name, line+1, err))
	}
	return out, errs
}
