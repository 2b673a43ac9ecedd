package ingest

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// readCapped runs data through a capReader in small reads, to cross every
// chunk boundary, and returns the output and the count of cut strings.
func readCapped(t testing.TB, data []byte) ([]byte, int) {
	t.Helper()
	c := newCapReader(iotest.HalfReader(bytes.NewReader(data)))
	var r io.Reader = iotest.OneByteReader(c)
	if len(data) > 1<<20 {
		r = iotest.HalfReader(c)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out, c.elided
}

func TestCapReader(t *testing.T) {
	t.Parallel()
	long := func(unit string, n int) string { return strings.Repeat(unit, n/len(unit)) }
	tests := []struct {
		name   string
		in     string
		elided int
		// want, when set, is the exact output; else the output is checked
		// for validity, length and the kept head and tail.
		want string
	}{
		{name: "short strings", in: `{"a":"b","c":["d\"e",1]}`, want: `{"a":"b","c":["d\"e",1]}`},
		{name: "at the cap", in: `{"m":"` + long("x", capMax) + `"}`, want: `{"m":"` + long("x", capMax) + `"}`},
		{name: "between keep and cap", in: `["` + long("ab", capKeep+100) + `"]`, want: `["` + long("ab", capKeep+100) + `"]`},
		{name: "ascii", in: `{"m":"` + long("x", 200<<10) + `","n":"y"}`, elided: 1},
		{name: "escapes", in: `{"m":"` + long(`\u00e9\n\\\"`, 150<<10) + `"}`, elided: 1},
		{name: "utf8", in: `{"m":"` + long("é€😀", 150<<10) + `"}`, elided: 1},
		{name: "two", in: `[{"m":"` + long("a", 100<<10) + `"},"` + long("€", 90<<10) + `"]`, elided: 2},
		{name: "key", in: `{"` + long("k", 70<<10) + `":1}`, elided: 1},
		{name: "not json", in: `<html title="` + long("x", 70<<10) + `">`, want: `<html title="` + long("x", 70<<10) + `">`},
		{name: "bom and space", in: "\xef\xbb\xbf \n{\"m\":\"" + long("x", 70<<10) + `"}`, elided: 1},
		{name: "whitespace", in: "[1" + long(" ", 100<<10) + ",\n\t2" + long("\n", 5<<10) + "]", want: "[1" + long(" ", capSpace) + ",\n\t2" + long("\n", capSpace) + "]"},
		{name: "leading whitespace", in: long(" ", 10<<10) + "[]", want: long(" ", capSpace) + "[]"},
		{name: "whitespace in strings kept", in: `["` + long(" ", 50<<10) + `"]`, want: `["` + long(" ", 50<<10) + `"]`},
		{name: "unterminated", in: `{"m":"` + long("x", 70<<10), elided: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, elided := readCapped(t, []byte(tt.in))
			if elided != tt.elided {
				t.Errorf("elided %d strings, want %d", elided, tt.elided)
			}
			if tt.want != "" {
				if string(out) != tt.want {
					t.Errorf("output changed: %d bytes, want %d", len(out), len(tt.want))
				}
				return
			}
			if tt.name == "unterminated" {
				if !bytes.HasSuffix(out, []byte(long("x", capKeep))) || len(out) > capMax+100 {
					t.Errorf("unterminated string: %d bytes", len(out))
				}
				return
			}
			out = bytes.TrimPrefix(out, jsonBOM)
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("output is not valid JSON/UTF-8: %.200q", out)
			}
			if len(out) > len(tt.in) || len(out) > tt.elided*(capMax+100)+200 {
				t.Errorf("output is %d bytes", len(out))
			}
			if !bytes.Contains(out, []byte(" bytes elided …]")) {
				t.Errorf("no note in %.200q", out)
			}
		})
	}
}

// TestCapReaderNote checks the note counts the elided bytes: head, note
// count and tail add up to the string's length.
func TestCapReaderNote(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("0123456789", 10<<10)
	out, _ := readCapped(t, []byte(`"`+s+`"`))
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := s[:capKeep] + "[… 36864 bytes elided …]" + s[len(s)-capKeep:]
	if got != want {
		t.Errorf("got %d bytes %.80q…, want %d bytes", len(got), got, len(want))
	}
}

// FuzzCapReader checks that the output is valid JSON whenever the input is,
// and the same bytes when no string is over the cap (json.Marshal writes no
// whitespace runs to cut). The fuzzer's strings
// are stretched so that they cross the cap.
func FuzzCapReader(f *testing.F) {
	f.Add(`{"a":"b"}`, 0)
	f.Add(`["x\u00e9\n","€😀"]`, capKeep/3)
	f.Add(`{"k":"\\\""}`, capMax)
	f.Add(`"é"`, capKeep-1)
	f.Fuzz(func(t *testing.T, doc string, stretch int) {
		if stretch < 0 || stretch > 2*capMax {
			return
		}
		// Repeat the content of every string so that some exceed the cap.
		var v any
		if json.Unmarshal([]byte(doc), &v) != nil {
			out, _ := readCapped(t, []byte(doc))
			if !bytes.Equal(out, []byte(doc)) && len(doc) < capKeep {
				t.Fatalf("short invalid input changed: %q -> %q", doc, out)
			}
			return
		}
		data := stretchStrings(t, v, stretch)
		if len(data) > 4<<20 {
			return
		}
		out, elided := readCapped(t, data)
		if !json.Valid(out) {
			t.Fatalf("invalid output for %q stretched %d", doc, stretch)
		}
		if elided == 0 && !bytes.Equal(out, data) {
			t.Fatalf("output changed with no string cut: %q stretched %d", doc, stretch)
		}
		if elided > 0 && len(out) >= len(data) {
			t.Fatalf("cut %d strings but output is not shorter", elided)
		}
	})
}

// stretchStrings re-encodes v with every string repeated until it is at
// least n bytes.
func stretchStrings(t *testing.T, v any, n int) []byte {
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			if x != "" && len(x) < n {
				x = strings.Repeat(x, n/len(x)+1)
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		}
		return v
	}
	b, err := json.Marshal(walk(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
