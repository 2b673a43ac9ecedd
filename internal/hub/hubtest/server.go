// Package hubtest is a Hugging Face Hub stand-in for tests (DESIGN.md §6):
// an HTTP server on 127.0.0.1 that serves the routes the official
// huggingface_hub client uses to check a token, create repos, validate card
// YAML, upload (preupload, LFS batch, basic transfer), commit, tag, branch,
// list and download files. Commits are real: every commit has an id and a
// full file set, so "unchanged content makes no new commit" and "a resumed
// upload does not re-send what the Hub already has" can be checked against
// its request log.
//
// It records every request (route, method, path, headers without the
// token, body size, and whether any configured token appeared anywhere but
// the Authorization header), can inject 429/5xx answers and hold uploads,
// and fails the test on any request to a route it does not serve, so a
// client change that calls something new is noticed, not silently answered.
// Only tests import it.
package hubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default account and token values: recognisable in logs, shaped like
// nothing a secret scanner would flag.
const (
	DefaultUser       = "vulntune-tester"
	DefaultReadToken  = "standin-read-token-0001"
	DefaultWriteToken = "standin-write-token-0002"
)

// Options configure a stand-in. The zero value serves DefaultUser with
// DefaultReadToken (read-only) and DefaultWriteToken (write).
type Options struct {
	// User is the account every token belongs to.
	User string
	// Orgs are organisations the user writes to.
	Orgs []string
	// ReadToken and WriteToken are the accepted tokens; a read token may
	// read private repos of the user but not write anything.
	ReadToken, WriteToken string
	// Canaries are extra strings that must never reach the stand-in
	// outside an Authorization header (e.g. a token under test).
	Canaries []string
}

// Request is one recorded request.
type Request struct {
	Route  string // route name, "" when unserved
	Method string
	Path   string
	Query  string
	// Header holds the request headers, Authorization replaced by
	// "Bearer <token name>" ("read", "write", "unknown").
	Header   http.Header
	BodySize int64
	Status   int
	// Writes says whether the route changes the Hub's state.
	Writes bool
	// TokenElsewhere names where a token or canary appeared outside the
	// Authorization header ("" when nowhere): "url", "header X", "body".
	TokenElsewhere string
}

// Server is a running stand-in. URL is its endpoint (HF_ENDPOINT).
type Server struct {
	URL string

	t    testing.TB
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	log      []Request
	leaks    []Request        // kept across ResetLog
	repos    map[string]*repo // "model:ns/name"
	uploads  map[string]pendingUpload
	faults   []*Fault
	holds    map[string]*Hold // by LFS oid
	nextID   int
	unserved []string
}

// New starts a stand-in for the duration of t.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.User == "" {
		opts.User = DefaultUser
	}
	if opts.ReadToken == "" {
		opts.ReadToken = DefaultReadToken
	}
	if opts.WriteToken == "" {
		opts.WriteToken = DefaultWriteToken
	}
	s := &Server{t: t, opts: opts, repos: map[string]*repo{}, uploads: map[string]pendingUpload{}, holds: map[string]*Hold{}}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.mu.Lock()
		for _, h := range s.holds {
			h.Release()
		}
		s.mu.Unlock()
		s.srv.Close()
	})
	return s
}

// Env returns the environment that points the official client at the
// stand-in: its endpoint, no Xet (see the xet route), no telemetry.
func (s *Server) Env() []string {
	return []string{"HF_ENDPOINT=" + s.URL, "HF_HUB_DISABLE_XET=1", "HF_HUB_DISABLE_TELEMETRY=1"}
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// ResetLog forgets the requests recorded so far, so a test can look at one
// phase (a rerun) alone.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
}

// Writes returns the recorded requests whose route changes state.
func (s *Server) Writes() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Writes {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many recorded requests hit route.
func (s *Server) Count(route string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Route == route {
			n++
		}
	}
	return n
}

// Leaks returns every request since the stand-in started (ResetLog does
// not forget them) that carried a token or canary outside the
// Authorization header.
func (s *Server) Leaks() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.leaks...)
}

// Fault makes the stand-in answer matching requests with Status instead of
// serving them, Times times (0: once).
type Fault struct {
	Route      string // route name, e.g. "commit", "preupload", "lfs-upload"
	Status     int
	Times      int
	RetryAfter string // Retry-After header value, if any
	hits       int
}

// Inject adds a fault; faults match in the order they were added.
func (s *Server) Inject(f Fault) {
	if f.Times == 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Hold blocks uploads of one LFS object until released, so a test can kill
// a client in the middle of an upload.
type Hold struct {
	reached   chan struct{}
	released  chan struct{}
	abandoned chan struct{}
	once      sync.Once
	seen      sync.Once
	gone      sync.Once
}

// Reached is closed when an upload of the held object arrives.
func (h *Hold) Reached() <-chan struct{} { return h.reached }

// Abandoned is closed once a held upload's client went away and the
// request is in the log.
func (h *Hold) Abandoned() <-chan struct{} { return h.abandoned }

// Release lets held uploads proceed.
func (h *Hold) Release() { h.once.Do(func() { close(h.released) }) }

// HoldUpload holds every upload of the LFS object oid (its SHA-256).
func (s *Server) HoldUpload(oid string) *Hold {
	h := &Hold{reached: make(chan struct{}), released: make(chan struct{}), abandoned: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds[oid] = h
	return h
}

// ServeHTTP records the request, applies faults and dispatches it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		// A client killed mid-upload; nothing to serve.
		s.record(r, "", false, int64(len(body)), 0, body)
		return
	}
	rt, m := match(r.Method, r.URL.EscapedPath())
	name := ""
	writes := false
	if rt != nil {
		name, writes = rt.name, rt.writes
	}
	rec := &statusRecorder{ResponseWriter: w}
	c := &call{r: r, body: body, m: m}
	defer func() {
		s.record(r, name, writes, int64(len(body)), rec.code(), body)
		if c.after != nil {
			c.after()
		}
	}()
	if rt == nil {
		msg := fmt.Sprintf("hub stand-in: unserved route %s %s", r.Method, r.URL.Path)
		s.mu.Lock()
		s.unserved = append(s.unserved, msg)
		s.mu.Unlock()
		s.t.Errorf("%s (a client change calls a route the stand-in does not serve: add it)", msg)
		http.Error(rec, msg, http.StatusNotImplemented)
		return
	}
	if f := s.fault(name); f != nil {
		if f.RetryAfter != "" {
			rec.Header().Set("Retry-After", f.RetryAfter)
		}
		writeError(rec, f.Status, "", fmt.Sprintf("injected %d", f.Status))
		return
	}
	rt.serve(s, rec, c)
}

// Unserved lists the unserved requests seen (each also failed the test).
func (s *Server) Unserved() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unserved...)
}

func (s *Server) fault(route string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Route == route && f.hits < f.Times {
			f.hits++
			return f
		}
	}
	return nil
}

func (s *Server) record(r *http.Request, route string, writes bool, size int64, status int, body []byte) {
	h := r.Header.Clone()
	if a := h.Get("Authorization"); a != "" {
		h.Set("Authorization", "Bearer <"+s.tokenName(strings.TrimPrefix(a, "Bearer "))+">")
	}
	req := Request{Route: route, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: h,
		BodySize: size, Status: status, Writes: writes, TokenElsewhere: s.leak(r, body)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, req)
	if req.TokenElsewhere != "" {
		s.leaks = append(s.leaks, req)
	}
}

func (s *Server) tokenName(v string) string {
	switch v {
	case s.opts.ReadToken:
		return "read"
	case s.opts.WriteToken:
		return "write"
	}
	return "unknown"
}

// leak reports where a token or canary appears outside Authorization.
func (s *Server) leak(r *http.Request, body []byte) string {
	secrets := append([]string{s.opts.ReadToken, s.opts.WriteToken}, s.opts.Canaries...)
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		u, _ := url.PathUnescape(r.URL.RequestURI())
		if strings.Contains(r.URL.RequestURI(), sec) || strings.Contains(u, sec) {
			return "url"
		}
		for k, vs := range r.Header {
			if http.CanonicalHeaderKey(k) == "Authorization" {
				continue
			}
			for _, v := range vs {
				if strings.Contains(v, sec) {
					return "header " + k
				}
			}
		}
		if bytes.Contains(body, []byte(sec)) {
			return "body"
		}
		// File contents travel base64-encoded in commit bodies.
		for _, form := range base64Forms(sec) {
			if bytes.Contains(body, []byte(form)) {
				return "body (base64)"
			}
		}
	}
	return ""
}

// base64Forms returns the parts of sec's base64 encoding that do not depend
// on the bytes around it, for each of the three alignments it can have in
// an encoded stream.
func base64Forms(sec string) []string {
	var out []string
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, pad), sec...))
		from, to := 4*((pad+2)/3), 4*((pad+len(sec))/3)
		if to-from >= 8 {
			out = append(out, enc[from:to])
		}
	}
	return out
}

// auth returns the account of the request's token: "" and false for no
// token, an error status for a bad one.
type principal struct {
	user  string
	write bool
}

func (s *Server) principal(r *http.Request) (*principal, bool) {
	a := r.Header.Get("Authorization")
	if a == "" {
		return nil, true
	}
	switch strings.TrimPrefix(a, "Bearer ") {
	case s.opts.WriteToken:
		return &principal{user: s.opts.User, write: true}, true
	case s.opts.ReadToken:
		return &principal{user: s.opts.User}, true
	}
	return nil, false
}

// canWrite says whether p may write to namespace ns.
func (s *Server) canWrite(p *principal, ns string) bool {
	if p == nil || !p.write {
		return false
	}
	if ns == p.user {
		return true
	}
	for _, o := range s.opts.Orgs {
		if o == ns {
			return true
		}
	}
	return false
}

// writeError answers like the Hub: a JSON error and, when code is set, the
// X-Error-Code header the client maps to its exception types.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// now is the commit time the stand-in reports.
func now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }
