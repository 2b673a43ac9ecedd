package ghtest

import (
	"fmt"
	"strings"
	"time"
)

// The objects below carry every field GitHub's description requires and
// only fields it documents; the contract test holds them to that.

func userJSON(api, login string, id int64) map[string]any {
	u := api + "/users/" + login
	return map[string]any{
		"login": login, "id": id, "node_id": fmt.Sprintf("U_%d", id), "type": "Organization", "site_admin": false,
		"avatar_url": "https://avatars.example/u/" + login, "gravatar_id": "", "url": u, "html_url": "https://github.example/" + login,
		"followers_url": u + "/followers", "following_url": u + "/following{/other_user}", "gists_url": u + "/gists{/gist_id}",
		"starred_url": u + "/starred{/owner}{/repo}", "subscriptions_url": u + "/subscriptions", "organizations_url": u + "/orgs",
		"repos_url": u + "/repos", "events_url": u + "/events{/privacy}", "received_events_url": u + "/received_events",
	}
}

func repoJSON(api, fullName string, id int64, fork bool) map[string]any {
	owner, name, _ := strings.Cut(fullName, "/")
	u := api + "/repos/" + fullName
	r := map[string]any{
		"id": id, "node_id": fmt.Sprintf("R_%d", id), "name": name, "full_name": fullName,
		"owner": userJSON(api, owner, id+1_000_000), "private": false, "html_url": "https://github.example/" + fullName,
		"description": nil, "fork": fork, "url": u,
	}
	for _, k := range []string{"archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url", "comments_url",
		"commits_url", "compare_url", "contents_url", "contributors_url", "deployments_url", "downloads_url", "events_url",
		"forks_url", "git_commits_url", "git_refs_url", "git_tags_url", "hooks_url", "issue_comment_url", "issue_events_url",
		"issues_url", "keys_url", "labels_url", "languages_url", "merges_url", "milestones_url", "notifications_url",
		"pulls_url", "releases_url", "stargazers_url", "statuses_url", "subscribers_url", "subscription_url", "tags_url",
		"teams_url", "trees_url"} {
		r[k] = u + "/" + strings.TrimSuffix(k, "_url")
	}
	return r
}

func runJSON(api string, r *run) map[string]any {
	u := fmt.Sprintf("%s/repos/%s/actions/runs/%d", api, r.repo.name, r.id)
	created := r.Created.UTC().Format(time.RFC3339)
	var status, conclusion any = r.Status, r.Conclusion
	if r.Conclusion == "" {
		conclusion = nil
	}
	return map[string]any{
		"id": r.id, "name": r.workflowName(), "node_id": fmt.Sprintf("WFR_%d", r.id),
		"check_suite_id": r.id + 5_000_000, "check_suite_node_id": fmt.Sprintf("CS_%d", r.id+5_000_000),
		"head_branch": r.Branch, "head_sha": r.SHA, "path": ".github/workflows/" + r.Workflow,
		"run_number": r.number, "run_attempt": 1, "event": r.Event, "status": status, "conclusion": conclusion,
		"workflow_id": r.WorkflowID, "url": u, "html_url": fmt.Sprintf("https://github.example/%s/actions/runs/%d", r.repo.name, r.id),
		"pull_requests": []any{}, "created_at": created, "updated_at": created, "run_started_at": created,
		"jobs_url": u + "/jobs", "logs_url": u + "/logs", "check_suite_url": fmt.Sprintf("%s/repos/%s/check-suites/%d", api, r.repo.name, r.id+5_000_000),
		"artifacts_url": u + "/artifacts", "cancel_url": u + "/cancel", "rerun_url": u + "/rerun", "previous_attempt_url": nil,
		"workflow_url": fmt.Sprintf("%s/repos/%s/actions/workflows/%d", api, r.repo.name, r.WorkflowID),
		"head_commit": map[string]any{
			"id": r.SHA, "tree_id": r.SHA, "message": "scan", "timestamp": created,
			"author":    map[string]any{"name": "CI", "email": "ci@example.invalid"},
			"committer": map[string]any{"name": "CI", "email": "ci@example.invalid"},
		},
		"repository":      repoJSON(api, r.repo.name, r.repo.id, false),
		"head_repository": repoJSON(api, r.headRepo(), r.headRepoID(), r.headRepo() != r.repo.name),
		"display_title":   "security scan",
	}
}

func artifactJSON(api string, a *artifact) map[string]any {
	u := fmt.Sprintf("%s/repos/%s/actions/artifacts/%d", api, a.run.repo.name, a.id)
	created := a.run.Created.UTC().Format(time.RFC3339)
	var digest any
	if a.digest != "" {
		digest = a.digest
	}
	return map[string]any{
		"id": a.id, "node_id": fmt.Sprintf("A_%d", a.id), "name": a.Name, "size_in_bytes": a.size(),
		"url": u, "archive_download_url": u + "/zip", "expired": a.Expired,
		"created_at": created, "updated_at": created, "expires_at": a.run.Created.Add(90 * 24 * time.Hour).UTC().Format(time.RFC3339),
		"digest": digest,
		"workflow_run": map[string]any{"id": a.run.id, "repository_id": a.run.repo.id, "head_repository_id": a.run.headRepoID(),
			"head_branch": a.run.Branch, "head_sha": a.run.SHA},
	}
}

func errorJSON(msg string) map[string]any {
	return map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"}
}
