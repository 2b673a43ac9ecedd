package engine

import (
	"context"
	"time"
)

// HubAuth is what every Hub op needs besides its request: the token, sent
// to the child only as HF_TOKEN, and the endpoint, sent as HF_ENDPOINT
// ("" keeps the environment's HF_ENDPOINT or the client's default).
type HubAuth struct {
	Token    string
	Endpoint string
}

func (a HubAuth) env() []string {
	if a.Endpoint == "" {
		return nil
	}
	return []string{"HF_ENDPOINT=" + a.Endpoint}
}

// HubAccount is the token's account as the Hub's whoami reports it.
type HubAccount struct {
	Name string   `json:"name"`
	Type string   `json:"type"` // "user" or "org"
	Orgs []HubOrg `json:"orgs"`
	// TokenRole is "read", "write" or "fineGrained".
	TokenRole string `json:"token_role"`
	// Scoped lists a fine-grained token's permissions per entity.
	Scoped   []HubScope `json:"scoped"`
	Endpoint string     `json:"endpoint"`
}

// HubOrg is an organisation the account belongs to and its role there.
type HubOrg struct {
	Name string `json:"name"`
	Role string `json:"role"` // "admin", "write", "contributor", "read"
}

// HubScope is one entity a fine-grained token may act on.
type HubScope struct {
	Type        string   `json:"type"` // "user" or "org"
	Name        string   `json:"name"`
	Permissions []string `json:"permissions"` // e.g. "repo.write"
}

// HubWhoami asks the Hub whose token auth carries.
func (e *Engine) HubWhoami(ctx context.Context, auth HubAuth) (*HubAccount, error) {
	var out HubAccount
	c := scriptCall{Module: "hub", Op: "hub-whoami", Args: []string{"whoami"}, Req: struct{}{}, HFToken: auth.Token, Env: auth.env()}
	if err := e.runScript(ctx, c, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PublishFile is one file of a publish: its path in the repo, where it is
// on disk, and its size and SHA-256 (compared with the remote tree's).
type PublishFile struct {
	Path   string `json:"path"`
	Local  string `json:"local"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// PublishRequest is one commit of a file set to a repo. The repo then holds
// exactly Files (and the Hub's .gitattributes): remote files not in Files
// are deleted by the same commit.
type PublishRequest struct {
	Repo     string        `json:"repo"`      // namespace/name
	RepoType string        `json:"repo_type"` // "model" or "dataset"
	Private  bool          `json:"private"`   // when the repo is created
	Revision string        `json:"revision"`  // "": main
	Files    []PublishFile `json:"files"`
	Message  string        `json:"commit_message"`
	// Description is the commit's longer text.
	Description string `json:"commit_description,omitempty"`
	// Tag, when set, is created on the commit unless it exists.
	Tag        string `json:"tag,omitempty"`
	TagMessage string `json:"tag_message,omitempty"`
	// Retries and BackoffSeconds bound the retries of 429/5xx answers
	// (0: DefaultPublishRetries and DefaultPublishBackoff, doubling).
	Retries        int     `json:"retries"`
	BackoffSeconds float64 `json:"backoff_seconds"`
	Auth           HubAuth `json:"-"`
}

// Retries of a publish's 429/5xx answers and the first wait between them,
// doubling: the Hub's rate limits reset within a minute, and 2+4+8+16 s
// outlasts a restart of its front end.
const (
	DefaultPublishRetries = 4
	DefaultPublishBackoff = 2 * time.Second
)

// Published says what a publish did.
type Published struct {
	Repo     string `json:"repo"`
	RepoType string `json:"repo_type"`
	URL      string `json:"url"`
	Revision string `json:"revision"`
	// Commit is the revision's head afterwards; Committed says whether this
	// publish made it (false: the content was already there).
	Commit    string   `json:"commit"`
	Parent    string   `json:"parent"`
	Committed bool     `json:"committed"`
	Changed   []string `json:"changed"`
	Deleted   []string `json:"deleted"`
	Tag       string   `json:"tag"`
	TagNew    bool     `json:"tag_created"`
	Private   bool     `json:"private"`
	// BytesUploaded counts the bytes sent to LFS storage (the basic
	// transfer); objects the Hub already held are not sent.
	BytesUploaded int64   `json:"bytes_uploaded"`
	Seconds       float64 `json:"seconds"`
}

// Publish runs the publish op. onEvent receives progress events: stage
// "repo", "compare", "commit", "retry", and "upload" with bytes, total and
// rate (bytes per second).
func (e *Engine) Publish(ctx context.Context, req PublishRequest, onEvent func(Event)) (*Published, error) {
	writeDefaults(&req.Revision, &req.Retries, &req.BackoffSeconds)
	var out Published
	c := scriptCall{Module: "hub", Op: "hub-publish", Args: []string{"publish"}, Req: req, HFToken: req.Auth.Token, Env: req.Auth.env()}
	if err := e.runScript(ctx, c, onEvent, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LinkModelsRequest adds model repo ids to a dataset card's list of the
// models trained on the dataset.
type LinkModelsRequest struct {
	Repo     string   `json:"repo"`     // the dataset's namespace/name
	Revision string   `json:"revision"` // "": main
	Models   []string `json:"models"`
	Message  string   `json:"commit_message"`
	// Retries and BackoffSeconds as in PublishRequest.
	Retries        int     `json:"retries"`
	BackoffSeconds float64 `json:"backoff_seconds"`
	Auth           HubAuth `json:"-"`
}

// LinkedModels says whether the card changed: one commit of README.md
// alone when a model was not listed yet, none otherwise.
type LinkedModels struct {
	Repo      string `json:"repo"`
	Revision  string `json:"revision"`
	Commit    string `json:"commit"`
	Committed bool   `json:"committed"`
}

// writeDefaults fills what a write request to the Hub leaves unset: the
// main branch, and the retry policy of DefaultPublishRetries and
// DefaultPublishBackoff.
func writeDefaults(revision *string, retries *int, backoff *float64) {
	if *revision == "" {
		*revision = "main"
	}
	if *retries <= 0 {
		*retries = DefaultPublishRetries
	}
	if *backoff <= 0 {
		*backoff = DefaultPublishBackoff.Seconds()
	}
}

// HubLinkModels runs the link-models op.
func (e *Engine) HubLinkModels(ctx context.Context, req LinkModelsRequest) (*LinkedModels, error) {
	writeDefaults(&req.Revision, &req.Retries, &req.BackoffSeconds)
	var out LinkedModels
	c := scriptCall{Module: "hub", Op: "hub-link-models", Args: []string{"link-models"}, Req: req, HFToken: req.Auth.Token, Env: req.Auth.env()}
	if err := e.runScript(ctx, c, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
