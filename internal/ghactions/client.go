package ghactions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v84/github"
)

// DefaultAPIURL is the public GitHub REST API. GitHub Enterprise Server
// serves the same routes under https://HOST/api/v3.
const DefaultAPIURL = "https://api.github.com"

// Clock is time as the client and the daemon see it. Tests inject a fake
// whose Sleep advances Now at once, so rate-limit waits and backoff take no
// real time.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx is done.
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Options configures New. HTTPClient and Clock are injected so tests run
// against a local stand-in with a fake clock.
type Options struct {
	// APIURL is the REST API base (default DefaultAPIURL).
	APIURL string
	// Token is sent as a Bearer token to APIURL's origin only; "" sends
	// none (public repositories, with a lower rate limit).
	Token string
	// HTTPClient carries every request (default http.DefaultClient's
	// transport with a 60 s timeout). Its transport must not add
	// credentials of its own: blob downloads go through it unchanged.
	HTTPClient *http.Client
	Clock      Clock
	// MaxWait bounds one rate-limit wait (default 15 minutes); a longer
	// one is returned as a *RateLimitError for the caller to schedule.
	MaxWait time.Duration
	// Retries bounds how often one request is retried after a rate-limit
	// answer (default 4).
	Retries int
	Log     *slog.Logger
}

// Client talks to one GitHub API. It is safe for concurrent use.
type Client struct {
	gh    *github.Client
	blob  *http.Client
	api   *url.URL
	clock Clock
	log   *slog.Logger
	// requests counts every HTTP request sent to the API origin, for
	// status output and the idle-cycle benchmark.
	requests *counter
}

// New builds a client for o.APIURL.
func New(o Options) (*Client, error) {
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	api, err := url.Parse(strings.TrimRight(o.APIURL, "/") + "/")
	if err != nil || (api.Scheme != "https" && api.Scheme != "http") || api.Host == "" {
		return nil, fmt.Errorf("github api url %q: expected an http(s) URL such as %s or https://HOST/api/v3", o.APIURL, DefaultAPIURL)
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 15 * time.Minute
	}
	if o.Retries <= 0 {
		o.Retries = 4
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	base := o.HTTPClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	n := &counter{}
	rt := &apiTransport{base: base, origin: origin(api), token: o.Token, requests: n,
		limits: &rateLimiter{clock: o.Clock, maxWait: o.MaxWait, retries: o.Retries, log: o.Log}}
	apiHTTP := *o.HTTPClient
	apiHTTP.Transport = rt
	gh := github.NewClient(&apiHTTP)
	gh.BaseURL = api
	// go-github's own rate-limit bookkeeping reads the wall clock; the
	// transport does it on the injected one instead.
	gh.DisableRateLimitCheck = true
	gh.UserAgent = "vulntune"
	return &Client{gh: gh, blob: o.HTTPClient, api: api, clock: o.Clock, log: o.Log, requests: n}, nil
}

// Requests returns how many requests were sent to the API so far (blob
// downloads excluded), retries included.
func (c *Client) Requests() int64 { return c.requests.load() }

// splitRepo parses "OWNER/NAME".
func splitRepo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("repository %q: expected OWNER/NAME", repo)
	}
	return owner, name, nil
}

// statusOf returns the HTTP status go-github saw, or 0.
func statusOf(resp *github.Response, err error) int {
	if resp != nil && resp.Response != nil {
		return resp.StatusCode
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// APIError is a GitHub answer vulntune cannot use: it names the route and
// status, and never carries the token or the request's headers.
type APIError struct {
	Op     string // "list runs of OWNER/NAME", ...
	Status int    // 0 when no response came back
	Err    error
}

func (e *APIError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("github: %s: HTTP %d: %v", e.Op, e.Status, e.Err)
	}
	return fmt.Sprintf("github: %s: %v", e.Op, e.Err)
}

func (e *APIError) Unwrap() error { return e.Err }

// Transient reports whether retrying later may succeed: network errors,
// server errors and rate limits are; authentication, permissions and
// missing resources are not.
func (e *APIError) Transient() bool {
	var rl *RateLimitError
	if errors.As(e.Err, &rl) {
		return true
	}
	return e.Status == 0 || e.Status >= 500 || e.Status == http.StatusTooManyRequests
}
