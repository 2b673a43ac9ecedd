package ghtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// The pinned description the stand-in is held to. Bumping it: change the
// version and integrity here, run gen.go (its header says how) and
// commit the new testdata/openapi-actions.json.
const (
	OpenAPIPackage   = "@octokit/openapi"
	OpenAPIVersion   = "23.0.2"
	OpenAPIIntegrity = "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="
	openAPIFile      = "package/generated/api.github.com.json"
)

// Operations are the GitHub routes the client calls and the stand-in
// serves, by GitHub's operationId.
var Operations = []string{
	"actions/list-workflow-runs-for-repo",
	"actions/list-workflow-runs",
	"actions/list-workflow-run-artifacts",
	"actions/download-artifact",
}

// Integrity is npm's integrity string of a tarball ("sha512-<base64>").
func Integrity(tgz []byte) string {
	sum := sha512.Sum512(tgz)
	return "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
}

// ExtractSchemas reads the npm tarball of @octokit/openapi and returns the
// committed extract: for each of Operations its method, path, query
// parameters and response schemas, and every component schema they
// reference, converted from OpenAPI 3.0 to JSON Schema 2020-12 (nullable
// becomes a "null" type; examples and x- extensions are dropped). The
// tarball must match OpenAPIIntegrity.
func ExtractSchemas(tgz []byte) ([]byte, error) {
	if got := Integrity(tgz); got != OpenAPIIntegrity {
		return nil, fmt.Errorf("tarball integrity %s, expected %s (%s@%s)", got, OpenAPIIntegrity, OpenAPIPackage, OpenAPIVersion)
	}
	raw, err := readTarFile(tgz, openAPIFile)
	if err != nil {
		return nil, err
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas    map[string]any `json:"schemas"`
			Parameters map[string]any `json:"parameters"`
			Responses  map[string]any `json:"responses"`
			Headers    map[string]any `json:"headers"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", openAPIFile, err)
	}
	resolve := func(v any, table map[string]any) map[string]any {
		m, _ := v.(map[string]any)
		if ref, ok := m["$ref"].(string); ok {
			m, _ = table[ref[strings.LastIndex(ref, "/")+1:]].(map[string]any)
		}
		return m
	}
	defs := map[string]any{}
	var addRefs func(v any) error
	addRefs = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if name == ref {
					return fmt.Errorf("unexpected reference %s", ref)
				}
				if _, done := defs[name]; !done {
					s, ok := doc.Components.Schemas[name]
					if !ok {
						return fmt.Errorf("schema %s missing", name)
					}
					defs[name] = nil // mark before recursing: schemas may be recursive
					if err := addRefs(s); err != nil {
						return err
					}
					defs[name] = toJSONSchema(s)
				}
				return nil
			}
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if err := addRefs(x[k]); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := addRefs(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	routes := map[string]any{}
	for _, opID := range Operations {
		var found bool
		for _, p := range slices.Sorted(maps.Keys(doc.Paths)) {
			op := doc.Paths[p]["get"]
			if op == nil || op["operationId"] != opID {
				continue
			}
			found = true
			query := map[string]any{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				prm := resolve(pv, doc.Components.Parameters)
				if prm["in"] == "query" {
					query[prm["name"].(string)] = toJSONSchema(prm["schema"])
				}
			}
			responses := map[string]any{}
			rs, _ := op["responses"].(map[string]any)
			for status, rv := range rs {
				r := resolve(rv, doc.Components.Responses)
				out := map[string]any{}
				if c, ok := r["content"].(map[string]any); ok {
					js, _ := c["application/json"].(map[string]any)
					if s, ok := js["schema"]; ok {
						if err := addRefs(s); err != nil {
							return nil, fmt.Errorf("%s %s: %w", opID, status, err)
						}
						out["schema"] = toJSONSchema(s)
					}
				}
				if hs, ok := r["headers"].(map[string]any); ok {
					out["headers"] = slices.Sorted(maps.Keys(hs))
				}
				responses[status] = out
			}
			routes[opID] = map[string]any{"method": "GET", "path": p, "query": query, "responses": responses}
		}
		if !found {
			return nil, fmt.Errorf("operation %s not in %s", opID, openAPIFile)
		}
	}
	// Errors the API answers on any route (rate limits, auth) use this.
	if err := addRefs(map[string]any{"$ref": "#/components/schemas/basic-error"}); err != nil {
		return nil, err
	}
	out := map[string]any{
		"$schema":  "https://json-schema.org/draft/2020-12/schema",
		"$comment": "Generated by internal/ghactions/ghtest/gen.go from GitHub's REST description; do not edit.",
		"x-source": map[string]any{"package": OpenAPIPackage + "@" + OpenAPIVersion, "file": strings.TrimPrefix(openAPIFile, "package/"),
			"integrity": OpenAPIIntegrity, "openapi": doc.OpenAPI},
		"x-routes": routes,
		"$defs":    defs,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// toJSONSchema converts one OpenAPI 3.0 schema to JSON Schema 2020-12.
func toJSONSchema(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch {
			case k == "$ref":
				out[k] = "#/$defs/" + strings.TrimPrefix(e.(string), "#/components/schemas/")
			case k == "example" || k == "nullable" || strings.HasPrefix(k, "x-"):
			case k == "properties":
				props := map[string]any{}
				for name, p := range e.(map[string]any) {
					props[name] = toJSONSchema(p)
				}
				out[k] = props
			default:
				out[k] = toJSONSchema(e)
			}
		}
		if x["nullable"] == true {
			if t, ok := out["type"].(string); ok {
				out["type"] = []any{t, "null"}
				if enum, ok := out["enum"].([]any); ok && !slices.Contains(enum, nil) {
					out["enum"] = append(enum, nil)
				}
			} else {
				out = map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONSchema(e)
		}
		return out
	}
	return v
}

func readTarFile(tgz []byte, name string) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("tarball has no %s", name)
		}
		if err != nil {
			return nil, fmt.Errorf("tarball: %w", err)
		}
		if h.Name == name {
			return io.ReadAll(io.LimitReader(tr, 256<<20))
		}
	}
}
