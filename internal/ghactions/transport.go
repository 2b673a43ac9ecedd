package ghactions

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// apiTransport carries requests to the API: it adds the token and the
// conditional header, and waits out rate limits. The token is added only
// to requests for the API's own origin (scheme, host and port), so no
// redirect, link or misconfiguration can carry it anywhere else.
type apiTransport struct {
	base     http.RoundTripper
	origin   string
	token    string
	limits   *rateLimiter
	requests *counter
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	// Whatever a caller set, credentials go only where they belong.
	req.Header.Del("Authorization")
	if origin(req.URL) == t.origin {
		if t.token != "" {
			req.Header.Set("Authorization", "Bearer "+t.token)
		}
		if tag, ok := req.Context().Value(etagKey{}).(string); ok && tag != "" && req.Method == http.MethodGet {
			req.Header.Set("If-None-Match", tag)
		}
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	}
	return t.limits.do(req, func(r *http.Request) (*http.Response, error) {
		t.requests.add()
		return t.base.RoundTrip(r)
	})
}

// etagKey carries the ETag of a page seen before to the transport.
type etagKey struct{}

func withETag(ctx context.Context, etag string) context.Context {
	return context.WithValue(ctx, etagKey{}, etag)
}

// origin is scheme://host:port with the default port made explicit, the
// unit the token is bound to. Two ports on one host are two origins, as
// in browsers (and unlike net/http's redirect rule, which compares host
// names only).
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

type counter struct{ n atomic.Int64 }

func (c *counter) add()        { c.n.Add(1) }
func (c *counter) load() int64 { return c.n.Load() }
