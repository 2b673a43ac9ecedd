package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/vulntune/vulntune/internal/finding"
)

// Analyzer asks the model about findings. It is safe for concurrent use.
type Analyzer struct {
	opts   Options
	client *client
	cache  cache
	log    *slog.Logger
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
	if err := a.validate(); err != nil {
		return out, st, err
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

// validate reports options that would make every request fail, before any
// work starts.
func (a *Analyzer) validate() error {
	if a.opts.Endpoint == "" || a.opts.Model == "" {
		return errors.New("analysis needs an endpoint and a model (set the analysis endpoint and model)")
	}
	u, err := url.Parse(a.client.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("analysis endpoint %q: want an http or https URL such as http://127.0.0.1:8080/v1", a.opts.Endpoint)
	}
	return nil
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
