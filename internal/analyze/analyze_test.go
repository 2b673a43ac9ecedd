package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/analyze"
)

func opts(s *chatServer, mod func(*analyze.Options)) analyze.Options {
	o := analyze.Options{
		Endpoint: s.srv.URL, Model: "test-model", APIKey: "test-key", Concurrency: 2,
		Timeout: 2 * time.Second, Retries: 2, RetryBase: time.Millisecond, MaxRetryWait: 3 * time.Second,
		HTTPClient: s.srv.Client(), References: refs,
	}
	s.wantKey = "test-key"
	if mod != nil {
		mod(&o)
	}
	return o
}

func always(r reply) func(string, int) reply { return func(string, int) reply { return r } }

func TestAnalyzeAcceptsAndRejects(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, func(title string, _ int) reply {
		switch title {
		case "finding 1":
			return reply{content: inventedReply}
		case "finding 2":
			return reply{content: "I cannot help with that."}
		}
		return reply{content: goodReply}
	})
	fs := findings(5)
	fs = append(fs, fs[0]) // a duplicate id is asked about once
	var mu sync.Mutex
	var seen []int
	got, st, err := analyze.New(opts(s, nil)).Analyze(context.Background(), fs, func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		if total != 5 {
			t.Errorf("progress total %d, want 5", total)
		}
		seen = append(seen, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Requested != 5 || st.Calls != 5 || st.Accepted != 3 || st.Rejected != 2 || st.Errors != 0 || st.CacheHits != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.RejectReasons[analyze.ReasonVulnID] != 1 || st.RejectReasons[analyze.ReasonNotJSON] != 1 {
		t.Errorf("reject reasons %v", st.RejectReasons)
	}
	if len(got) != 3 {
		t.Fatalf("got %d analyses, want 3", len(got))
	}
	if _, ok := got[fs[1].ID]; ok {
		t.Error("rejected answer returned as an analysis")
	}
	a := got[fs[0].ID]
	if a.FindingID != fs[0].ID || a.Model != "test-model" || a.PromptVersion != analyze.PromptVersion ||
		!strings.HasPrefix(a.Summary, "The flagged code") || a.Cached {
		t.Errorf("analysis %+v", a)
	}
	if len(seen) != 5 || seen[len(seen)-1] != 5 {
		t.Errorf("progress calls %v", seen)
	}
	if st.Duration <= 0 || st.PerMinute() <= 0 {
		t.Errorf("duration %v per minute %v", st.Duration, st.PerMinute())
	}
}

func TestAnalyzeCacheSecondRunMakesNoCalls(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, func(title string, _ int) reply {
		if title == "finding 3" {
			return reply{content: inventedReply}
		}
		return reply{content: goodReply}
	})
	dir := t.TempDir()
	o := opts(s, func(o *analyze.Options) { o.CacheDir = dir })
	fs := findings(6)
	first, st1, err := analyze.New(o).Analyze(context.Background(), fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Calls != 6 || st1.Accepted != 5 || st1.Rejected != 1 {
		t.Fatalf("first run stats %+v", st1)
	}
	before := s.calls.Load()
	second, st2, err := analyze.New(o).Analyze(context.Background(), fs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.calls.Load() - before; n != 0 || st2.Calls != 0 {
		t.Errorf("second run made %d calls (stats %d), want 0", n, st2.Calls)
	}
	if st2.CacheHits != 6 || st2.Accepted != 5 || st2.Rejected != 1 || st2.RejectReasons[analyze.ReasonVulnID] != 1 {
		t.Errorf("second run stats %+v", st2)
	}
	if len(second) != len(first) || !second[fs[0].ID].Cached || second[fs[0].ID].Summary != first[fs[0].ID].Summary {
		t.Errorf("cached analyses differ: %+v vs %+v", second[fs[0].ID], first[fs[0].ID])
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if len(files) != 6 {
		t.Fatalf("%d cache files, want 6", len(files))
	}
	rejected := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"accepted": false`)) && bytes.Contains(b, []byte(analyze.ReasonVulnID)) {
			rejected++
		}
		if bytes.Contains(b, []byte("test-key")) {
			t.Errorf("cache file %s holds the API key", p)
		}
	}
	if rejected != 1 {
		t.Errorf("%d cache files marked rejected, want 1", rejected)
	}
	// Another model is another key: it must call again.
	o.Model = "other-model"
	if _, st3, err := analyze.New(o).Analyze(context.Background(), fs[:1], nil); err != nil || st3.Calls != 1 || st3.CacheHits != 0 {
		t.Errorf("other model: stats %+v err %v", st3, err)
	}
}

func TestAnalyzeRetriesRateLimitHonouringRetryAfter(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, func(_ string, n int) reply {
		if n == 1 {
			return reply{status: 429, header: map[string]string{"Retry-After": "1"}, raw: "slow down"}
		}
		return reply{content: goodReply}
	})
	start := time.Now()
	got, st, err := analyze.New(opts(s, nil)).Analyze(context.Background(), findings(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %v, want Retry-After's 1s honoured", el)
	}
	if st.Calls != 2 || st.Accepted != 1 || st.Errors != 0 || len(got) != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnalyzeGivesUpOnServerErrors(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, func(title string, _ int) reply {
		if title == "finding 2" {
			return reply{status: 500, raw: "model crashed"}
		}
		return reply{content: goodReply}
	})
	got, st, err := analyze.New(opts(s, nil)).Analyze(context.Background(), findings(5), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.callsFor("finding 2"); n != 3 {
		t.Errorf("failing finding tried %d times, want 1 + 2 retries", n)
	}
	if st.Errors != 1 || st.Accepted != 4 || len(got) != 4 || st.Calls != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnalyzeTimeout(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, func(title string, _ int) reply {
		if title == "finding 0" {
			return reply{hang: true}
		}
		return reply{content: goodReply}
	})
	o := opts(s, func(o *analyze.Options) { o.Timeout = 150 * time.Millisecond; o.Retries = 1 })
	start := time.Now()
	got, st, err := analyze.New(o).Analyze(context.Background(), findings(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v; the per-request timeout was not applied", el)
	}
	if n := s.callsFor("finding 0"); n != 2 {
		t.Errorf("slow finding tried %d times, want 2", n)
	}
	if st.Errors != 1 || st.Accepted != 2 || len(got) != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnalyzeConcurrencyBound(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, always(reply{content: goodReply}))
	s.delay = 40 * time.Millisecond
	o := opts(s, func(o *analyze.Options) { o.Concurrency = 3 })
	_, st, err := analyze.New(o).Analyze(context.Background(), findings(15), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.maxFlight.Load(); m != 3 {
		t.Errorf("max requests in flight %d, want exactly the bound 3", m)
	}
	if st.Accepted != 15 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnalyzeStopsWhenEndpointIsDown(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, always(reply{status: 503, raw: "loading"}))
	o := opts(s, func(o *analyze.Options) { o.Retries = -1; o.Concurrency = 1 })
	_, st, err := analyze.New(o).Analyze(context.Background(), findings(30), nil)
	if !errors.Is(err, analyze.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	if st.Calls != analyze.MaxConsecutiveErrors || st.Errors != analyze.MaxConsecutiveErrors ||
		s.calls.Load() != int64(analyze.MaxConsecutiveErrors) {
		t.Errorf("stats %+v, want %d calls before giving up", st, analyze.MaxConsecutiveErrors)
	}
}

func TestAnalyzeDropsRejectedResponseFormat(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, always(reply{status: 400, raw: `{"error":"unknown field response_format"}`}))
	o := opts(s, func(o *analyze.Options) { o.Concurrency = 1 })
	got, st, err := analyze.New(o).Analyze(context.Background(), findings(3), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 3 || len(got) != 3 || st.Calls != 4 {
		t.Errorf("stats %+v; want one refused call and three answered", st)
	}
}

func TestAnalyzeAPIKeyFromEnvNeverLogged(t *testing.T) {
	t.Setenv(analyze.EnvAPIKey, "env-secret-key")
	t.Setenv(analyze.EnvOpenAIAPIKey, "openai-key")
	s := newChatServer(t, always(reply{content: inventedReply}))
	var logs bytes.Buffer
	o := opts(s, func(o *analyze.Options) {
		o.APIKey = ""
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	s.wantKey = "env-secret-key"
	_, st, err := analyze.New(o).Analyze(context.Background(), findings(2), nil)
	if err != nil || st.Rejected != 2 {
		t.Fatalf("stats %+v err %v", st, err)
	}
	if strings.Contains(logs.String(), "env-secret-key") {
		t.Error("API key written to the log")
	}
	if !strings.Contains(logs.String(), "analysis rejected") {
		t.Errorf("rejections not logged:\n%s", logs.String())
	}
}

func TestAnalyzeContextCancel(t *testing.T) {
	t.Parallel()
	s := newChatServer(t, always(reply{hang: true}))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := analyze.New(opts(s, func(o *analyze.Options) { o.Timeout = time.Minute })).Analyze(ctx, findings(4), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("cancel took %v", el)
	}
}

func TestAnalyzeNeedsEndpointAndModel(t *testing.T) {
	t.Parallel()
	for _, o := range []analyze.Options{{Model: "m"}, {Endpoint: "http://127.0.0.1:1"}, {Endpoint: "127.0.0.1:8080", Model: "m"}} {
		_, _, err := analyze.New(o).Analyze(context.Background(), findings(1), nil)
		if err == nil {
			t.Errorf("options %+v: want an error", o)
		}
	}
}

func TestChatURL(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"http://h:8080", "http://h:8080/", "http://h:8080/v1", "http://h:8080/v1/", "http://h:8080/v1/chat/completions"} {
		if got := analyze.ChatURL(in); got != "http://h:8080/v1/chat/completions" {
			t.Errorf("ChatURL(%q) = %q", in, got)
		}
	}
}
