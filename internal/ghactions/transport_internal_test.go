package ghactions

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

type recordRT struct{ got *http.Request }

func (r *recordRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = req
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

func TestTokenBoundToOrigin(t *testing.T) {
	api, _ := url.Parse("https://api.github.com/")
	tests := []struct {
		url      string
		wantAuth bool
	}{
		{"https://api.github.com/repos/a/b/actions/runs", true},
		{"https://API.github.com:443/repos/a/b/actions/runs", true},
		{"https://api.github.com:8443/x", false},
		{"http://api.github.com/x", false},
		{"https://pipelines.actions.githubusercontent.com/blob?sig=1", false},
		{"https://api.github.com.evil.example/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			rec := &recordRT{}
			tr := &apiTransport{base: rec, origin: origin(api), token: "tok", requests: &counter{},
				limits: &rateLimiter{clock: SystemClock{}, maxWait: time.Minute, retries: 1}}
			req, _ := http.NewRequestWithContext(withETag(context.Background(), `W/"x"`), http.MethodGet, tt.url, nil)
			req.Header.Set("Authorization", "Bearer planted")
			if _, err := tr.RoundTrip(req); err != nil {
				t.Fatal(err)
			}
			got := rec.got.Header.Get("Authorization")
			if (got == "Bearer tok") != tt.wantAuth || (!tt.wantAuth && got != "") {
				t.Fatalf("Authorization %q, want token: %v", got, tt.wantAuth)
			}
			if (rec.got.Header.Get("If-None-Match") != "") != tt.wantAuth {
				t.Fatalf("If-None-Match sent to %s: %q", tt.url, rec.got.Header.Get("If-None-Match"))
			}
			if req.Header.Get("Authorization") != "Bearer planted" {
				t.Fatal("the caller's request was modified")
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30", 30 * time.Second, true},
		{"0", 0, true},
		{"Wed, 01 Jan 2025 00:02:00 GMT", 2 * time.Minute, true},
		{"Tue, 31 Dec 2024 00:02:00 GMT", 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"-5", 0, false},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
