package ghactions

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimitError says GitHub asked for a wait longer than the client may
// wait on its own; the caller schedules its next try for Until.
type RateLimitError struct {
	Until time.Time
	// Secondary is true for GitHub's secondary (abuse) limits, false for
	// the hourly primary budget.
	Secondary bool
}

func (e *RateLimitError) Error() string {
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	return fmt.Sprintf("%s rate limit: next request allowed at %s", kind, e.Until.UTC().Format(time.RFC3339))
}

// rateLimiter honours GitHub's rate limits as its REST documentation asks:
// after a 403/429 with Retry-After, wait that long; with
// X-RateLimit-Remaining: 0, wait until X-RateLimit-Reset; for a secondary
// limit with neither, wait at least a minute and longer on each repeat.
// When the budget runs out on a successful answer, the next request waits
// for the reset instead of spending a request on a refusal.
type rateLimiter struct {
	clock   Clock
	maxWait time.Duration
	retries int
	log     *slog.Logger

	mu      sync.Mutex
	blocked time.Time // no request before this
}

func (l *rateLimiter) do(req *http.Request, send func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		if err := l.waitUntil(req, l.blockedUntil(), false); err != nil {
			return nil, err
		}
		resp, err := send(req)
		if err != nil {
			return nil, err
		}
		now := l.clock.Now()
		if resp.Header.Get("X-RateLimit-Remaining") == "0" {
			if reset, ok := resetTime(resp.Header); ok {
				l.block(reset)
			}
		}
		until, secondary, limited := limitedUntil(resp, now, attempt)
		if !limited {
			return resp, nil
		}
		drain(resp)
		l.block(until)
		if attempt >= l.retries {
			return nil, &RateLimitError{Until: until, Secondary: secondary}
		}
		l.log.Info("github rate limit", "status", resp.StatusCode, "secondary", secondary, "wait", until.Sub(now).Round(time.Second).String())
		if err := l.waitUntil(req, until, secondary); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

func (l *rateLimiter) blockedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked
}

func (l *rateLimiter) block(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.blocked) {
		l.blocked = t
	}
}

// waitUntil sleeps until t on the clock, or fails with a *RateLimitError
// when that is longer than maxWait.
func (l *rateLimiter) waitUntil(req *http.Request, t time.Time, secondary bool) error {
	d := t.Sub(l.clock.Now())
	if d <= 0 {
		return nil
	}
	if d > l.maxWait {
		return &RateLimitError{Until: t, Secondary: secondary}
	}
	return l.clock.Sleep(req.Context(), d)
}

// limitedUntil decides whether resp is a rate-limit refusal and when the
// next request may go.
func limitedUntil(resp *http.Response, now time.Time, attempt int) (until time.Time, secondary, limited bool) {
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
		return time.Time{}, false, false
	}
	if d, ok := retryAfter(resp.Header.Get("Retry-After"), now); ok {
		return now.Add(d), true, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, ok := resetTime(resp.Header); ok {
			// One second past the reset: GitHub's clock and ours differ.
			return reset.Add(time.Second), false, true
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || mentionsRateLimit(resp) {
		// Secondary limit without a hint: at least a minute, doubling.
		return now.Add(time.Minute << min(attempt, 5)), true, true
	}
	return time.Time{}, false, false // a plain 403: permissions
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func resetTime(h http.Header) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// mentionsRateLimit looks for GitHub's wording in a 403's body (a secondary
// limit may come without headers); the body is put back for the caller.
func mentionsRateLimit(resp *http.Response) bool {
	if resp.Body == nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return bytes.Contains(bytes.ToLower(b), []byte("rate limit"))
}

// drain lets the connection be reused.
func drain(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}
