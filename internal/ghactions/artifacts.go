package ghactions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v84/github"
)

// Artifact is one artifact of a run, trimmed to what vulntune reads.
type Artifact struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Size      int64     `json:"size_in_bytes"`
	Expired   bool      `json:"expired"`
	ExpiresAt time.Time `json:"expires_at"`
	// Digest is "sha256:<hex>" for artifacts uploaded by upload-artifact
	// v4 and later; the download is checked against it.
	Digest string `json:"digest,omitempty"`
}

// ErrExpired is returned for an artifact GitHub no longer keeps (HTTP 410,
// or listed as expired).
var ErrExpired = errors.New("artifact expired")

// ErrTooLarge is returned for an artifact over the download limit.
var ErrTooLarge = errors.New("artifact larger than the download limit")

// ListArtifacts lists every artifact of one run, all pages.
func (c *Client) ListArtifacts(ctx context.Context, repo string, runID int64) ([]Artifact, error) {
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	opts := &github.ListOptions{PerPage: perPage, Page: 1}
	var out []Artifact
	for {
		page, resp, err := c.gh.Actions.ListWorkflowRunArtifacts(ctx, owner, name, runID, opts)
		if err != nil {
			return nil, &APIError{Op: fmt.Sprintf("list artifacts of run %d in %s", runID, repo), Status: statusOf(resp, err), Err: err}
		}
		for _, a := range page.Artifacts {
			out = append(out, Artifact{ID: a.GetID(), Name: a.GetName(), Size: a.GetSizeInBytes(),
				Expired: a.GetExpired(), ExpiresAt: a.GetExpiresAt().Time, Digest: a.GetDigest()})
		}
		if resp.NextPage == 0 || len(page.Artifacts) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Download fetches an artifact's zip into memory, at most maxBytes. The
// API answers 302 with a short-lived URL on blob storage; that URL is
// fetched by a fresh request without the Authorization header, whatever
// its origin. An expired artifact fails with ErrExpired, one over maxBytes
// with ErrTooLarge, one whose content does not match its digest with an
// error saying so.
func (c *Client) Download(ctx context.Context, repo string, a Artifact, maxBytes int64) ([]byte, error) {
	op := fmt.Sprintf("download artifact %d (%s) of %s", a.ID, a.Name, repo)
	if a.Expired {
		return nil, &APIError{Op: op, Status: http.StatusGone, Err: ErrExpired}
	}
	if maxBytes > 0 && a.Size > maxBytes {
		return nil, &APIError{Op: op, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, a.Size, maxBytes)}
	}
	owner, name, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	loc, resp, err := c.gh.Actions.DownloadArtifact(ctx, owner, name, a.ID, 0)
	if err != nil {
		status := statusOf(resp, err)
		if status == http.StatusGone {
			err = ErrExpired
		}
		return nil, &APIError{Op: op, Status: status, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, &APIError{Op: op, Err: err}
	}
	req.Header.Set("User-Agent", "vulntune")
	blob, err := c.blob.Do(req)
	if err != nil {
		return nil, &APIError{Op: op, Err: redactURLError(err)}
	}
	defer blob.Body.Close()
	if blob.StatusCode != http.StatusOK {
		if blob.StatusCode == http.StatusGone || blob.StatusCode == http.StatusNotFound {
			return nil, &APIError{Op: op, Status: blob.StatusCode, Err: ErrExpired}
		}
		return nil, &APIError{Op: op, Status: blob.StatusCode, Err: errors.New("blob storage refused the download")}
	}
	if maxBytes > 0 && blob.ContentLength > maxBytes {
		return nil, &APIError{Op: op, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, blob.ContentLength, maxBytes)}
	}
	limit := maxBytes
	if limit <= 0 {
		limit = 1 << 62
	}
	data, err := io.ReadAll(io.LimitReader(blob.Body, limit+1))
	if err != nil {
		return nil, &APIError{Op: op, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &APIError{Op: op, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	if want, ok := strings.CutPrefix(a.Digest, "sha256:"); ok {
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, want) {
			return nil, &APIError{Op: op, Err: fmt.Errorf("content does not match the artifact's digest (sha256 %s, listed %s)", got, want)}
		}
	}
	return data, nil
}

// redactURLError drops the signed blob URL (its query string is a bearer
// credential for the artifact) from a transport error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("fetch from blob storage: %w", ue.Err)
	}
	return err
}
