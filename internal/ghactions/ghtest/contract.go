package ghtest

import (
	"bytes"
	_ "embed" // the committed extract of GitHub's description
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ExtractJSON is testdata/openapi-actions.json: the routes and schemas of
// GitHub's REST description that the stand-in serves (see gen.go).
//
//go:embed testdata/openapi-actions.json
var ExtractJSON []byte

// Contract checks requests and responses against the extract. Objects are
// closed (additionalProperties: false) when compiled, so the stand-in can
// neither omit a required field nor invent one GitHub does not document.
type Contract struct {
	routes map[string]*route
}

type route struct {
	path      string
	query     map[string]*jsonschema.Schema
	responses map[string]*jsonschema.Schema // nil schema: no body
	headers   map[string][]string
}

var (
	contractOnce sync.Once
	contract     *Contract
	contractErr  error
)

// LoadContract compiles the embedded extract once per process.
func LoadContract() (*Contract, error) {
	contractOnce.Do(func() { contract, contractErr = compileContract(ExtractJSON) })
	return contract, contractErr
}

const extractURL = "https://vulntune.invalid/openapi-actions.json"

func compileContract(data []byte) (*Contract, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	closeObjects(doc)
	c := jsonschema.NewCompiler()
	if err := c.AddResource(extractURL, doc); err != nil {
		return nil, err
	}
	var raw struct {
		Routes map[string]struct {
			Path      string         `json:"path"`
			Query     map[string]any `json:"query"`
			Responses map[string]struct {
				Schema  any      `json:"schema"`
				Headers []string `json:"headers"`
			} `json:"responses"`
		} `json:"x-routes"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	out := &Contract{routes: map[string]*route{}}
	for op, r := range raw.Routes {
		base := extractURL + "#/x-routes/" + strings.ReplaceAll(op, "/", "~1")
		rt := &route{path: r.Path, query: map[string]*jsonschema.Schema{}, responses: map[string]*jsonschema.Schema{}, headers: map[string][]string{}}
		for name := range r.Query {
			if rt.query[name], err = c.Compile(base + "/query/" + name); err != nil {
				return nil, fmt.Errorf("%s query %s: %w", op, name, err)
			}
		}
		for status, resp := range r.Responses {
			rt.headers[status] = resp.Headers
			rt.responses[status] = nil
			if resp.Schema != nil {
				if rt.responses[status], err = c.Compile(base + "/responses/" + status + "/schema"); err != nil {
					return nil, fmt.Errorf("%s %s: %w", op, status, err)
				}
			}
		}
		out.routes[op] = rt
	}
	for _, op := range Operations {
		if out.routes[op] == nil {
			return nil, fmt.Errorf("extract lacks %s", op)
		}
	}
	basic, err := c.Compile(extractURL + "#/$defs/basic-error")
	if err != nil {
		return nil, err
	}
	out.routes[""] = &route{responses: map[string]*jsonschema.Schema{"error": basic}}
	return out, nil
}

// closeObjects sets additionalProperties: false on every object schema
// that lists properties and says nothing of others.
func closeObjects(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"].(map[string]any); ok {
			if _, set := x["additionalProperties"]; !set {
				x["additionalProperties"] = false
			}
		}
		for _, e := range x {
			closeObjects(e)
		}
	case []any:
		for _, e := range x {
			closeObjects(e)
		}
	}
}

// CheckQuery checks a request's query parameters against the operation's:
// an unknown name or a value of the wrong type or outside an enum fails.
func (c *Contract) CheckQuery(op string, q url.Values) error {
	rt := c.routes[op]
	if rt == nil {
		return fmt.Errorf("unknown operation %s", op)
	}
	for name, vals := range q {
		sch := rt.query[name]
		if sch == nil {
			return fmt.Errorf("%s: query parameter %q is not in GitHub's description", op, name)
		}
		for _, v := range vals {
			if err := sch.Validate(queryValue(v)); err != nil {
				return fmt.Errorf("%s: query parameter %s=%q: %#v", op, name, v, err)
			}
		}
	}
	return nil
}

// queryValue types a query string value as GitHub parses it.
func queryValue(v string) any {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return json.Number(strconv.FormatInt(n, 10))
	}
	if b, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
		return b
	}
	return v
}

// CheckResponse checks one response the stand-in is about to send. A
// status the operation documents is checked against its schema and
// headers; 304 (conditional requests) must have no body, and the errors
// GitHub answers on any route without documenting them per route (401,
// 403, 404, 429, and the 500/502/503 of an outage) must carry GitHub's
// basic-error body.
func (c *Contract) CheckResponse(op string, status int, h http.Header, body []byte) error {
	rt := c.routes[op]
	if rt == nil {
		return fmt.Errorf("unknown operation %s", op)
	}
	code := strconv.Itoa(status)
	sch, documented := rt.responses[code]
	switch {
	case documented:
		for _, name := range rt.headers[code] {
			if name == "Link" && h.Get("Link") == "" {
				continue // Link appears only when there is another page
			}
			if h.Get(name) == "" {
				return fmt.Errorf("%s %d: header %s missing", op, status, name)
			}
		}
	case status == http.StatusNotModified:
		if len(body) > 0 {
			return fmt.Errorf("%s 304 with a body", op)
		}
		return nil
	case slices.Contains([]int{401, 403, 404, 429, 500, 502, 503}, status):
		sch = c.routes[""].responses["error"]
	default:
		return fmt.Errorf("%s: status %d is not documented for this operation", op, status)
	}
	if sch == nil {
		if len(body) > 0 {
			return fmt.Errorf("%s %d: body where GitHub documents none", op, status)
		}
		return nil
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %d: body is not JSON: %v", op, status, err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("%s %d: body does not match GitHub's schema: %#v", op, status, err)
	}
	return nil
}
