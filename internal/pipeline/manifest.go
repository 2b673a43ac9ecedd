package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/filehash"
)

// ManifestName is the run manifest's file name inside a run directory.
const ManifestName = "run.json"

// Phase status values.
const (
	StatusPending = "pending"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusSkipped = "skipped"
)

// Manifest is run.json: what a run read, what each phase did and produced.
// A phase whose Key still matches its inputs and whose outputs exist is not
// run again; a phase left "running" by a crash is run again (finetune
// resumes from its last checkpoint).
type Manifest struct {
	Version  int                     `json:"version"`
	Created  time.Time               `json:"created"`
	Updated  time.Time               `json:"updated"`
	Inputs   []InputFile             `json:"inputs"`
	Model    string                  `json:"model_name,omitempty"`
	Phases   map[string]*PhaseRecord `json:"phases"`
	Versions map[string]string       `json:"versions"`
	// Interruptions lists every signal that stopped a phase of this run,
	// oldest first; the phase itself is left running and resumes.
	Interruptions []Interruption `json:"interruptions,omitempty"`
}

// Interruption is one stop by a signal.
type Interruption struct {
	Phase  string    `json:"phase"`
	Signal string    `json:"signal"`
	At     time.Time `json:"at"`
}

// InputFile is one input with its content hash.
type InputFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// PhaseRecord is what run.json records of one phase.
type PhaseRecord struct {
	Status  string   `json:"status"`
	Key     string   `json:"key"`
	Outputs []string `json:"outputs"`
	// Hashes holds each output's content hash when the phase finished
	// (outputHash): a phase is up to date only while they still match, so
	// an output changed or truncated since is rebuilt, not trusted.
	Hashes   map[string]string `json:"hashes,omitempty"`
	Started  time.Time         `json:"started,omitzero"`
	Finished time.Time         `json:"finished,omitzero"`
	Duration float64           `json:"duration_s"`
	Error    string            `json:"error,omitempty"`
	Summary  map[string]any    `json:"summary,omitempty"`
	Notes    map[string]string `json:"notes,omitempty"`
}

// LoadManifest reads dir/run.json, or returns a fresh manifest when none
// exists.
func LoadManifest(dir string, now time.Time) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return &Manifest{Version: 1, Created: now, Phases: map[string]*PhaseRecord{}, Versions: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: corrupt run manifest (delete it to start the run afresh): %w", filepath.Join(dir, ManifestName), err)
	}
	if m.Phases == nil {
		m.Phases = map[string]*PhaseRecord{}
	}
	if m.Versions == nil {
		m.Versions = map[string]string{}
	}
	return &m, nil
}

// Save writes the manifest atomically.
func (m *Manifest) Save(dir string, now time.Time) error {
	m.Updated = now
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ManifestName), append(b, '\n'), 0o644)
}

// HashInputs lists every regular file under paths (recursively, hidden
// directories skipped as ingest does) with its sha256, sorted by path.
func HashInputs(paths []string) ([]InputFile, error) {
	var out []InputFile
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && d.Name()[0] == '.' {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			h, n, err := filehash.File(path)
			if err != nil {
				return err
			}
			out = append(out, InputFile{Path: path, SHA256: h, Bytes: n})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hash inputs: %w", err)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

// Key hashes the JSON of parts: a phase's identity from its inputs and
// options. Any change in them makes the phase run again.
func Key(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		_ = enc.Encode(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// hashDir hashes the regular files directly in dir (names and contents), so
// a later phase's key changes exactly when an earlier phase's output does.
func hashDir(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		fh, _, err := filehash.File(filepath.Join(dir, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", e.Name(), fh)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// outputHash identifies an output's content: a file's SHA-256, a model
// directory's weights, config and tokenizer (hashModel: later phases
// rewrite its card and eval/), or any other directory's files (hashDir).
func outputHash(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		h, _, err := filehash.File(path)
		return h, err
	}
	if _, err := os.Stat(filepath.Join(path, "config.json")); err == nil {
		return hashModel(path)
	}
	return hashDir(path)
}

// hashModel hashes what defines a model's behaviour (weights, config,
// tokenizer), not the card or eval files that later phases rewrite.
func hashModel(dir string) (string, error) {
	h := sha256.New()
	for _, pat := range []string{"*.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} {
		matches, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return "", err
		}
		sort.Strings(matches)
		for _, m := range matches {
			fh, _, err := filehash.File(m)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %s\n", filepath.Base(m), fh)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// RunModel returns the name of the model the run in dir fine-tuned, so a
// command can take a run directory where it takes a model ("vulntune
// export runs/demo"); ok is false when dir holds no run manifest.
func RunModel(dir string) (name string, ok bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err != nil {
		return "", false, nil
	}
	m, err := LoadManifest(dir, time.Time{})
	if err != nil {
		return "", true, err
	}
	if m.Model == "" {
		return "", true, fmt.Errorf("run %s has no fine-tuned model (was it run with --skip-fine-tuning?)", filepath.Base(dir))
	}
	return m.Model, true, nil
}
