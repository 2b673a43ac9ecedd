package evaluate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/engine"
)

// cacheVersion changes whenever what a cached answer means changes.
const cacheVersion = 1

// identifier is implemented by engines whose answers are reproducible: the
// same ID, model files and request give the same greedy answers.
type identifier interface {
	EvaluateID() string
}

// freeIdentifier is implemented by engines whose free answers (a request
// without grounds) depend on less than their grounded ones: no change to
// grounded decoding's code changes them (engine.Engine.FreeEvaluateID).
type freeIdentifier interface {
	FreeEvaluateID() string
}

// answerCache keeps a model's raw answers (text, tokens, loss), not their
// scores: scoring is recomputed, so a change to it needs no invalidation.
type answerCache struct {
	Version int                   `json:"version"`
	Created time.Time             `json:"created"`
	Model   string                `json:"model"`
	Items   []engine.EvaluateItem `json:"items"`
}

// cacheKey names the answers of the model in dir to req's examples, or ""
// when they cannot be cached (no cache dir, an engine without an ID).
func cacheKey(opts Options, dir string, req engine.EvaluateRequest) (string, error) {
	id, ok := opts.Engine.(identifier)
	if opts.CacheDir == "" || !ok {
		return "", nil
	}
	engineID := id.EvaluateID()
	if f, ok := opts.Engine.(freeIdentifier); ok && len(req.Grounds) == 0 {
		engineID = f.FreeEvaluateID()
	}
	files, err := modelFiles(dir)
	if err != nil {
		return "", err
	}
	req.Model = "" // where the model lives does not change its answers
	b, err := json.Marshal(struct {
		Version int                    `json:"version"`
		Engine  string                 `json:"engine"`
		Files   []string               `json:"files"`
		Request engine.EvaluateRequest `json:"request"`
	}{cacheVersion, engineID, files, req})
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// modelFiles lists the model's files by name, size and modification time
// (all but the card and eval/, which evaluation writes):
// replacing or rewriting any of them (a re-import, a re-fuse) changes the
// key, without hashing gigabytes of weights on every evaluation.
func modelFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && d.Name() == "eval" {
				return fs.SkipDir // evaluation output, not the model
			}
			return nil
		}
		if filepath.Dir(path) == dir && d.Name() == "README.md" {
			return nil // the card, which evaluation itself rewrites
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, fmt.Sprintf("%s|%d|%d", filepath.ToSlash(rel), info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("identify model %s: %w", dir, err)
	}
	sort.Strings(out)
	return out, nil
}

// loadCached returns the cached answers for key, or nil when there are
// none. A damaged entry counts as none: it is a cache.
func loadCached(cacheDir, key string, n int) []engine.EvaluateItem {
	b, err := os.ReadFile(filepath.Join(cacheDir, key+".json"))
	if err != nil {
		return nil
	}
	var c answerCache
	if json.Unmarshal(b, &c) != nil || c.Version != cacheVersion || len(c.Items) != n {
		return nil
	}
	seen := make([]bool, n)
	for _, it := range c.Items {
		if it.Index < 0 || it.Index >= n || seen[it.Index] {
			return nil
		}
		seen[it.Index] = true
	}
	return c.Items
}

func storeCached(cacheDir, key, model string, items []engine.EvaluateItem, now time.Time) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("evaluation cache: %w", err)
	}
	b, err := json.Marshal(answerCache{Version: cacheVersion, Created: now.UTC(), Model: model, Items: items})
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(cacheDir, key+".json"), b, 0o644); err != nil {
		return fmt.Errorf("evaluation cache: %w", err)
	}
	return nil
}

// ModelIdentity is what identifies the model in dir in answer caches: its
// files by name, size and modification time (modelFiles). Other caches of
// greedy answers (`vulntune explain`'s) key on it as evaluation does.
func ModelIdentity(dir string) ([]string, error) { return modelFiles(dir) }
