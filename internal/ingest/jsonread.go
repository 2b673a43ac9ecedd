package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonMaxSize caps how much of a native JSON report is read. Native reports
// are decoded whole, so the cap bounds memory; the largest real reports seen
// (OSV-Scanner on a monorepo, Trivy on a fat image) are tens of MiB.
const jsonMaxSize = 256 << 20

// jsonMaxErrors bounds how many per-element errors one file reports, so a
// file of ten thousand bad elements yields a readable error.
const jsonMaxErrors = 20

var jsonStringType = reflect.TypeFor[string]()

var jsonBOM = []byte{0xEF, 0xBB, 0xBF}

// jsonReadDoc reads a whole native report: at most jsonMaxSize bytes, UTF-8
// BOM removed, and not empty. Other encodings are rejected with a message
// saying so rather than a confusing syntax error at byte 0.
func jsonReadDoc(ctx context.Context, in Input, r io.Reader) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.Size > jsonMaxSize {
		return nil, jsonTooBig(in, in.Size)
	}
	data, err := io.ReadAll(io.LimitReader(r, jsonMaxSize+1))
	if err != nil {
		return nil, &InputError{File: in.Name, Offset: int64(len(data)), Msg: "read failed", Err: err}
	}
	if len(data) > jsonMaxSize {
		return nil, jsonTooBig(in, -1)
	}
	data = bytes.TrimPrefix(data, jsonBOM)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &InputError{File: in.Name, Offset: -1, Msg: "empty file: want a JSON document"}
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, &InputError{File: in.Name, Offset: 0, Msg: "file is UTF-16: want UTF-8 JSON (re-save the report as UTF-8)"}
	}
	return data, nil
}

func jsonTooBig(in Input, size int64) error {
	what := fmt.Sprintf("more than %d bytes", int64(jsonMaxSize))
	if size >= 0 {
		what = fmt.Sprintf("%d bytes", size)
	}
	return &InputError{File: in.Name, Offset: -1,
		Msg: fmt.Sprintf("file is %s, over the %d MiB limit for native JSON reports", what, jsonMaxSize>>20)}
}

// jsonDecodeDoc decodes data (a whole document, or one element of a list at
// JSON path path) into v and turns decoding errors into an *InputError with
// the byte offset, the JSON path and what was expected.
func jsonDecodeDoc(in Input, path string, data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil {
		return nil
	}
	return jsonInputError(in, path, data, err)
}

func jsonInputError(in Input, path string, data []byte, err error) *InputError {
	ie := &InputError{File: in.Name, Offset: -1, JSONPath: path, Err: err}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		ie.Offset = syn.Offset
		ie.Msg = "invalid JSON"
		if syn.Offset >= int64(len(bytes.TrimRight(data, " \t\r\n"))) {
			ie.Msg = "truncated JSON: the document ends early"
		} else if !utf8.Valid(data[:min(int(syn.Offset)+1, len(data))]) {
			ie.Msg = "invalid JSON: not UTF-8 text (binary file?)"
		}
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		ie.Offset = int64(len(data))
		ie.Msg = "truncated JSON: the document ends early"
	case errors.As(err, &typ):
		ie.Offset = typ.Offset
		if typ.Field != "" {
			ie.JSONPath = jsonJoinPath(path, typ.Field)
		}
		ie.Msg = fmt.Sprintf("found JSON %s, want %s", typ.Value, jsonTypeWord(typ.Type.Kind().String()))
		ie.Err = nil
	default:
		ie.Msg = "cannot decode"
	}
	return ie
}

// jsonJoinPath appends the dotted field path of an UnmarshalTypeError to a
// JSONPath prefix ("$" or "$.results[3]").
func jsonJoinPath(prefix, field string) string {
	if prefix == "" {
		prefix = "$"
	}
	return prefix + "." + field
}

func jsonTypeWord(kind string) string {
	switch kind {
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "a number"
	}
	return kind
}

// jsonErrs collects per-element errors of one file, keeping the first
// jsonMaxErrors and counting the rest.
type jsonErrs struct {
	list    []error
	dropped int
}

func (e *jsonErrs) add(err error) {
	if err == nil {
		return
	}
	if len(e.list) >= jsonMaxErrors {
		e.dropped++
		return
	}
	e.list = append(e.list, err)
}

func (e *jsonErrs) err(in Input) error {
	if e.dropped > 0 {
		e.list = append(e.list, &InputError{File: in.Name, Offset: -1,
			Msg: fmt.Sprintf("%d more errors not shown", e.dropped)})
	}
	return errors.Join(e.list...)
}

// jsonList is a JSON array kept raw so each element decodes on its own: one
// wrong-typed element is reported and skipped while the rest are read. It
// also accepts null (no elements) and a lone object (one element), which
// older tools emit where a list has a single entry.
type jsonList []json.RawMessage

func (l *jsonList) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case bytes.Equal(t, []byte("null")):
		*l = nil
		return nil
	case len(t) > 0 && t[0] == '{':
		*l = jsonList{json.RawMessage(bytes.Clone(t))}
		return nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*l = raw
	return nil
}

// jsonEach decodes every element of list (found at JSON path path) into a T,
// records an error for each element that does not decode and skips it.
func jsonEach[T any](ctx context.Context, in Input, path string, list jsonList, errs *jsonErrs) []T {
	out := make([]T, 0, len(list))
	for i, raw := range list {
		if i%256 == 0 && ctx.Err() != nil {
			errs.add(ctx.Err())
			return out
		}
		var v T
		if err := jsonDecodeElem(in, fmt.Sprintf("%s[%d]", path, i), raw, &v); err != nil {
			errs.add(err)
			continue
		}
		out = append(out, v)
	}
	return out
}

// jsonDecodeElem decodes one element of a list that was kept raw. Offsets
// inside the element are not file offsets, so the error carries the JSON
// path alone, and says that the element was skipped.
func jsonDecodeElem(in Input, path string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		ie := jsonInputError(in, path, raw, err)
		ie.Offset = -1
		ie.Msg = "element skipped: " + ie.Msg
		return ie
	}
	return nil
}

// jsonText is a scalar that tools write sometimes as a string and sometimes
// as a number or boolean (ZAP's "riskcode": "2" or 2). It keeps the text.
type jsonText string

func (t *jsonText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = jsonText(s)
	case b[0] == '{' || b[0] == '[':
		return &json.UnmarshalTypeError{Value: "object or array", Type: jsonStringType}
	default:
		*t = jsonText(b)
	}
	return nil
}

func (t jsonText) String() string { return strings.TrimSpace(string(t)) }

// Int returns the text as an integer, or 0 when it is not one.
func (t jsonText) Int() int {
	n, err := strconv.ParseFloat(t.String(), 64)
	if err != nil {
		return 0
	}
	return int(n)
}

// jsonTexts is a list of scalars that a tool may also write as one scalar
// (Semgrep's metadata.cwe is "CWE-89: ..." or ["CWE-89: ...", ...]).
type jsonTexts []string

func (l *jsonTexts) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var raw []jsonText
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		out := make([]string, 0, len(raw))
		for _, r := range raw {
			if s := r.String(); s != "" {
				out = append(out, s)
			}
		}
		*l = out
		return nil
	}
	var one jsonText
	if err := one.UnmarshalJSON(b); err != nil {
		return err
	}
	*l = nil
	if s := one.String(); s != "" {
		*l = []string{s}
	}
	return nil
}
