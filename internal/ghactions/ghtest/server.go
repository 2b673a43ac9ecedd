// Package ghtest is a GitHub stand-in for tests (DESIGN.md §6): a local
// server for the Actions routes the daemon uses (list workflow runs, list a
// run's artifacts, download an artifact), with filters, pagination, ETags
// and 304s, primary and secondary rate limits, expired artifacts, and
// artifact downloads answered by a 302 to a second listener, playing blob
// storage, that fails the test when a request reaches it with an
// Authorization header. Every response it sends and every query it
// receives is checked against GitHub's own OpenAPI description (the
// committed extract of the pinned @octokit/openapi; see gen.go), so the
// stand-in cannot drift from the real API unnoticed.
package ghtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RunSpec describes a workflow run to serve. Zero fields get defaults: a
// successful, completed push run of security.yml on main, head repository
// the repository itself, created one minute after the previous run.
type RunSpec struct {
	Repo       string // OWNER/NAME (required)
	HeadRepo   string // default Repo; another one makes it a fork's run
	Workflow   string // file name under .github/workflows (default security.yml)
	WorkflowID int64  // default derived from Workflow
	Event      string // default push
	Status     string // default completed
	Conclusion string // default success ("" with a Status other than completed)
	Branch     string // default main
	SHA        string
	Created    time.Time
}

// ArtifactSpec describes an artifact of a run.
type ArtifactSpec struct {
	Name string
	Zip  []byte
	// Expired lists the artifact as expired; Gone keeps it listed as live
	// but answers its download with 410, as when it expires in between.
	Expired, Gone bool
	// NoDigest leaves the digest out, as for upload-artifact before v4.
	NoDigest bool
	// Size overrides size_in_bytes (a listing that understates the size).
	Size int64
}

// Request is one request the stand-in received.
type Request struct {
	Op          string // GitHub's operationId, "blob" for blob storage
	Path        string
	Query       url.Values
	Status      int
	IfNoneMatch string
	Authorized  bool // carried the expected token
	HasAuth     bool // carried any Authorization header
}

// Options configures New.
type Options struct {
	// Token, when set, is required as "Bearer <token>" on every API
	// request (401 otherwise).
	Token string
	// Clock drives created_at defaults and rate-limit resets (default a
	// fake clock at 2025-01-01T00:00:00Z).
	Clock *Clock
	// Prefix serves the API under a path, as GitHub Enterprise Server
	// does under /api/v3.
	Prefix string
	// RateLimit is the primary budget per reset window (default 5000).
	RateLimit int
}

// TB is what the stand-in needs of a test: testing.TB has it, and so can
// a benchmark program that serves the stand-in outside go test.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

var _ TB = testing.TB(nil)

// Server is the stand-in. Create it with New; it closes with the test.
type Server struct {
	t        TB
	apiSrv   *httptest.Server
	blob     *httptest.Server
	contract *Contract
	opts     Options

	mu        sync.Mutex
	repos     map[string]*repo
	runs      []*run
	artifacts map[int64]*artifact
	nextID    int64
	log       []Request
	faults    []fault
	remaining int
	reset     time.Time
}

type repo struct {
	name string
	id   int64
	runs int
}

type run struct {
	RunSpec
	id     int64
	number int
	repo   *repo
	server *Server
}

func (r *run) workflowName() string {
	return strings.TrimSuffix(strings.TrimSuffix(r.Workflow, ".yml"), ".yaml")
}

func (r *run) headRepo() string { return r.HeadRepo }

func (r *run) headRepoID() int64 {
	if strings.EqualFold(r.HeadRepo, r.repo.name) {
		return r.repo.id
	}
	return r.repo.id + 500_000
}

type artifact struct {
	ArtifactSpec
	id     int64
	run    *run
	sig    string
	digest string
}

func (a *artifact) size() int64 {
	if a.Size > 0 {
		return a.Size
	}
	return int64(len(a.Zip))
}

type fault struct {
	op         string // "" = any API operation
	status     int
	retryAfter string
}

// New starts the stand-in's two listeners, closed when the test ends.
func New(t TB, o Options) *Server {
	t.Helper()
	c, err := LoadContract()
	if err != nil {
		t.Fatalf("ghtest: %v", err)
	}
	if o.Clock == nil {
		o.Clock = NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	if o.RateLimit <= 0 {
		o.RateLimit = 5000
	}
	s := &Server{t: t, contract: c, opts: o, repos: map[string]*repo{}, artifacts: map[int64]*artifact{},
		nextID: 1000, remaining: o.RateLimit, reset: o.Clock.Now().Add(time.Hour)}
	mux := http.NewServeMux()
	p := o.Prefix
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/actions/runs", s.route(s.listRuns, "actions/list-workflow-runs-for-repo"))
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/actions/workflows/{workflow}/runs", s.route(s.listRuns, "actions/list-workflow-runs"))
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/actions/runs/{run}/artifacts", s.route(s.listArtifacts, "actions/list-workflow-run-artifacts"))
	mux.HandleFunc("GET "+p+"/repos/{owner}/{repo}/actions/artifacts/{id}/{format}", s.route(s.download, "actions/download-artifact"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("ghtest: the client called %s %s, a route the stand-in does not serve", r.Method, r.URL.Path)
		http.NotFound(w, r)
	})
	s.apiSrv = httptest.NewServer(mux)
	s.blob = httptest.NewServer(http.HandlerFunc(s.serveBlob))
	t.Cleanup(func() {
		s.apiSrv.Close()
		s.blob.Close()
	})
	return s
}

// URL is the API base URL to configure the client with.
func (s *Server) URL() string { return s.apiSrv.URL + s.opts.Prefix }

// BlobURL is blob storage's base URL (another port: another origin).
func (s *Server) BlobURL() string { return s.blob.URL }

// Clock is the stand-in's clock.
func (s *Server) Clock() *Clock { return s.opts.Clock }

// AddRun adds a workflow run and returns its id.
func (s *Server) AddRun(spec RunSpec) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repo(spec.Repo)
	if spec.HeadRepo == "" {
		spec.HeadRepo = spec.Repo
	}
	if spec.Workflow == "" {
		spec.Workflow = "security.yml"
	}
	if spec.WorkflowID == 0 {
		sum := sha256.Sum256([]byte(spec.Workflow))
		spec.WorkflowID = int64(sum[0])<<8 | int64(sum[1]) + 1
	}
	if spec.Event == "" {
		spec.Event = "push"
	}
	if spec.Status == "" {
		spec.Status = "completed"
	}
	if spec.Conclusion == "" && spec.Status == "completed" {
		spec.Conclusion = "success"
	}
	if spec.Branch == "" {
		spec.Branch = "main"
	}
	s.nextID++
	if spec.SHA == "" {
		sum := sha256.Sum256([]byte(strconv.FormatInt(s.nextID, 10)))
		spec.SHA = hex.EncodeToString(sum[:20])
	}
	if spec.Created.IsZero() {
		spec.Created = s.opts.Clock.Now().Add(time.Duration(len(s.runs)) * time.Minute)
	}
	rp.runs++
	r := &run{RunSpec: spec, id: s.nextID, number: rp.runs, repo: rp, server: s}
	s.runs = append(s.runs, r)
	return r.id
}

// SetRun changes a run's status and conclusion (a run that completes).
func (s *Server) SetRun(id int64, status, conclusion string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs {
		if r.id == id {
			r.Status, r.Conclusion = status, conclusion
			return
		}
	}
	s.t.Fatalf("ghtest: no run %d", id)
}

// AddArtifact adds an artifact to run runID and returns its id.
func (s *Server) AddArtifact(runID int64, spec ArtifactSpec) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var r *run
	for _, x := range s.runs {
		if x.id == runID {
			r = x
		}
	}
	if r == nil {
		s.t.Fatalf("ghtest: no run %d", runID)
	}
	s.nextID++
	a := &artifact{ArtifactSpec: spec, id: s.nextID, run: r, sig: fmt.Sprintf("sig%d", s.nextID*7919)}
	if !spec.NoDigest {
		sum := sha256.Sum256(spec.Zip)
		a.digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	s.artifacts[a.id] = a
	return a.id
}

// FailNext makes the next n API requests (of operation op, "" for any)
// answer status with Retry-After retryAfter ("" for none): GitHub's
// secondary rate limit with 403 or 429, an outage with 5xx.
func (s *Server) FailNext(n int, op string, status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{op: op, status: status, retryAfter: retryAfter})
	}
}

// SetRateLimit sets the primary budget left and when it resets.
func (s *Server) SetRateLimit(remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remaining, s.reset = remaining, reset
}

// Requests returns every request so far, blob storage's included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetRequests forgets the requests so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

func (s *Server) repo(name string) *repo {
	key := strings.ToLower(name)
	rp := s.repos[key]
	if rp == nil {
		rp = &repo{name: name, id: int64(len(s.repos)+1) * 100}
		s.repos[key] = rp
	}
	return rp
}

// answer is what a handler produces; api() sends it after the checks.
type answer struct {
	status   int
	body     any
	header   http.Header
	etag     bool // conditional: ETag, and 304 on a match
	uncosted bool // costs no rate limit (304)
}

func (s *Server) route(h func(r *http.Request) answer, op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.contract.CheckQuery(op, r.URL.Query()); err != nil {
			s.t.Errorf("ghtest: client request does not match GitHub's description: %v", err)
		}
		rec := Request{Op: op, Path: r.URL.Path, Query: r.URL.Query(), IfNoneMatch: r.Header.Get("If-None-Match"),
			HasAuth: r.Header.Get("Authorization") != ""}
		rec.Authorized = s.opts.Token == "" || r.Header.Get("Authorization") == "Bearer "+s.opts.Token
		a := s.gate(op, rec.Authorized)
		if a.status == 0 {
			a = h(r)
		}
		var body []byte
		if a.body != nil {
			body, _ = json.Marshal(a.body)
		}
		hdr := w.Header()
		for k, v := range a.header {
			hdr[k] = v
		}
		if a.status == http.StatusOK && a.etag {
			sum := sha256.Sum256(body)
			tag := `W/"` + hex.EncodeToString(sum[:16]) + `"`
			hdr.Set("ETag", tag)
			if rec.IfNoneMatch == tag {
				a.status, body, a.uncosted = http.StatusNotModified, nil, true
			}
		}
		if !a.uncosted && a.status != http.StatusForbidden && a.status != http.StatusTooManyRequests {
			s.remaining--
		}
		s.rateHeaders(hdr)
		if err := s.contract.CheckResponse(op, a.status, hdr, body); err != nil {
			s.t.Errorf("ghtest: stand-in response does not match GitHub's description: %v", err)
		}
		rec.Status = a.status
		s.log = append(s.log, rec)
		if body != nil {
			hdr.Set("Content-Type", "application/json; charset=utf-8")
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(body)
	}
}

// gate answers for auth, injected faults and the primary rate limit.
func (s *Server) gate(op string, authorized bool) answer {
	now := s.opts.Clock.Now()
	if !now.Before(s.reset) {
		s.remaining, s.reset = s.opts.RateLimit, now.Add(time.Hour)
	}
	if !authorized {
		return answer{status: http.StatusUnauthorized, body: errorJSON("Bad credentials")}
	}
	for i, f := range s.faults {
		if f.op == "" || f.op == op {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			h := http.Header{}
			if f.retryAfter != "" {
				h.Set("Retry-After", f.retryAfter)
			}
			msg := "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
			if f.status >= 500 {
				msg = "Server Error"
			}
			return answer{status: f.status, header: h, body: errorJSON(msg)}
		}
	}
	if s.remaining <= 0 {
		return answer{status: http.StatusForbidden, body: errorJSON("API rate limit exceeded for installation.")}
	}
	return answer{}
}

func (s *Server) rateHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.opts.RateLimit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(s.remaining, 0)))
	h.Set("X-RateLimit-Used", strconv.Itoa(s.opts.RateLimit-max(s.remaining, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(s.reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

func (s *Server) listRuns(r *http.Request) answer {
	q := r.URL.Query()
	rp := s.repos[strings.ToLower(r.PathValue("owner")+"/"+r.PathValue("repo"))]
	if rp == nil {
		return answer{status: http.StatusNotFound, body: errorJSON("Not Found")}
	}
	wf := r.PathValue("workflow")
	var sel []*run
	known := wf == ""
	for _, x := range s.runs {
		if x.repo != rp {
			continue
		}
		if wf != "" {
			if strconv.FormatInt(x.WorkflowID, 10) != wf && x.Workflow != wf {
				continue
			}
			known = true
		}
		if !matchRun(x, q) {
			continue
		}
		sel = append(sel, x)
	}
	if !known {
		return answer{status: http.StatusNotFound, body: errorJSON("Not Found")}
	}
	sort.SliceStable(sel, func(i, j int) bool {
		if !sel[i].Created.Equal(sel[j].Created) {
			return sel[i].Created.After(sel[j].Created)
		}
		return sel[i].id > sel[j].id
	})
	api := s.apiSrv.URL + s.opts.Prefix
	items, link := paginate(len(sel), q, s.apiSrv.URL+r.URL.Path)
	runs := []any{}
	for _, i := range items {
		runs = append(runs, runJSON(api, sel[i]))
	}
	h := http.Header{}
	if link != "" {
		h.Set("Link", link)
	}
	return answer{status: http.StatusOK, header: h, etag: true, body: map[string]any{"total_count": len(sel), "workflow_runs": runs}}
}

func matchRun(x *run, q url.Values) bool {
	if v := q.Get("branch"); v != "" && x.Branch != v {
		return false
	}
	if v := q.Get("event"); v != "" && x.Event != v {
		return false
	}
	if v := q.Get("status"); v != "" && x.Status != v && x.Conclusion != v {
		return false
	}
	if v := q.Get("head_sha"); v != "" && x.SHA != v {
		return false
	}
	if v := q.Get("created"); v != "" && !matchCreated(x.Created, v) {
		return false
	}
	return true
}

// matchCreated applies GitHub's date qualifiers: >=, >, <=, <, a..b, or a
// bare date or time.
func matchCreated(t time.Time, expr string) bool {
	parse := func(s string) (time.Time, bool) {
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
			if v, err := time.Parse(layout, s); err == nil {
				return v, true
			}
		}
		return time.Time{}, false
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(expr, op); ok {
			v, ok := parse(rest)
			if !ok {
				return false
			}
			switch op {
			case ">=":
				return !t.Before(v)
			case "<=":
				return !t.After(v)
			case ">":
				return t.After(v)
			default:
				return t.Before(v)
			}
		}
	}
	if a, b, ok := strings.Cut(expr, ".."); ok {
		va, oka := parse(a)
		vb, okb := parse(b)
		return oka && okb && !t.Before(va) && !t.After(vb)
	}
	v, ok := parse(expr)
	return ok && t.UTC().Format("2006-01-02") == v.UTC().Format("2006-01-02")
}

// paginate picks the indexes of the requested page and builds the Link
// header GitHub sends (absolute URLs, the other parameters kept).
func paginate(n int, q url.Values, base string) ([]int, string) {
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	last := max((n+per-1)/per, 1)
	var idx []int
	for i := (page - 1) * per; i < min(page*per, n); i++ {
		idx = append(idx, i)
	}
	link := func(p int, rel string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		return fmt.Sprintf("<%s?%s>; rel=%q", base, v.Encode(), rel)
	}
	var parts []string
	if page < last {
		parts = append(parts, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		parts = append(parts, link(1, "first"), link(page-1, "prev"))
	}
	return idx, strings.Join(parts, ", ")
}

func (s *Server) listArtifacts(r *http.Request) answer {
	id, _ := strconv.ParseInt(r.PathValue("run"), 10, 64)
	var sel []*artifact
	found := false
	for _, x := range s.runs {
		if x.id == id && strings.EqualFold(x.repo.name, r.PathValue("owner")+"/"+r.PathValue("repo")) {
			found = true
		}
	}
	if !found {
		return answer{status: http.StatusNotFound, body: errorJSON("Not Found")}
	}
	name := r.URL.Query().Get("name")
	for _, a := range s.artifacts {
		if a.run.id == id && (name == "" || a.Name == name) {
			sel = append(sel, a)
		}
	}
	sort.Slice(sel, func(i, j int) bool { return sel[i].id > sel[j].id })
	if r.URL.Query().Get("direction") == "asc" {
		sort.Slice(sel, func(i, j int) bool { return sel[i].id < sel[j].id })
	}
	items, link := paginate(len(sel), r.URL.Query(), s.apiSrv.URL+r.URL.Path)
	list := []any{}
	for _, i := range items {
		list = append(list, artifactJSON(s.apiSrv.URL+s.opts.Prefix, sel[i]))
	}
	h := http.Header{}
	if link != "" {
		h.Set("Link", link)
	}
	return answer{status: http.StatusOK, header: h, body: map[string]any{"total_count": len(sel), "artifacts": list}}
}

func (s *Server) download(r *http.Request) answer {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	a := s.artifacts[id]
	if a == nil || r.PathValue("format") != "zip" || !strings.EqualFold(a.run.repo.name, r.PathValue("owner")+"/"+r.PathValue("repo")) {
		return answer{status: http.StatusNotFound, body: errorJSON("Not Found")}
	}
	if a.Expired || a.Gone {
		return answer{status: http.StatusGone, body: errorJSON("Artifact has expired")}
	}
	h := http.Header{}
	h.Set("Location", fmt.Sprintf("%s/blobs/%d.zip?sig=%s", s.blob.URL, a.id, a.sig))
	return answer{status: http.StatusFound, header: h}
}

func (s *Server) serveBlob(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{Op: "blob", Path: r.URL.Path, Query: r.URL.Query(), HasAuth: r.Header.Get("Authorization") != ""}
	defer func() { s.log = append(s.log, rec) }()
	if rec.HasAuth {
		s.t.Errorf("ghtest: blob storage received an Authorization header: the token crossed origins")
		rec.Status = http.StatusBadRequest
		http.Error(w, "Authorization not allowed with a signed URL", rec.Status)
		return
	}
	id, _ := strconv.ParseInt(strings.TrimSuffix(path.Base(r.URL.Path), ".zip"), 10, 64)
	a := s.artifacts[id]
	if a == nil || r.URL.Query().Get("sig") != a.sig {
		rec.Status = http.StatusForbidden
		http.Error(w, "signature mismatch", rec.Status)
		return
	}
	rec.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Zip)))
	_, _ = bytes.NewReader(a.Zip).WriteTo(w)
}
