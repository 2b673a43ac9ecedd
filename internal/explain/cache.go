package explain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// cacheVersion changes whenever what a cached answer means changes (2:
// answers of the answer op, which stops loops; 3: grounded answers hold
// their fenced fix lines to the finding's own, and the loop guard its
// lists to bullets and its lines to spans written at most twice; 4:
// grounded answers hold their Where section to the finding's own lines;
// 5: and their How to verify section; 6: and their In short line, each
// held line once, a dependency's Fix lead, fenced fix lines as written,
// and links' paths in the ground's case; 7: and no claim that makes the
// fix wrong, its release line or that none exists; 8: fenced fix blocks
// hold the finding's fix snippets whole; 9: the loop guard holds a word to
// two copies in a row; 10: grounded answers hold What it is to the
// finding's own line, open Why it matters with its severity and kind's
// impact, give each section of facts whole and only the sections the
// finding's own answer has; 11: Why it matters held whole, narrate v19's
// one line of severity, description and kind's impact; 12: the fix steps
// that state facts, the weakness's and the rule's page, only the
// finding's own; 13: no line of asterisks alone; 14: narrate v22's Why it
// matters line, its description ending as a sentence, which grounded
// decoding holds whole, though the prompt, the key, is unchanged, and a
// secret's Fix section held whole; 15: the finding's own answer sent at
// last, so every rule from 3 on holds explain's answers: appending the
// empty answer turn to chat.PromptTurns had overwritten it, and grounded
// answers were held to the ground's identifiers alone; 16: a held section
// that holds all its lines is followed by a heading or the end, empty
// lines between, no tabs to the bound; 17: the loop guard holds a line's
// opening, list markers aside, to two copies, and the grounded pin each
// held fix step to one).
const cacheVersion = 17

// identifier is implemented by engines whose greedy answers are
// reproducible (engine.Engine.AnswerID).
type identifier interface {
	AnswerID() string
}

// cache keeps one answer per file, named by the hash of the engine's ID,
// the model's identity (evaluate.ModelIdentity: its files by name, size
// and time, so a re-import or re-fuse misses), max_tokens, the prompt and
// whether decoding is grounded.
// Answers are stored raw; grounding is checked anew on every run.
type cache struct {
	dir, engineID, model string
	files                []string
	maxTokens            int
	grounded             bool
	now                  func() time.Time
}

type cachedAnswer struct {
	Version int                 `json:"version"`
	Created time.Time           `json:"created"`
	Model   string              `json:"model"`
	Item    engine.EvaluateItem `json:"item"`
}

// newCache returns nil when answers cannot be cached: no cache dir, or an
// engine without an ID.
func newCache(opts Options) (*cache, error) {
	id, ok := opts.Engine.(identifier)
	if opts.CacheDir == "" || !ok {
		return nil, nil
	}
	files, err := evaluate.ModelIdentity(opts.ModelDir)
	if err != nil {
		return nil, err
	}
	return &cache{dir: opts.CacheDir, engineID: id.AnswerID(), model: filepath.Base(opts.ModelDir),
		files: files, maxTokens: opts.MaxTokens, grounded: !opts.Free, now: opts.Now}, nil
}

func (c *cache) key(msgs []chat.Message) (string, error) {
	b, err := json.Marshal(struct {
		Version   int            `json:"version"`
		Engine    string         `json:"engine"`
		Files     []string       `json:"files"`
		MaxTokens int            `json:"max_tokens"`
		Messages  []chat.Message `json:"messages"`
		// Grounded decoding answers otherwise; free answers keep the
		// keys they had before it existed.
		Grounded bool `json:"grounded,omitempty"`
	}{cacheVersion, c.engineID, c.files, c.maxTokens, msgs, c.grounded})
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// load returns the cached answer for key, or nil. A damaged entry counts
// as none: it is a cache.
func (c *cache) load(key string) *engine.EvaluateItem {
	b, err := os.ReadFile(filepath.Join(c.dir, key+".json"))
	if err != nil {
		return nil
	}
	var a cachedAnswer
	if json.Unmarshal(b, &a) != nil || a.Version != cacheVersion {
		return nil
	}
	return &a.Item
}

func (c *cache) store(key string, it engine.EvaluateItem) error {
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("explain cache: %w", err)
	}
	it.Index = 0 // the position in one request, not part of the answer
	b, err := json.Marshal(cachedAnswer{Version: cacheVersion, Created: c.now().UTC(), Model: c.model, Item: it})
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(c.dir, key+".json"), b, 0o644)
}
