// Package hub publishes datasets and models to the Hugging Face Hub
// (phases 4 and 6): a plan of the allow-listed files with their sizes and
// SHA-256s, a gate that refuses before any request (validation and quality
// gate, dataset build checks, a card the Hub accepts, a privacy scan), a
// token check (whoami and write access to the namespace), and one commit
// per publish through the official huggingface_hub client in the engine.
// Only hub and ghactions talk to the network, and hub only through the
// engine.
package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/engine"
)

// Engine is the part of the engine publishing uses.
type Engine interface {
	Whoami
	Publish(ctx context.Context, req engine.PublishRequest, onEvent func(engine.Event)) (*engine.Published, error)
}

// Options configure one publish.
type Options struct {
	PlanOptions
	GateOptions
	DryRun bool
	// Token and Endpoint reach the Hub ("" endpoint: HF_ENDPOINT or the
	// client's default). Neither is needed for a dry run.
	Token    Token
	Endpoint string
	Engine   Engine
	// Retries and BackoffSeconds tune the retries of 429/5xx (0: the
	// engine's defaults).
	Retries        int
	BackoffSeconds float64
	// Progress receives upload progress: bytes sent of total, and the rate.
	Progress func(Progress)
	Log      *slog.Logger
}

// Progress is one upload progress report.
type Progress struct {
	Stage   string  `json:"stage"`
	Message string  `json:"message,omitempty"`
	File    string  `json:"file,omitempty"`
	Bytes   int64   `json:"bytes"`
	Total   int64   `json:"total"`
	Rate    float64 `json:"rate"` // bytes per second
}

// Result is what a publish planned, decided and did.
type Result struct {
	Plan      *Plan             `json:"plan"`
	DryRun    bool              `json:"dry_run"`
	Account   string            `json:"account,omitempty"`
	Published *engine.Published `json:"published,omitempty"`
}

// Publish plans, gates and publishes. A gate refusal is a *RefusedError
// and nothing is sent; a dry run stops after the gate and sends nothing
// either way; otherwise the token is checked, then the plan is committed.
func Publish(ctx context.Context, o Options) (*Result, error) {
	plan, err := NewPlan(o.PlanOptions)
	if err != nil {
		return nil, err
	}
	v, err := Gate(ctx, plan, o.GateOptions)
	if err != nil {
		return nil, err
	}
	plan.Verdict = v
	res := &Result{Plan: plan, DryRun: o.DryRun}
	if o.DryRun {
		return res, nil
	}
	if !v.Passed {
		return res, &RefusedError{Kind: plan.Kind, Repo: plan.DisplayRepo(), Problems: v.Problems()}
	}
	acct, err := CheckAccess(ctx, o.Engine, o.Token, o.Endpoint, plan.Namespace())
	if err != nil {
		return res, err
	}
	plan.WithAccount(acct.Name)
	res.Account = acct.Name
	files, cleanup, err := materialize(plan)
	if err != nil {
		return res, err
	}
	defer cleanup()
	req := engine.PublishRequest{
		Repo: plan.Repo, RepoType: plan.Kind, Private: plan.Private, Revision: plan.Revision, Files: files,
		Message:     fmt.Sprintf("Publish %s %s with vulntune", plan.Kind, plan.Name),
		Description: fmt.Sprintf("%d files, %d bytes, content sha256 %s", len(files), plan.Bytes, plan.ContentSHA256),
		Tag:         plan.Tag, TagMessage: "model version " + plan.Tag,
		Retries: o.Retries, BackoffSeconds: o.BackoffSeconds,
		Auth: engine.HubAuth{Token: o.Token.Value(), Endpoint: o.Endpoint},
	}
	if o.Log != nil {
		o.Log.Info("publishing", "repo", plan.Repo, "files", len(files), "bytes", plan.Bytes, "token", o.Token.Source)
	}
	pub, err := o.Engine.Publish(ctx, req, func(ev engine.Event) { forwardProgress(ev, o.Progress) })
	if err != nil {
		return res, err
	}
	res.Published = pub
	return res, nil
}

func forwardProgress(ev engine.Event, to func(Progress)) {
	if to == nil || ev.Event != "progress" {
		return
	}
	var p Progress
	if json.Unmarshal(ev.Raw, &p) == nil {
		to(p)
	}
}

// materialize turns the plan into the engine's file list, writing the
// files the plan made (the adapter card) into a temp dir that cleanup
// removes.
func materialize(p *Plan) ([]engine.PublishFile, func(), error) {
	tmp := ""
	cleanup := func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}
	out := make([]engine.PublishFile, 0, len(p.Files))
	for _, f := range p.Files {
		local := f.Local
		if f.content != nil {
			if tmp == "" {
				var err error
				if tmp, err = os.MkdirTemp("", "vulntune-publish-"); err != nil {
					return nil, cleanup, err
				}
			}
			local = filepath.Join(tmp, filepath.FromSlash(f.Path))
			if err := atomicfile.WriteFile(local, f.content, 0o644); err != nil {
				return nil, cleanup, err
			}
		}
		out = append(out, engine.PublishFile{Path: f.Path, Local: local, Size: f.Size, SHA256: f.SHA256})
	}
	return out, cleanup, nil
}
