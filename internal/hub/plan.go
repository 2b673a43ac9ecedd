package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/filehash"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// Repo kinds, as the Hub names them.
const (
	KindModel   = "model"
	KindDataset = "dataset"
)

// File is one file a publish sends: its path in the repo, size and SHA-256.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Local is where the file is on disk; content holds a file the plan
	// made (the adapter card), written to a temp dir when published.
	Local   string `json:"-"`
	content []byte
}

// Skipped is a file of the directory that the allow-list keeps off the Hub.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Plan is what a publish would send and where: the --dry-run output.
type Plan struct {
	Kind string `json:"kind"`
	Dir  string `json:"dir"`
	// Repo is namespace/name; the namespace is "" until the token's
	// account is known (no --repo and no default_repo_prefix).
	Repo     string `json:"repo"`
	Name     string `json:"name"`
	Private  bool   `json:"private"`
	Revision string `json:"revision"`
	// AdapterOnly: the adapter alone, with a card naming its base.
	AdapterOnly bool      `json:"adapter_only"`
	Tag         string    `json:"tag,omitempty"`
	Files       []File    `json:"files"`
	Bytes       int64     `json:"bytes"`
	Skipped     []Skipped `json:"skipped"`
	// ContentSHA256 identifies the file set: SHA-256 over each file's path
	// and SHA-256, sorted.
	ContentSHA256 string `json:"content_sha256"`
	// Card is the README.md that is published.
	Card    string   `json:"card"`
	Verdict *Verdict `json:"verdict,omitempty"`
}

// PlanOptions say what to publish and as what.
type PlanOptions struct {
	Kind string
	Dir  string
	// Repo is the full repo id (--repo); "" composes Prefix and the name.
	Repo   string
	Prefix string
	// Private creates the repo private (private_repos, --private).
	Private bool
	// Revision is the branch a dataset is committed to ("" = main).
	Revision string
	// AdapterOnly publishes a model's adapters/ alone, with a card of its
	// own naming the base model.
	AdapterOnly bool
}

// Model allow-list: the files of DESIGN.md §3's model directory a model
// repo carries. Everything else (pickles, logs, checkpoints, optimizer
// state, generations) stays home.
var (
	modelFiles = map[string]bool{
		"model.safetensors": true, "model.safetensors.index.json": true,
		"config.json": true, "generation_config.json": true,
		"tokenizer.json": true, "tokenizer_config.json": true, "special_tokens_map.json": true,
		"tokenizer.model": true, "vocab.json": true, "merges.txt": true, "added_tokens.json": true,
		"chat_template.jinja": true, "chat_template.json": true,
		"README.md": true, modelstore.MetadataFile: true,
		"training/metrics.jsonl": true, "training/loss.png": true,
	}
	modelShard = regexp.MustCompile(`^model-\d{5}-of-\d{5}\.safetensors$`)
	// adapterFiles are mlx-lm's adapter files under adapters/, and
	// peftFiles PEFT's under adapters/peft/.
	adapterFiles = map[string]bool{"adapter_config.json": true, "adapters.safetensors": true}
	peftFiles    = map[string]bool{"adapter_config.json": true, "adapter_model.safetensors": true}
	// datasetFiles are what a dataset repo carries; examples.meta.jsonl
	// (scoring facts and split groups) is vulntune's working data.
	datasetFiles = map[string]bool{
		"train.jsonl": true, "valid.jsonl": true, "test.jsonl": true, "stats.json": true, "README.md": true,
	}
)

// evalResults reports whether rel is a results.json of evaluation: the
// held-out split's (eval/results.json) or another set's
// (eval/<set>/results.json, such as make demo's "other" projects). The
// card quotes and links every one of them, so the repo must carry them;
// their generations stay home like the held-out split's.
func evalResults(rel string) bool {
	dir, name := path.Split(rel)
	if name != evaluate.ResultsFile {
		return false
	}
	set, ok := strings.CutPrefix(strings.TrimSuffix(dir, "/"), "eval")
	if set == "" {
		return ok
	}
	set, ok = strings.CutPrefix(set, "/")
	return ok && evaluate.CheckSetName(set) == nil
}

// NewPlan lists the files to publish from o.Dir with their sizes and
// hashes, and the repo they go to. It reads only local files.
func NewPlan(o PlanOptions) (*Plan, error) {
	if o.Kind != KindModel && o.Kind != KindDataset {
		return nil, fmt.Errorf("publish: kind %q: want %q or %q", o.Kind, KindModel, KindDataset)
	}
	if o.AdapterOnly && o.Kind != KindModel {
		return nil, errors.New("publish: --adapter-only applies to models")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("publish %s: %w", o.Kind, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("publish %s: %s is not a directory", o.Kind, dir)
	}
	p := &Plan{Kind: o.Kind, Dir: dir, Private: o.Private, Revision: o.Revision, AdapterOnly: o.AdapterOnly,
		Files: []File{}, Skipped: []Skipped{}}
	if p.Revision == "" {
		p.Revision = "main"
	}
	if err := p.collect(o); err != nil {
		return nil, err
	}
	if p.Name, err = repoName(o, dir); err != nil {
		return nil, err
	}
	if p.Repo, err = RepoID(o.Repo, o.Prefix, p.Name); err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, f := range p.Files {
		p.Bytes += f.Size
		fmt.Fprintf(h, "%s\x00%s\n", f.Path, f.SHA256)
	}
	p.ContentSHA256 = hex.EncodeToString(h.Sum(nil))
	if o.Kind == KindModel {
		p.Tag = versionTag(dir, p.ContentSHA256)
	}
	return p, nil
}

// collect walks the directory and sorts each file into the plan or the
// skipped list.
func (p *Plan) collect(o PlanOptions) error {
	var card string
	err := filepath.WalkDir(p.Dir, func(local string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p.Dir, local)
		rel = filepath.ToSlash(rel)
		if d.IsDir() || rel == "." {
			return nil
		}
		if !d.Type().IsRegular() {
			p.Skipped = append(p.Skipped, Skipped{Path: rel, Reason: "not a regular file (links are never followed)"})
			return nil
		}
		repoPath, reason := allowed(o, rel)
		if reason != "" {
			p.Skipped = append(p.Skipped, Skipped{Path: rel, Reason: reason})
			return nil
		}
		sum, size, err := filehash.File(local)
		if err != nil {
			return err
		}
		if rel == "README.md" && !o.AdapterOnly {
			b, err := os.ReadFile(local)
			if err != nil {
				return err
			}
			card = string(b)
		}
		p.Files = append(p.Files, File{Path: repoPath, Size: size, SHA256: sum, Local: local})
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish %s: %w", o.Kind, err)
	}
	if o.AdapterOnly {
		b, err := adapterCard(p.Dir)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		p.Files = append(p.Files, File{Path: "README.md", Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]), content: b})
		card = string(b)
	}
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Path < p.Files[j].Path })
	p.Card = card
	return nil
}

// allowed maps a file of the directory to its path in the repo, or says
// why it is not published.
func allowed(o PlanOptions, rel string) (string, string) {
	base := path.Base(rel)
	switch {
	case strings.HasSuffix(base, ".pkl") || strings.HasSuffix(base, ".pickle") || strings.HasSuffix(base, ".pt") ||
		strings.HasSuffix(base, ".pth") || strings.HasSuffix(base, ".bin") || strings.HasSuffix(base, ".ckpt"):
		return "", "pickle-capable weights are never published (safetensors only)"
	case o.Kind == KindDataset:
		if datasetFiles[rel] {
			return rel, ""
		}
		return "", "not a dataset file (train/valid/test.jsonl, stats.json, README.md)"
	case o.AdapterOnly:
		// PEFT's files at the repo's root, where PeftModel.from_pretrained
		// looks; mlx-lm's then under mlx/ (both are adapter_config.json).
		dir, name := path.Split(rel)
		switch {
		case dir == "adapters/peft/" && peftFiles[name]:
			return name, ""
		case dir == "adapters/" && adapterFiles[name] && hasPEFT(o.Dir):
			return "mlx/" + name, ""
		case dir == "adapters/" && adapterFiles[name]:
			return name, ""
		case rel == modelstore.MetadataFile || evalResults(rel):
			return rel, ""
		}
		return "", "--adapter-only publishes adapters/ (PEFT's and mlx-lm's), metadata.json and eval/**/results.json"
	case modelFiles[rel] || modelShard.MatchString(rel) || evalResults(rel):
		return rel, ""
	}
	switch dir, name := path.Split(rel); {
	case dir == "adapters/" && adapterFiles[name], dir == "adapters/peft/" && peftFiles[name]:
		return rel, ""
	}
	return "", "not on the model allow-list (no logs, checkpoints, optimizer state or generations)"
}

// hasPEFT reports whether a model dir holds the PEFT form of its adapter
// (adapters/peft/, written by training since PEFT export existed).
func hasPEFT(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "adapters", "peft", "adapter_config.json"))
	return err == nil
}

// hubName is what the Hub accepts as a repo or namespace name.
var hubName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$`)

// repoName is the model's or dataset's name: the model dir's name (with
// "-adapter" for --adapter-only); for a dataset the name in stats.json,
// else the directory's name, and a run's "dataset" folder is named after
// its run.
func repoName(o PlanOptions, dir string) (string, error) {
	name := filepath.Base(dir)
	switch {
	case o.Kind == KindModel && o.AdapterOnly:
		name += "-adapter"
	case o.Kind == KindDataset:
		var st struct {
			Name string `json:"name"`
		}
		if b, err := os.ReadFile(filepath.Join(dir, "stats.json")); err == nil && json.Unmarshal(b, &st) == nil && st.Name != "" {
			name = st.Name
		} else if name == "dataset" {
			name = filepath.Base(filepath.Dir(dir)) + "-dataset"
		}
	}
	if o.Repo == "" && (!hubName.MatchString(name) || strings.Contains(name, "--") || strings.Contains(name, "..")) {
		return "", &NameError{Name: name}
	}
	return name, nil
}

// NameError is a model or dataset name, or a --repo, the Hub would not
// accept.
type NameError struct{ Name, Want string }

func (e *NameError) Error() string {
	if e.Want != "" {
		return fmt.Sprintf("--repo %q: want %s", e.Name, e.Want)
	}
	return fmt.Sprintf("%q is not a valid Hub repo name (letters, digits, '-', '_', '.'; at most 96)", e.Name)
}

// Hint says how to choose one.
func (e *NameError) Hint() string { return "name the repo with --repo NAMESPACE/NAME" }

// RepoID is the repo a publish goes to: repo when given (namespace/name),
// else prefix/name; with neither it is "/name", completed with the token's
// account by WithAccount.
func RepoID(repo, prefix, name string) (string, error) {
	if repo != "" {
		ns, n, ok := strings.Cut(repo, "/")
		if !ok || !hubName.MatchString(ns) || !hubName.MatchString(n) {
			return "", &NameError{Name: repo, Want: "NAMESPACE/NAME (letters, digits, '-', '_', '.')"}
		}
		return repo, nil
	}
	return prefix + "/" + name, nil
}

// Namespace is the repo's owner ("" until the account is known).
func (p *Plan) Namespace() string { ns, _, _ := strings.Cut(p.Repo, "/"); return ns }

// DisplayRepo is the repo id for people: "<your account>/name" while the
// account is unknown.
func (p *Plan) DisplayRepo() string {
	if p.Namespace() == "" {
		return "<your account>" + p.Repo
	}
	return p.Repo
}

// WithAccount completes a repo id that has no namespace with the token's
// account name.
func (p *Plan) WithAccount(account string) {
	if p.Namespace() == "" {
		p.Repo = account + p.Repo
	}
}

// versionTag names a model version: when the model was made (metadata's
// created) and the content, so a tag never moves to other weights.
func versionTag(dir, content string) string {
	tag := "v-" + content[:12]
	if m, err := modelstore.ReadMetadata(dir); err == nil && !m.Created.IsZero() {
		tag = "v" + m.Created.UTC().Format("20060102.150405") + "-" + content[:8]
	}
	return tag
}
