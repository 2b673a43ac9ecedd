package sarif

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/vulntune/vulntune/internal/ingest/report"
)

// walker reads one JSON text token by token: the whole log, or one
// run's results array re-read from its byte range.
type walker struct {
	p    *parser
	dec  *jsontext.Decoder
	base int64  // file offset of this decoder's offset 0
	root string // JSON path of this decoder's top-level value
}

// log walks the top-level SARIF object.
func (w *walker) log() error {
	tok, err := w.dec.ReadToken()
	if err != nil {
		return w.syntax(err, "a SARIF log object")
	}
	if tok.Kind() != '{' {
		return w.errAt(0, "", fmt.Sprintf("expected a SARIF log object, found %s", kindName(tok.Kind())), nil)
	}
	for w.dec.PeekKind() != '}' {
		name, err := w.dec.ReadToken()
		if err != nil {
			return w.syntax(err, `a member name or "}"`)
		}
		key := name.String()
		switch key {
		case "version", "$schema":
			tok, err := w.dec.ReadToken()
			if err != nil {
				return w.syntax(err, "a string")
			}
			if tok.Kind() != '"' {
				return w.errAt(w.dec.InputOffset(), "$."+key, "expected a string, found "+kindName(tok.Kind()), nil)
			}
			if key == "$schema" {
				w.p.schema = tok.String()
				continue
			}
			w.p.version = tok.String()
			if err := w.p.checkVersion(); err != nil {
				return err
			}
		case "runs":
			if err := w.runs(); err != nil {
				return err
			}
		default:
			if err := w.dec.SkipValue(); err != nil {
				return w.syntax(err, "a JSON value")
			}
		}
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, `"}"`)
	}
	if _, err := w.dec.ReadToken(); err != io.EOF {
		w.p.addErr(w.errAt(w.dec.InputOffset(), "", "unexpected data after the SARIF log object (ignored)", nil))
	}
	return nil
}

func (w *walker) runs() error {
	if k := w.dec.PeekKind(); k != '[' {
		if k == 0 {
			_, err := w.dec.ReadToken()
			return w.syntax(err, "an array of runs")
		}
		w.p.addErr(w.errAt(w.dec.InputOffset(), "$.runs", "expected an array of runs, found "+kindName(k), nil))
		if err := w.dec.SkipValue(); err != nil {
			return w.syntax(err, "a JSON value")
		}
		return nil
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, "[")
	}
	for i := 0; w.dec.PeekKind() != ']'; i++ {
		if err := w.run(i); err != nil {
			return err
		}
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, `"]"`)
	}
	return nil
}

// run reads one run object: everything but results first, then results.
func (w *walker) run(i int) error {
	path := fmt.Sprintf("$.runs[%d]", i)
	if k := w.dec.PeekKind(); k != '{' {
		if k == 0 {
			_, err := w.dec.ReadToken()
			return w.syntax(err, "a run object")
		}
		w.p.addErr(w.errAt(w.dec.InputOffset(), path, "expected a run object, found "+kindName(k), nil))
		if err := w.dec.SkipValue(); err != nil {
			return w.syntax(err, "a JSON value")
		}
		return nil
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, "{")
	}
	run := &run{index: i, p: w.p}
	var results *walker
	var fatal error
	toolOK := false
	for fatal == nil && w.dec.PeekKind() != '}' {
		name, err := w.dec.ReadToken()
		if err != nil {
			return w.syntax(err, `a member name or "}"`)
		}
		var ok bool
		switch name.String() {
		case "tool":
			ok, err = w.member(&run.tool)
			toolOK = ok
		case "artifacts":
			_, err = w.member(&run.artifacts)
		case "taxonomies":
			_, err = w.member(&run.taxonomies)
		case "originalUriBaseIds":
			_, err = w.member(&run.baseIDs)
		case "versionControlProvenance":
			_, err = w.member(&run.vcp)
		case "logicalLocations":
			_, err = w.member(&run.logical)
		case "properties":
			_, err = w.member(&run.props)
		case "results":
			results, fatal = w.deferResults(path + ".results")
			continue
		default:
			if err := w.dec.SkipValue(); err != nil {
				return w.syntax(err, "a JSON value")
			}
		}
		if err != nil {
			return err
		}
	}
	if fatal == nil {
		if _, err := w.dec.ReadToken(); err != nil {
			fatal = w.syntax(err, `"}"`)
		}
	}
	if results == nil {
		return fatal
	}
	if !toolOK {
		w.p.addErr(&report.Error{File: w.p.file, Offset: -1, JSONPath: path + ".tool",
			Msg: "results of this run skipped: expected a valid tool object naming the tool.driver that produced them"})
		return fatal
	}
	run.prepare()
	if err := results.results(run); err != nil {
		// A results array cut short fails here first, with the better path.
		return err
	}
	return fatal
}

// deferResults skips the results value and returns a walker that will read
// it from its byte range once the rest of the run is known. When the value
// is cut short by a syntax error, the walker still reads the results before
// the error, and skipErr is that error.
func (w *walker) deferResults(path string) (rw *walker, skipErr error) {
	start := w.base + w.dec.InputOffset()
	end := int64(math.MaxInt64)
	if err := w.dec.SkipValue(); err != nil {
		skipErr = w.syntax(err, "an array of results")
	} else {
		end = w.base + w.dec.InputOffset()
	}
	// The range starts after the member name: skip the colon and blanks.
	var buf [64]byte
	for start < end {
		n, err := w.p.ra.ReadAt(buf[:min(int64(len(buf)), end-start)], start)
		i := bytes.IndexFunc(buf[:n], func(r rune) bool { return !strings.ContainsRune(": \t\r\n", r) })
		if i >= 0 {
			start += int64(i)
			break
		}
		start += int64(n)
		if err != nil {
			break
		}
	}
	sr := io.NewSectionReader(w.p.ra, start, end-start)
	return &walker{p: w.p, dec: jsontext.NewDecoder(sr, decoderOptions...), base: start, root: path}, skipErr
}

// results streams one run's results array, converting each result as soon
// as it is decoded. A result of the wrong shape is skipped with an error.
func (w *walker) results(run *run) error {
	if k := w.dec.PeekKind(); k != '[' {
		if k == 0 {
			_, err := w.dec.ReadToken()
			return w.syntax(err, "an array of results")
		}
		w.p.addErr(w.errAt(w.dec.InputOffset(), "", "expected an array of results, found "+kindName(k), nil))
		return nil
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, "[")
	}
	c := newSarifConverter(w.p, run, w.root)
	for j := 0; w.dec.PeekKind() != ']'; j++ {
		if w.p.stopErr != nil {
			return errStop
		}
		if j%256 == 0 {
			if err := w.p.ctx.Err(); err != nil {
				return fmt.Errorf("parse sarif %q: %w", w.p.file, err)
			}
		}
		var res result
		ok, err := w.member(&res)
		if err != nil {
			return err
		}
		if ok {
			c.result(&res, j)
		}
	}
	if _, err := w.dec.ReadToken(); err != nil {
		return w.syntax(err, `"]"`)
	}
	return nil
}

// member decodes the next value into v. A value of the wrong shape is
// skipped and recorded (ok false, err nil); a syntax error is returned.
func (w *walker) member(v any) (ok bool, err error) {
	depth := w.dec.StackDepth()
	err = json.UnmarshalDecode(w.dec, v)
	if err == nil {
		return true, nil
	}
	var se *json.SemanticError
	if !errors.As(err, &se) {
		return false, w.syntax(err, "a JSON value")
	}
	w.p.addErr(w.errAt(se.ByteOffset, w.pointerPath(se.JSONPointer),
		fmt.Sprintf("expected %s, found %s (value skipped)", goKind(se), kindName(se.JSONKind)), nil))
	for w.dec.StackDepth() > depth {
		if _, err := w.dec.ReadToken(); err != nil {
			return false, w.syntax(err, "a JSON value")
		}
	}
	return false, nil
}

// syntax turns a decoder error into an *report.Error naming the place.
func (w *walker) syntax(err error, expected string) error {
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		msg := "invalid JSON: expected " + expected
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			msg = "truncated JSON: expected " + expected
		}
		return w.errAt(se.ByteOffset, w.pointerPath(se.JSONPointer), msg, se.Err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return w.errAt(w.dec.InputOffset(), w.pointerPath(w.dec.StackPointer()), "truncated JSON: expected "+expected, nil)
	}
	return w.errAt(w.dec.InputOffset(), "", "cannot read", err)
}

func (w *walker) errAt(off int64, path, msg string, err error) *report.Error {
	return &report.Error{File: w.p.file, Offset: w.base + off, JSONPath: path, Msg: msg, Err: err}
}

// maxPathTokens caps the JSON path in an error (deep nesting).
const maxPathTokens = 24

// pointerPath renders a JSON pointer relative to this decoder as a
// JSONPath from the document root: /runs/0/results/3 → $.runs[0].results[3].
func (w *walker) pointerPath(ptr jsontext.Pointer) string {
	var b strings.Builder
	b.WriteString(w.root)
	n := 0
	for tok := range ptr.Tokens() {
		if n++; n > maxPathTokens {
			b.WriteString("[…]")
			break
		}
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString("[" + tok + "]")
		} else if tok != "" && strings.IndexFunc(tok, notIdent) < 0 {
			b.WriteString("." + tok)
		} else {
			b.WriteString("[" + strconv.Quote(tok) + "]")
		}
	}
	return b.String()
}

func notIdent(r rune) bool {
	return !(r == '_' || r == '$' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
}

func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "nothing"
}

// goKind says in JSON terms what the Go type of a failed value wanted.
func goKind(se *json.SemanticError) string {
	if se.GoType == nil {
		return "a different value"
	}
	t := se.GoType
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}
