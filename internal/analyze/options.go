package analyze

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"
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
