package hubtest_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vulntune/vulntune/internal/hub/hubtest"
)

// recordingTB stands in for the test the server reports to, so a test can
// check that the stand-in fails its test without failing this one.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) failures() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.errors, "\n")
}

func do(t *testing.T, s *hubtest.Server, method, path, token, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStandInFailsLoudly(t *testing.T) {
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantFailure        string
	}{
		{"unserved route", "GET", "/api/spaces-hardware", 501, "unserved route GET /api/spaces-hardware"},
		{"unserved method", "DELETE", "/api/repos/delete", 501, "unserved route DELETE /api/repos/delete"},
		{"xet write token", "GET", "/api/models/a/b/xet-write-token/main", 501, "HF_HUB_DISABLE_XET=1"},
		{"served route", "GET", "/api/whoami-v2", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			s := hubtest.New(tb, hubtest.Options{})
			status, _ := do(t, s, tt.method, tt.path, hubtest.DefaultWriteToken, "", "")
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d", status, tt.wantStatus)
			}
			got := tb.failures()
			if tt.wantFailure == "" && got != "" || !strings.Contains(got, tt.wantFailure) {
				t.Errorf("test failures %q, want one containing %q", got, tt.wantFailure)
			}
		})
	}
}

func TestStandInTokens(t *testing.T) {
	create := `{"name": "m", "type": "model", "private": true}`
	tests := []struct {
		name, method, path, token, body string
		want                            int
	}{
		{"whoami without token", "GET", "/api/whoami-v2", "", "", 401},
		{"whoami with an unknown token", "GET", "/api/whoami-v2", "nope", "", 401},
		{"whoami read", "GET", "/api/whoami-v2", hubtest.DefaultReadToken, "", 200},
		{"create without token", "POST", "/api/repos/create", "", create, 401},
		{"create with the read token", "POST", "/api/repos/create", hubtest.DefaultReadToken, create, 403},
		{"create in another namespace", "POST", "/api/repos/create", hubtest.DefaultWriteToken, `{"name": "m", "organization": "someone-else"}`, 403},
		{"create", "POST", "/api/repos/create", hubtest.DefaultWriteToken, create, 200},
		{"create again", "POST", "/api/repos/create", hubtest.DefaultWriteToken, create, 409},
		{"private repo without token", "GET", "/api/models/" + hubtest.DefaultUser + "/m", "", "", 404},
		{"private repo with the read token", "GET", "/api/models/" + hubtest.DefaultUser + "/m", hubtest.DefaultReadToken, "", 200},
		{"tag with the read token", "POST", "/api/models/" + hubtest.DefaultUser + "/m/tag/main", hubtest.DefaultReadToken, `{"tag": "v1"}`, 403},
		{"unknown revision", "GET", "/api/models/" + hubtest.DefaultUser + "/m/revision/nope", hubtest.DefaultReadToken, "", 404},
	}
	s := hubtest.New(t, hubtest.Options{})
	for _, tt := range tests {
		if got, body := do(t, s, tt.method, tt.path, tt.token, "application/json", tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d (%s)", tt.name, got, tt.want, body)
		}
	}
	if w := s.Writes(); len(w) != 6 || w[0].Route != "create-repo" {
		t.Errorf("writes recorded: %+v", w)
	}
	for _, r := range s.Requests() {
		if a := r.Header.Get("Authorization"); strings.Contains(a, "token-000") {
			t.Errorf("request log keeps the token: %q", a)
		}
	}
}

func TestStandInCommitsAndFaults(t *testing.T) {
	s := hubtest.New(t, hubtest.Options{Canaries: []string{"canary-value-42"}})
	tok := hubtest.DefaultWriteToken
	id := hubtest.DefaultUser + "/d"
	if st, b := do(t, s, "POST", "/api/repos/create", tok, "application/json", `{"name": "d", "type": "dataset"}`); st != 200 {
		t.Fatalf("create: %d %s", st, b)
	}
	commit := func(lines ...string) (int, string) {
		return do(t, s, "POST", "/api/datasets/"+id+"/commit/main", tok, "application/x-ndjson", strings.Join(lines, "\n")+"\n")
	}
	header := `{"key": "header", "value": {"summary": "add"}}`
	file := func(p, content string) string {
		return fmt.Sprintf(`{"key": "file", "value": {"path": %q, "content": %q, "encoding": "base64"}}`, p, base64.StdEncoding.EncodeToString([]byte(content)))
	}
	if st, b := commit(header, file("train.jsonl", "{}\n")); st != 200 {
		t.Fatalf("commit: %d %s", st, b)
	}
	if st, _ := commit(header, `{"key": "lfsFile", "value": {"path": "x.bin", "algo": "sha256", "oid": "00", "size": 1}}`); st != 422 {
		t.Errorf("commit of an LFS object never uploaded: %d, want 422", st)
	}
	if st, _ := commit(`{"key": "header", "value": {"summary": "stale", "parentCommit": "0000000000000000000000000000000000000000"}}`); st != 412 {
		t.Errorf("commit on a stale parent: %d, want 412", st)
	}
	h := s.History("dataset", id, "main")
	if len(h) != 2 || !bytes.Equal(h[0].Files["train.jsonl"], []byte("{}\n")) || h[0].Files[".gitattributes"] == nil {
		t.Fatalf("history: %+v", h)
	}

	s.Inject(hubtest.Fault{Route: "commit", Status: 503, Times: 2})
	for i, want := range []int{503, 503, 200} {
		if st, _ := commit(header, file("valid.jsonl", "{}\n")); st != want {
			t.Errorf("commit %d after injecting two 503s: %d, want %d", i, st, want)
		}
	}

	if st, _ := commit(header, file("README.md", "canary-value-42")); st != 200 {
		t.Fatal("commit with a canary failed")
	}
	leaks := s.Leaks()
	if len(leaks) != 1 || leaks[0].TokenElsewhere != "body (base64)" || leaks[0].Route != "commit" {
		t.Errorf("leaks: %+v, want the one commit carrying the canary in its body", leaks)
	}
	req, _ := http.NewRequest("GET", s.URL+"/api/whoami-v2?t="+tok, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if l := s.Leaks(); len(l) != 2 || l[1].TokenElsewhere != "url" {
		t.Errorf("a token in the query string was not flagged: %+v", l)
	}
}
