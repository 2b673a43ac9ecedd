package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/vulntune/vulntune/internal/chat"
)

// client talks to one OpenAI-compatible chat completions endpoint.
type client struct {
	url       string // full .../v1/chat/completions URL
	model     string
	apiKey    string // sent as a Bearer token; never logged
	maxTokens int
	timeout   time.Duration
	retries   int
	retryBase time.Duration
	maxWait   time.Duration
	http      *http.Client
	calls     atomic.Int64
	noRespFmt atomic.Bool // the server refused response_format once
	sleep     func(ctx context.Context, d time.Duration) error
}

// ChatURL returns the chat completions URL for an endpoint given as a base
// URL, with or without a trailing /v1 or the full path.
func ChatURL(endpoint string) string {
	e := strings.TrimRight(strings.TrimSpace(endpoint), "/")
	e = strings.TrimSuffix(e, "/chat/completions")
	e = strings.TrimSuffix(e, "/v1")
	return e + "/v1/chat/completions"
}

type chatRequest struct {
	Model          string          `json:"model"`
	Messages       []chat.Message  `json:"messages"`
	Temperature    float64         `json:"temperature"`
	MaxTokens      int             `json:"max_tokens"`
	Stream         bool            `json:"stream"`
	ResponseFormat *responseFormat `json:"response_format,omitempty"`
}

type responseFormat struct {
	Type string `json:"type"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// statusError is a non-2xx answer. Retryable ones are 429 and 5xx.
type statusError struct {
	code       int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	return fmt.Sprintf("chat endpoint answered %d: %s", e.code, e.body)
}

// errBodyLimit bounds how much of an answer is read: a reply of a few
// hundred tokens is a few kilobytes, so megabytes mean a broken server.
const errBodyLimit = 4 << 20

// complete sends msgs and returns the assistant's text, retrying 429, 5xx,
// timeouts and transport errors with exponential backoff and jitter, and
// honouring Retry-After.
func (c *client) complete(ctx context.Context, msgs []chat.Message) (string, error) {
	var last error
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			wait := c.backoff(attempt, last)
			if err := c.sleep(ctx, wait); err != nil {
				return "", fmt.Errorf("chat request to %s: %w (last error: %v)", c.url, err, last)
			}
		}
		text, err := c.once(ctx, msgs)
		if err == nil {
			return text, nil
		}
		last = err
		if ctx.Err() != nil {
			return "", fmt.Errorf("chat request to %s: %w", c.url, ctx.Err())
		}
		if !retryable(err) {
			break
		}
	}
	return "", fmt.Errorf("chat request to %s: %w", c.url, last)
}

func (c *client) once(ctx context.Context, msgs []chat.Message) (string, error) {
	req := chatRequest{Model: c.model, Messages: msgs, MaxTokens: c.maxTokens}
	if !c.noRespFmt.Load() {
		req.ResponseFormat = &responseFormat{Type: "json_object"}
	}
	text, err := c.post(ctx, req)
	var se *statusError
	if req.ResponseFormat != nil && errors.As(err, &se) && se.code == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(se.body), "response_format") {
		// Some servers reject the field instead of ignoring it; the parser
		// does not need it, so drop it for this and every later request.
		c.noRespFmt.Store(true)
		req.ResponseFormat = nil
		return c.post(ctx, req)
	}
	return text, err
}

func (c *client) post(ctx context.Context, body chatRequest) (string, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return "", permanent(fmt.Errorf("encode chat request: %w", err))
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.url, bytes.NewReader(payload))
	if err != nil {
		return "", permanent(fmt.Errorf("build chat request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	c.calls.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, errBodyLimit))
	if err != nil {
		return "", fmt.Errorf("read chat response: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		return "", &statusError{code: resp.StatusCode, body: snippet(data), retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	var cr chatResponse
	if err := json.Unmarshal(data, &cr); err != nil {
		return "", permanent(fmt.Errorf("decode chat response (want an OpenAI chat completion object): %w", err))
	}
	if len(cr.Choices) == 0 || cr.Choices[0].Message.Content == nil {
		return "", nil
	}
	return *cr.Choices[0].Message.Content, nil
}

// retryable says whether another attempt may succeed: rate limits, server
// errors, per-request timeouts and transport failures (connection refused or
// reset while a local server starts or restarts).
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.code == http.StatusTooManyRequests || se.code >= 500
	}
	var pe *permanentError
	return !errors.As(err, &pe) && !errors.Is(err, context.Canceled)
}

// permanentError marks a failure that retrying cannot fix: a request that
// cannot be built or a 2xx answer that is not a chat completion.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// backoff is retryBase·2^(attempt-1) plus up to 50% jitter, capped at
// maxWait, or the server's Retry-After when it asks for longer.
func (c *client) backoff(attempt int, last error) time.Duration {
	d := c.retryBase << (attempt - 1)
	if d <= 0 || d > c.maxWait {
		d = c.maxWait
	}
	d += time.Duration(rand.Int64N(int64(d)/2 + 1))
	var se *statusError
	if errors.As(last, &se) && se.retryAfter > d {
		d = min(se.retryAfter, c.maxWait)
	}
	return d
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3).
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// snippet keeps an error body short enough for a log line.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
