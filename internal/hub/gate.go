package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/validate"
)

// Check is one of the gate's checks.
type Check struct {
	Name     string   `json:"name"`
	Passed   bool     `json:"passed"`
	Detail   string   `json:"detail"`
	Problems []string `json:"problems"`
}

// Verdict is the gate's decision on a plan.
type Verdict struct {
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

func (v *Verdict) add(name, ok string, problems []string) {
	c := Check{Name: name, Passed: len(problems) == 0, Detail: ok, Problems: problems}
	if c.Problems == nil {
		c.Problems = []string{}
	}
	if !c.Passed {
		c.Detail = fmt.Sprintf("%d problem(s)", len(problems))
	}
	v.Checks = append(v.Checks, c)
}

// Problems lists every failed check's problems, prefixed by the check.
func (v *Verdict) Problems() []string {
	var out []string
	for _, c := range v.Checks {
		for _, p := range c.Problems {
			out = append(out, c.Name+": "+p)
		}
	}
	return out
}

// GateOptions are what the gate needs besides the plan.
type GateOptions struct {
	// ValidateModel runs `vulntune validate` on a model dir, quality gate
	// included (validate.Run with the engine and RequireEval).
	ValidateModel func(ctx context.Context, dir string) (*validate.Report, error)
	// Identity is the local account the privacy scan looks for.
	Identity Identity
}

// Gate decides, before any request, whether a plan may be published: a
// model must pass validation with its quality gate, a dataset its build
// checks; the card must be one the Hub accepts; and no file may carry a
// secret, a token, an e-mail address or the local user's name or home
// directory. Problems name the file and line, never the value found.
func Gate(ctx context.Context, p *Plan, o GateOptions) (*Verdict, error) {
	v := &Verdict{Checks: []Check{}}
	switch p.Kind {
	case KindModel:
		if err := gateModel(ctx, v, p, o); err != nil {
			return nil, err
		}
	case KindDataset:
		gateDataset(v, p)
	}
	v.add("card", "front matter the Hub accepts", cardProblems(p.Card))
	hits, err := Scan(p.Files, o.Identity)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, h := range hits {
		problems = append(problems, h.String())
	}
	v.add("privacy scan", fmt.Sprintf("%d files: no secrets, tokens, e-mail addresses or local paths", len(p.Files)), problems)
	v.Passed = len(v.Problems()) == 0
	return v, nil
}

func gateModel(ctx context.Context, v *Verdict, p *Plan, o GateOptions) error {
	if p.AdapterOnly {
		var problems []string
		if base, err := readBase(p.Dir); err != nil {
			problems = append(problems, err.Error())
		} else if baseHubID(base) == "" {
			problems = append(problems, fmt.Sprintf("the base model %q has no known Hub id (metadata.json base_model.hub_id or an hf: source), so the adapter card could not name it", base.Name))
		}
		v.add("base model", "named by its Hub id", problems)
	}
	if o.ValidateModel == nil {
		v.add("validation", "", []string{"no validator: the model cannot be checked"})
		return nil
	}
	rep, err := o.ValidateModel(ctx, p.Dir)
	if err != nil {
		return fmt.Errorf("validate %s: %w", p.Dir, err)
	}
	var problems []string
	for _, c := range rep.Failed() {
		problems = append(problems, fmt.Sprintf("%s (%s): %s", c.Name, c.Group, c.Detail))
	}
	v.add("validation", fmt.Sprintf("`vulntune validate` passed, quality gate included (%d checks)", len(rep.Checks)), problems)
	return nil
}

// gateDataset runs the dataset's build checks again on the files to send:
// the splits read back, stats.json agrees with them, and every example
// passes dataset.CheckExamples (no placeholders, empty, truncated or
// ungrounded answers, nothing shared across splits).
func gateDataset(v *Verdict, p *Plan) {
	var problems []string
	have := map[string]bool{}
	for _, f := range p.Files {
		have[f.Path] = true
	}
	for _, f := range []string{"train.jsonl", "valid.jsonl", "stats.json", "README.md"} {
		if !have[f] {
			problems = append(problems, "missing "+f)
		}
	}
	if len(problems) > 0 {
		v.add("build checks", "", problems)
		return
	}
	ex, err := dataset.Read(p.Dir)
	if err != nil {
		v.add("build checks", "", []string{err.Error()})
		return
	}
	var st struct {
		Examples int `json:"examples"`
	}
	if b, err := os.ReadFile(filepath.Join(p.Dir, "stats.json")); err != nil || json.Unmarshal(b, &st) != nil {
		problems = append(problems, "stats.json: not a vulntune stats file")
	} else if st.Examples != len(ex) {
		problems = append(problems, fmt.Sprintf("stats.json counts %d examples, the split files hold %d: the dataset changed after it was built", st.Examples, len(ex)))
	}
	problems = append(problems, dataset.CheckExamples(ex, 0)...)
	v.add("build checks", fmt.Sprintf("%d examples pass the dataset's build checks", len(ex)), problems)
}

// RefusedError is a publish the gate refused; nothing was sent.
type RefusedError struct {
	Kind, Repo string
	Problems   []string
}

func (e *RefusedError) Error() string {
	const show = 12
	ps := e.Problems
	more := ""
	if len(ps) > show {
		more = fmt.Sprintf("\n  ... and %d more", len(ps)-show)
		ps = ps[:show]
	}
	return fmt.Sprintf("publish %s %s refused (%d problem(s)); nothing was sent:\n  %s%s", e.Kind, e.Repo, len(e.Problems), strings.Join(ps, "\n  "), more)
}

// Hint says how to see the whole verdict.
func (e *RefusedError) Hint() string {
	return "fix the files named above and publish again; --dry-run shows the files and the gate's verdict without sending anything"
}
