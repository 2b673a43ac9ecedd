package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vulntune/vulntune/internal/finding"
)

// Defaults for Options fields left zero. Two concurrent requests keep a
// local mlx_lm.server busy without queueing; 120 s covers a 768-token answer
// from a 1B model on a laptop CPU.
const (
	DefaultConcurrency  = 2
	DefaultTimeout      = 120 * time.Second
	DefaultRetries      = 3
	DefaultMaxTokens    = 768
	DefaultRetryBase    = time.Second
	DefaultMaxRetryWait = 2 * time.Minute
	// MaxConsecutiveErrors is how many findings in a row may fail before
	// Analyze gives up with ErrUnavailable: a dead endpoint should cost
	// seconds, not hours of retries.
	MaxConsecutiveErrors = 8
)

// API key environment variables, most specific first.
const (
	EnvAPIKey       = "VULNTUNE_ANALYSIS_API_KEY"
	EnvOpenAIAPIKey = "OPENAI_API_KEY"
)

// ErrUnavailable is returned (wrapped) when MaxConsecutiveErrors findings
// in a row failed: the endpoint is down or misconfigured.
var ErrUnavailable = errors.New("analysis endpoint unavailable")

// Options configures an Analyzer. Endpoint and Model are required.
type Options struct {
	// Endpoint is the server's base URL, with or without /v1
	// ("http://127.0.0.1:8080" or "http://127.0.0.1:8080/v1").
	Endpoint string
	// Model is sent as the request's model and is part of the cache key.
	Model string
	// APIKey is sent as a Bearer token. Empty means VULNTUNE_ANALYSIS_API_KEY,
	// then OPENAI_API_KEY, then none. It is never logged or cached.
	APIKey string
	// Concurrency bounds requests in flight (default 2).
	Concurrency int
	// Timeout bounds one HTTP request (default 120s).
	Timeout time.Duration
	// Retries is how many times a request is repeated after a 429, a 5xx,
	// a timeout or a transport error (default 3; negative means none).
	Retries int
	// RetryBase is the first backoff; it doubles each retry, plus jitter
	// (default 1s). A longer Retry-After from the server wins, up to
	// MaxRetryWait (default 2m).
	RetryBase    time.Duration
	MaxRetryWait time.Duration
	// MaxTokens bounds the reply length (default 768).
	MaxTokens int
	// CacheDir holds one JSON file per (finding id, model, PromptVersion);
	// empty disables caching.
	CacheDir string
	// HTTPClient sends the requests (default a client without timeout; the
	// per-request Timeout applies either way).
	HTTPClient *http.Client
	// Logger receives progress and rejection records (default discard).
	Logger *slog.Logger
	// References looks up names and descriptions of the finding's CWE ids;
	// may be nil.
	References ReferenceFunc
}

// Analysis is an accepted, grounded answer for one finding.
type Analysis struct {
	Answer
	FindingID     string `json:"finding_id"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	// Cached is true when the reply came from the cache, not a call.
	Cached bool `json:"cached"`
}

// Stats counts what one Analyze call did. Requested = CacheHits + fresh
// answers + Errors; Accepted + Rejected counts every answer, cached or not.
type Stats struct {
	Requested int `json:"requested"`
	CacheHits int `json:"cache_hits"`
	// Calls counts HTTP requests sent, retries included.
	Calls         int            `json:"calls"`
	Accepted      int            `json:"accepted"`
	Rejected      int            `json:"rejected"`
	RejectReasons map[string]int `json:"reject_reasons"`
	// Errors counts findings that got no answer (request failed after all
	// retries, or the finding had no id).
	Errors   int           `json:"errors"`
	Duration time.Duration `json:"duration_ns"`
}

// Analyzer asks the model about findings. It is safe for concurrent use.
type Analyzer struct {
	opts   Options
	client *client
	cache  cache
	log    *slog.Logger
}

// New returns an Analyzer with defaults filled in. It does no I/O; a missing
// Endpoint or Model is reported by Analyze.
func New(opts Options) *Analyzer {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = DefaultRetries
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = DefaultRetryBase
	}
	if opts.MaxRetryWait <= 0 {
		opts.MaxRetryWait = DefaultMaxRetryWait
	}
	if opts.MaxTokens <= 0 {
		opts.MaxTokens = DefaultMaxTokens
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	key := opts.APIKey
	for _, env := range []string{EnvAPIKey, EnvOpenAIAPIKey} {
		if key == "" {
			key = os.Getenv(env)
		}
	}
	return &Analyzer{
		opts: opts,
		client: &client{
			url: ChatURL(opts.Endpoint), model: opts.Model, apiKey: key, maxTokens: opts.MaxTokens,
			timeout: opts.Timeout, retries: opts.Retries, retryBase: opts.RetryBase, maxWait: opts.MaxRetryWait,
			http: opts.HTTPClient, sleep: sleepCtx,
		},
		cache: cache{dir: opts.CacheDir},
		log:   opts.Logger.With("component", "analyze"),
	}
}

// outcome is what happened to one finding.
type outcome struct {
	analysis *Analysis
	rejected *Rejection
	cached   bool
	err      error
}

// Analyze asks about every finding with an id, at most Concurrency at a
// time, and returns the accepted analyses keyed by finding id. Rejected
// answers are counted in Stats and logged, never returned. A finding whose
// request fails is counted in Stats.Errors and the others go on. The error
// is non-nil when the options are incomplete, the context ends, the cache
// cannot be written, or MaxConsecutiveErrors findings in a row failed
// (ErrUnavailable); the map and Stats then hold what was done so far.
// progress, if not nil, is called after each finding, never concurrently.
func (a *Analyzer) Analyze(ctx context.Context, findings []finding.Finding, progress func(done, total int)) (map[string]Analysis, Stats, error) {
	start := time.Now()
	calls0 := a.client.calls.Load()
	out := map[string]Analysis{}
	st := Stats{RejectReasons: map[string]int{}}
	if a.opts.Endpoint == "" || a.opts.Model == "" {
		return out, st, errors.New("analysis needs an endpoint and a model (set analysis endpoint and model)")
	}
	todo := make([]*finding.Finding, 0, len(findings))
	seen := map[string]bool{}
	for i := range findings {
		f := &findings[i]
		switch {
		case f.ID == "":
			st.Errors++
			a.log.Warn("finding without id skipped", "title", f.Title)
		case !seen[f.ID]:
			seen[f.ID] = true
			todo = append(todo, f)
		}
	}
	st.Requested = len(todo)

	var mu sync.Mutex
	done, streak := 0, 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.Concurrency)
	for _, f := range todo {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			o := a.one(gctx, f)
			mu.Lock()
			defer mu.Unlock()
			done++
			if progress != nil {
				defer progress(done, len(todo))
			}
			return a.record(gctx, f, o, out, &st, &streak)
		})
	}
	err := g.Wait()
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("analysis interrupted: %w", ctx.Err())
	}
	st.Calls = int(a.client.calls.Load() - calls0)
	st.Duration = time.Since(start)
	a.log.Info("analysis done", "requested", st.Requested, "cache_hits", st.CacheHits, "calls", st.Calls,
		"accepted", st.Accepted, "rejected", st.Rejected, "errors", st.Errors, "duration", st.Duration)
	return out, st, err
}

// record folds one outcome into the results; it runs under the mutex.
func (a *Analyzer) record(ctx context.Context, f *finding.Finding, o outcome, out map[string]Analysis, st *Stats, streak *int) error {
	if o.cached {
		st.CacheHits++
	}
	switch {
	case o.err != nil && ctx.Err() != nil:
		return nil // interrupted, not failed
	case o.err != nil:
		st.Errors++
		*streak++
		var fatal *cacheError
		if errors.As(o.err, &fatal) {
			return o.err
		}
		a.log.Warn("analysis request failed", "finding", f.ID, "err", o.err)
		if *streak >= MaxConsecutiveErrors {
			return fmt.Errorf("%w: %d findings in a row failed, last: %v", ErrUnavailable, *streak, o.err)
		}
	case o.rejected != nil:
		*streak = 0
		st.Rejected++
		st.RejectReasons[o.rejected.Reason]++
		a.log.Info("analysis rejected", "finding", f.ID, "reason", o.rejected.Reason, "detail", o.rejected.Detail, "cached", o.cached)
	default:
		*streak = 0
		st.Accepted++
		out[f.ID] = *o.analysis
	}
	return nil
}

// cacheError marks a cache failure, which stops the run: continuing would
// spend model time on answers that cannot be kept.
type cacheError struct{ err error }

func (e *cacheError) Error() string { return e.err.Error() }
func (e *cacheError) Unwrap() error { return e.err }

// one answers one finding from the cache or the model.
func (a *Analyzer) one(ctx context.Context, f *finding.Finding) outcome {
	if err := ctx.Err(); err != nil {
		return outcome{err: err} // the run is ending; do not start work
	}
	e, ok, err := a.cache.get(f.ID, a.opts.Model)
	if err != nil {
		return outcome{err: &cacheError{err}}
	}
	if ok {
		an, rej := a.judge(f, e.Reply)
		if an != nil {
			an.Cached = true
		}
		return outcome{analysis: an, rejected: rej, cached: true}
	}
	reply, err := a.client.complete(ctx, BuildPrompt(f, a.opts.References))
	if err != nil {
		return outcome{err: fmt.Errorf("analyse finding %s: %w", f.ID, err)}
	}
	an, rej := a.judge(f, reply)
	e = cacheEntry{FindingID: f.ID, Model: a.opts.Model, PromptVersion: PromptVersion, Reply: reply, Accepted: rej == nil}
	if rej != nil {
		e.RejectReason, e.RejectDetail = rej.Reason, rej.Detail
	}
	if err := a.cache.put(e); err != nil {
		return outcome{err: &cacheError{err}}
	}
	return outcome{analysis: an, rejected: rej}
}

// judge parses and checks a reply.
func (a *Analyzer) judge(f *finding.Finding, reply string) (*Analysis, *Rejection) {
	ans, rej := ParseAnswer(reply)
	if rej == nil {
		rej = Check(ans, f, a.opts.References)
	}
	if rej != nil {
		return nil, rej
	}
	return &Analysis{Answer: ans, FindingID: f.ID, Model: a.opts.Model, PromptVersion: PromptVersion}, nil
}

// PerMinute is the throughput of the run in findings per minute, or 0 when
// nothing was timed.
func (s Stats) PerMinute() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Requested) / s.Duration.Minutes()
}

// SortedReasons returns the reject reasons of s, most frequent first, for
// reports.
func (s Stats) SortedReasons() []string {
	keys := make([]string, 0, len(s.RejectReasons))
	for k := range s.RejectReasons {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if s.RejectReasons[keys[i]] != s.RejectReasons[keys[j]] {
			return s.RejectReasons[keys[i]] > s.RejectReasons[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
