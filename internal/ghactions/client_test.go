package ghactions_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/ghactions"
	"github.com/vulntune/vulntune/internal/ghactions/ghtest"
)

const token = "ghs_standInToken0123456789"

func newClient(t *testing.T, s *ghtest.Server, tok string) *ghactions.Client {
	t.Helper()
	c, err := ghactions.New(ghactions.Options{APIURL: s.URL(), Token: tok, HTTPClient: &http.Client{Timeout: 10 * time.Second},
		Clock: s.Clock(), MaxWait: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestListRunsFiltersAndPages(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token})
	for i := range 230 {
		s.AddRun(ghtest.RunSpec{Repo: "acme/app", Branch: []string{"main", "dev"}[i%2]})
	}
	s.AddRun(ghtest.RunSpec{Repo: "acme/app", Workflow: "other.yml"})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app", Status: "in_progress"})
	failed := s.AddRun(ghtest.RunSpec{Repo: "acme/app", Conclusion: "failure"})
	c := newClient(t, s, token)
	ctx := context.Background()
	tests := []struct {
		name      string
		q         ghactions.RunQuery
		want      int
		wantPages int
	}{
		{"repo-wide, every status", ghactions.RunQuery{Repo: "acme/app"}, 233, 3},
		{"successful only", ghactions.RunQuery{Repo: "acme/app", Status: "success"}, 231, 3},
		{"one workflow by file", ghactions.RunQuery{Repo: "acme/app", Workflow: "security.yml", Status: "success"}, 230, 3},
		{"one branch", ghactions.RunQuery{Repo: "acme/app", Workflow: "security.yml", Branch: "dev", Status: "success"}, 115, 2},
		{"created since", ghactions.RunQuery{Repo: "acme/app", Workflow: "security.yml", Status: "success", Created: ">=2025-01-01T03:00:00Z"}, 50, 1},
		{"other workflow", ghactions.RunQuery{Repo: "acme/app", Workflow: "other.yml"}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ListRuns(ctx, tt.q, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Runs) != tt.want || got.Requests != tt.wantPages {
				t.Fatalf("got %d runs in %d requests, want %d in %d", len(got.Runs), got.Requests, tt.want, tt.wantPages)
			}
			seen := map[int64]bool{}
			for i, r := range got.Runs {
				if seen[r.ID] {
					t.Fatalf("run %d listed twice", r.ID)
				}
				seen[r.ID] = true
				if r.ID == failed && tt.q.Status == "success" {
					t.Fatal("failed run listed under status=success")
				}
				if i > 0 && r.CreatedAt.After(got.Runs[i-1].CreatedAt) {
					t.Fatal("runs not newest first")
				}
				if r.Repo != "acme/app" || r.HeadRepo != "acme/app" || r.HeadSHA == "" {
					t.Fatalf("run fields not read: %+v", r)
				}
			}
		})
	}
	// By numeric workflow id, as `--workflow 1234` gives it.
	all, _ := c.ListRuns(ctx, ghactions.RunQuery{Repo: "acme/app", Workflow: "security.yml"}, "")
	byID, err := c.ListRuns(ctx, ghactions.RunQuery{Repo: "acme/app", Workflow: itoa(all.Runs[0].WorkflowID)}, "")
	if err != nil || len(byID.Runs) != len(all.Runs) {
		t.Fatalf("by id: %v, %d runs, want %d", err, len(byID.Runs), len(all.Runs))
	}
	var ae *ghactions.APIError
	if _, err := c.ListRuns(ctx, ghactions.RunQuery{Repo: "acme/app", Workflow: "missing.yml"}, ""); !errors.As(err, &ae) || ae.Status != 404 || ae.Transient() {
		t.Fatalf("missing workflow: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestConditionalListing(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	c := newClient(t, s, token)
	ctx := context.Background()
	q := ghactions.RunQuery{Repo: "acme/app", Workflow: "security.yml", Status: "success"}
	first, err := c.ListRuns(ctx, q, "")
	if err != nil || first.ETag == "" || first.NotModified {
		t.Fatalf("first listing: %+v, %v", first, err)
	}
	s.ResetRequests()
	before := c.Requests()
	idle, err := c.ListRuns(ctx, q, first.ETag)
	if err != nil || !idle.NotModified || len(idle.Runs) != 0 {
		t.Fatalf("unchanged listing: %+v, %v", idle, err)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Status != http.StatusNotModified || reqs[0].IfNoneMatch != first.ETag || c.Requests()-before != 1 {
		t.Fatalf("an unchanged listing should be one conditional request answered 304, got %+v", reqs)
	}
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	changed, err := c.ListRuns(ctx, q, first.ETag)
	if err != nil || changed.NotModified || len(changed.Runs) != 2 || changed.ETag == first.ETag {
		t.Fatalf("changed listing: %+v, %v", changed, err)
	}
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(s *ghtest.Server)
		wantSlept time.Duration
		wantErr   bool
	}{
		{"secondary 429 with Retry-After", func(s *ghtest.Server) { s.FailNext(1, "", 429, "30") }, 30 * time.Second, false},
		{"secondary 403 with Retry-After twice", func(s *ghtest.Server) { s.FailNext(2, "", 403, "7") }, 14 * time.Second, false},
		{"secondary 403 without a hint", func(s *ghtest.Server) { s.FailNext(1, "", 403, "") }, time.Minute, false},
		{"primary budget spent", func(s *ghtest.Server) {
			s.SetRateLimit(0, s.Clock().Now().Add(10*time.Minute))
		}, 10*time.Minute + time.Second, false},
		{"wait longer than allowed", func(s *ghtest.Server) { s.FailNext(1, "", 429, "7200") }, 0, true},
		{"retries exhausted", func(s *ghtest.Server) { s.FailNext(10, "", 429, "1") }, 4 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ghtest.New(t, ghtest.Options{Token: token})
			s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
			tt.setup(s)
			c := newClient(t, s, token)
			got, err := c.ListRuns(context.Background(), ghactions.RunQuery{Repo: "acme/app"}, "")
			var total time.Duration
			for _, d := range s.Clock().Slept() {
				total += d
			}
			if total != tt.wantSlept {
				t.Errorf("waited %v, want %v (%v)", total, tt.wantSlept, s.Clock().Slept())
			}
			if tt.wantErr {
				var rl *ghactions.RateLimitError
				var ae *ghactions.APIError
				if !errors.As(err, &rl) || !errors.As(err, &ae) || !ae.Transient() {
					t.Fatalf("want a transient rate-limit error, got %v", err)
				}
				return
			}
			if err != nil || len(got.Runs) != 1 {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestBudgetSpentOnSuccessWaitsBeforeNextRequest(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	reset := s.Clock().Now().Add(20 * time.Minute)
	s.SetRateLimit(1, reset)
	c := newClient(t, s, token)
	if _, err := c.ListRuns(context.Background(), ghactions.RunQuery{Repo: "acme/app"}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListRuns(context.Background(), ghactions.RunQuery{Repo: "acme/app"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Requests() {
		if r.Status != http.StatusOK {
			t.Fatalf("a request was spent on a refusal: %+v", r)
		}
	}
	if now := s.Clock().Now(); now.Before(reset) {
		t.Fatalf("second request sent at %v, before the reset at %v", now, reset)
	}
}

func TestDownload(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token})
	run := s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	report := zipOf(t, map[string]string{"trivy.sarif": `{"version":"2.1.0","runs":[]}`})
	ok := s.AddArtifact(run, ghtest.ArtifactSpec{Name: "sarif", Zip: report})
	s.AddArtifact(run, ghtest.ArtifactSpec{Name: "old", Zip: report, Expired: true})
	s.AddArtifact(run, ghtest.ArtifactSpec{Name: "gone", Zip: report, Gone: true})
	s.AddArtifact(run, ghtest.ArtifactSpec{Name: "big", Zip: bytes.Repeat([]byte{1}, 4096), NoDigest: true})
	s.AddArtifact(run, ghtest.ArtifactSpec{Name: "liar", Zip: bytes.Repeat([]byte{1}, 4096), Size: 10, NoDigest: true})
	c := newClient(t, s, token)
	ctx := context.Background()
	arts, err := c.ListArtifacts(ctx, "acme/app", run)
	if err != nil || len(arts) != 5 {
		t.Fatalf("artifacts: %v, %v", arts, err)
	}
	byName := map[string]ghactions.Artifact{}
	for _, a := range arts {
		byName[a.Name] = a
	}
	if byName["sarif"].ID != ok || byName["sarif"].Digest == "" || !byName["old"].Expired {
		t.Fatalf("artifact fields not read: %+v", arts)
	}
	tests := []struct {
		name    string
		wantErr error
	}{
		{"sarif", nil}, {"old", ghactions.ErrExpired}, {"gone", ghactions.ErrExpired},
		{"big", ghactions.ErrTooLarge}, {"liar", ghactions.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := c.Download(ctx, "acme/app", byName[tt.name], 1024)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !bytes.Equal(data, report) {
				t.Fatalf("download: %d bytes, %v", len(data), err)
			}
		})
	}
	var apiCalls, blobCalls int
	for _, r := range s.Requests() {
		switch {
		case r.Op == "blob":
			blobCalls++
			if r.HasAuth {
				t.Error("blob storage got an Authorization header")
			}
		case !r.Authorized:
			t.Errorf("API request without the token: %+v", r)
		default:
			apiCalls++
		}
	}
	// The expired artifact costs no request; the too-large one is refused
	// by its listed size; the lying one by its bytes.
	if blobCalls != 2 {
		t.Errorf("blob storage called %d times, want 2 (sarif, liar)", blobCalls)
	}
	if _, err := c.Download(ctx, "acme/app", ghactions.Artifact{ID: byName["sarif"].ID, Name: "sarif", Digest: "sha256:00"}, 0); err == nil {
		t.Error("a download that does not match its digest was accepted")
	}
}

func TestBadToken(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	c := newClient(t, s, "wrong")
	_, err := c.ListRuns(context.Background(), ghactions.RunQuery{Repo: "acme/app"}, "")
	var ae *ghactions.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Transient() {
		t.Fatalf("got %v", err)
	}
	if bytes.Contains([]byte(err.Error()), []byte("wrong")) {
		t.Fatalf("the token appears in the error: %v", err)
	}
}

func TestEnterprisePrefix(t *testing.T) {
	s := ghtest.New(t, ghtest.Options{Token: token, Prefix: "/api/v3"})
	s.AddRun(ghtest.RunSpec{Repo: "acme/app"})
	c := newClient(t, s, token)
	got, err := c.ListRuns(context.Background(), ghactions.RunQuery{Repo: "acme/app"}, "")
	if err != nil || len(got.Runs) != 1 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.com", "not a url", "https://"} {
		if _, err := ghactions.New(ghactions.Options{APIURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func TestEligible(t *testing.T) {
	base := ghactions.Run{Repo: "acme/app", HeadRepo: "acme/app", Event: "push", Status: "completed", Conclusion: "success"}
	with := func(f func(*ghactions.Run)) ghactions.Run { r := base; f(&r); return r }
	tests := []struct {
		name       string
		run        ghactions.Run
		allowForks bool
		want       bool
	}{
		{"push from the repo", base, false, true},
		{"pull request from the repo", with(func(r *ghactions.Run) { r.Event = "pull_request" }), false, true},
		{"pull request from a fork", with(func(r *ghactions.Run) { r.Event = "pull_request"; r.HeadRepo = "mallory/app" }), false, false},
		{"pull_request_target from a fork", with(func(r *ghactions.Run) { r.Event = "pull_request_target"; r.HeadRepo = "mallory/app" }), false, false},
		{"fork allowed", with(func(r *ghactions.Run) { r.Event = "pull_request"; r.HeadRepo = "mallory/app" }), true, true},
		{"deleted fork", with(func(r *ghactions.Run) { r.HeadRepo = "" }), false, false},
		{"case differs", with(func(r *ghactions.Run) { r.HeadRepo = "ACME/App" }), false, true},
		{"in progress", with(func(r *ghactions.Run) { r.Status = "in_progress"; r.Conclusion = "" }), true, false},
		{"failed", with(func(r *ghactions.Run) { r.Conclusion = "failure" }), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := ghactions.Eligible(tt.run, tt.allowForks)
			if got != tt.want || (!got && why == "") {
				t.Fatalf("Eligible = %v (%q), want %v", got, why, tt.want)
			}
		})
	}
}
