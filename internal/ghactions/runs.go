package ghactions

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/google/go-github/v84/github"
)

// Run is one workflow run, trimmed to what vulntune reads.
type Run struct {
	ID         int64     `json:"id"`
	Repo       string    `json:"repo"`      // OWNER/NAME the run belongs to
	HeadRepo   string    `json:"head_repo"` // OWNER/NAME its code came from ("" when deleted)
	WorkflowID int64     `json:"workflow_id"`
	Path       string    `json:"path"` // .github/workflows/FILE
	Name       string    `json:"name"`
	Event      string    `json:"event"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	Branch     string    `json:"branch"`
	HeadSHA    string    `json:"head_sha"`
	RunNumber  int       `json:"run_number"`
	RunAttempt int       `json:"run_attempt"`
	CreatedAt  time.Time `json:"created_at"`
	HTMLURL    string    `json:"html_url"`
}

// RunQuery selects workflow runs. Repo is required; the rest narrows.
type RunQuery struct {
	Repo string // OWNER/NAME
	// Workflow is a workflow file name (security.yml) or numeric id; ""
	// lists the runs of every workflow of the repository.
	Workflow string
	Branch   string
	Event    string
	// Status is a status or conclusion filter, e.g. "success".
	Status string
	// Created is GitHub's date filter, e.g. ">=2025-01-02T03:04:05Z".
	Created string
}

// RunList is the answer to ListRuns.
type RunList struct {
	// Runs are every run on every page, in GitHub's order (newest first).
	Runs []Run
	// ETag identifies the first page; pass it to the next ListRuns.
	ETag string
	// NotModified is true when GitHub answered 304 to the ETag given:
	// nothing changed and Runs is empty.
	NotModified bool
	// Requests is how many requests the listing took.
	Requests int
}

// perPage is GitHub's maximum page size: the fewer pages, the fewer
// requests against the rate limit.
const perPage = 100

// ListRuns lists the runs q selects, following every page. The first page
// is requested with If-None-Match: etag when etag is set, so an unchanged
// listing costs one request that GitHub does not count against the rate
// limit.
func (c *Client) ListRuns(ctx context.Context, q RunQuery, etag string) (*RunList, error) {
	owner, name, err := splitRepo(q.Repo)
	if err != nil {
		return nil, err
	}
	op := "list workflow runs of " + q.Repo
	if q.Workflow != "" {
		op += " (workflow " + q.Workflow + ")"
	}
	opts := &github.ListWorkflowRunsOptions{Branch: q.Branch, Event: q.Event, Status: q.Status, Created: q.Created,
		ListOptions: github.ListOptions{PerPage: perPage, Page: 1}}
	out := &RunList{}
	for {
		pctx := ctx
		if opts.Page == 1 && etag != "" {
			pctx = withETag(ctx, etag)
		}
		var page *github.WorkflowRuns
		var resp *github.Response
		switch id, perr := strconv.ParseInt(q.Workflow, 10, 64); {
		case q.Workflow == "":
			page, resp, err = c.gh.Actions.ListRepositoryWorkflowRuns(pctx, owner, name, opts)
		case perr == nil:
			page, resp, err = c.gh.Actions.ListWorkflowRunsByID(pctx, owner, name, id, opts)
		default:
			page, resp, err = c.gh.Actions.ListWorkflowRunsByFileName(pctx, owner, name, q.Workflow, opts)
		}
		out.Requests++
		status := statusOf(resp, err)
		if opts.Page == 1 && status == http.StatusNotModified {
			out.NotModified, out.ETag = true, etag
			return out, nil
		}
		if err != nil {
			return nil, &APIError{Op: op, Status: status, Err: err}
		}
		if opts.Page == 1 {
			out.ETag = resp.Header.Get("ETag")
		}
		for _, r := range page.WorkflowRuns {
			out.Runs = append(out.Runs, runFrom(r))
		}
		if resp.NextPage == 0 || len(page.WorkflowRuns) == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func runFrom(r *github.WorkflowRun) Run {
	out := Run{ID: r.GetID(), WorkflowID: r.GetWorkflowID(), Path: r.GetPath(), Name: r.GetName(),
		Event: r.GetEvent(), Status: r.GetStatus(), Conclusion: r.GetConclusion(), Branch: r.GetHeadBranch(),
		HeadSHA: r.GetHeadSHA(), RunNumber: r.GetRunNumber(), RunAttempt: r.GetRunAttempt(),
		CreatedAt: r.GetCreatedAt().Time, HTMLURL: r.GetHTMLURL()}
	if r.Repository != nil {
		out.Repo = r.Repository.GetFullName()
	}
	if r.HeadRepository != nil {
		out.HeadRepo = r.HeadRepository.GetFullName()
	}
	return out
}
