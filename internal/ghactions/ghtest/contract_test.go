package ghtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

// runBody is a list-workflow-runs answer the stand-in produced, as a
// starting point for bodies the contract must refuse.
func runBody(t *testing.T) map[string]any {
	t.Helper()
	s := ghtest.New(t, ghtest.Options{})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	resp, err := http.Get(s.URL() + "/repos/acme/app/actions/runs")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestContractRefusesDrift(t *testing.T) {
	c, err := ghtest.LoadContract()
	if err != nil {
		t.Fatal(err)
	}
	const op = "actions/list-workflow-runs-for-repo"
	tests := []struct {
		name   string
		edit   func(run map[string]any)
		status int
		ok     bool
	}{
		{"as served", func(map[string]any) {}, 200, true},
		{"required field missing", func(r map[string]any) { delete(r, "head_sha") }, 200, false},
		{"field GitHub does not document", func(r map[string]any) { r["head_repo_name"] = "x" }, 200, false},
		{"wrong type", func(r map[string]any) { r["id"] = "12" }, 200, false},
		{"null where not nullable", func(r map[string]any) { r["head_repository"] = nil }, 200, false},
		{"null where nullable", func(r map[string]any) { r["conclusion"] = nil }, 200, true},
		{"nested object drifts", func(r map[string]any) { delete(r["repository"].(map[string]any), "full_name") }, 200, false},
		{"undocumented status", func(map[string]any) {}, 418, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := runBody(t)
			tt.edit(body["workflow_runs"].([]any)[0].(map[string]any))
			b, _ := json.Marshal(body)
			err := c.CheckResponse(op, tt.status, http.Header{}, b)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckResponse = %v, want ok %v", err, tt.ok)
			}
		})
	}
	if err := c.CheckResponse("actions/download-artifact", 302, http.Header{}, nil); err == nil {
		t.Error("a 302 without Location passed")
	}
	if err := c.CheckResponse("actions/list-workflow-runs", 304, http.Header{}, nil); err != nil {
		t.Errorf("304: %v", err)
	}
	if err := c.CheckResponse(op, 429, http.Header{}, []byte(`{"message":"slow down","documentation_url":"x"}`)); err != nil {
		t.Errorf("429: %v", err)
	}
	queries := []struct {
		q  string
		ok bool
	}{
		{"status=success&per_page=100&page=2&created=%3E%3D2025-01-01T00%3A00%3A00Z&branch=main", true},
		{"status=done", false},
		{"per_page=many", false},
		{"state=success", false},
	}
	for _, tt := range queries {
		v, _ := url.ParseQuery(tt.q)
		if err := c.CheckQuery(op, v); (err == nil) != tt.ok {
			t.Errorf("CheckQuery(%s) = %v, want ok %v", tt.q, err, tt.ok)
		}
	}
}

// TestExtractMatchesNPM regenerates the extract from the pinned npm
// tarball and compares it with the committed one. It needs npm and its
// registry; where either is missing it says so and skips, and CI, which
// has both, runs it. A tarball whose integrity differs from the pinned one
// fails, whatever the network.
func TestExtractMatchesNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no network")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed: the committed extract is not re-derived here")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "pack", "--silent", "--prefer-offline", "--fetch-retries=1", ghtest.OpenAPIPackage+"@"+ghtest.OpenAPIVersion, "--pack-destination", dir)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Skipf("npm pack could not fetch %s@%s (offline?): %v\n%s", ghtest.OpenAPIPackage, ghtest.OpenAPIVersion, err, out.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	if len(files) != 1 {
		t.Fatalf("npm pack left %v", files)
	}
	tgz, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := ghtest.Integrity(tgz); got != ghtest.OpenAPIIntegrity {
		t.Fatalf("the registry's %s@%s has integrity %s, pinned %s", ghtest.OpenAPIPackage, ghtest.OpenAPIVersion, got, ghtest.OpenAPIIntegrity)
	}
	want, err := ghtest.ExtractSchemas(tgz)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, ghtest.ExtractJSON) {
		t.Fatalf("testdata/openapi-actions.json differs from what gen.go derives from the pinned tarball: run go run gen.go (see its header)")
	}
	if !strings.Contains(string(want), ghtest.OpenAPIIntegrity) {
		t.Fatal("the extract does not record the tarball's integrity")
	}
}
