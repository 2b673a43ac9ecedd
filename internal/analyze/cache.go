package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// cacheEntry is one cached model reply. The raw reply is kept, not only the
// verdict, so a rerun re-checks it with the current grounding rules without
// calling the model; the verdict at write time is kept for people reading
// the cache.
type cacheEntry struct {
	FindingID     string `json:"finding_id"`
	Model         string `json:"model"`
	PromptVersion string `json:"prompt_version"`
	Reply         string `json:"reply"`
	Accepted      bool   `json:"accepted"`
	RejectReason  string `json:"reject_reason,omitempty"`
	RejectDetail  string `json:"reject_detail,omitempty"`
}

// cache stores one JSON file per (finding id, model, prompt version) under
// dir/<first two hex digits>/<sha256>.json. Files rather than one database:
// concurrent workers never contend, each write is atomic on its own, and a
// user can delete one entry by hand. An empty dir disables the cache.
type cache struct {
	dir string
}

func cacheKey(findingID, model string) string {
	sum := sha256.Sum256([]byte(findingID + "\x00" + model + "\x00" + PromptVersion))
	return hex.EncodeToString(sum[:])
}

func (c cache) path(findingID, model string) string {
	k := cacheKey(findingID, model)
	return filepath.Join(c.dir, k[:2], k+".json")
}

// get returns the entry for the key, or ok false on a miss. An unreadable
// or foreign entry is a miss, not an error: the worst outcome is one more
// call, and the entry is rewritten.
func (c cache) get(findingID, model string) (cacheEntry, bool, error) {
	if c.dir == "" {
		return cacheEntry{}, false, nil
	}
	p := c.path(findingID, model)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return cacheEntry{}, false, nil
	}
	if err != nil {
		return cacheEntry{}, false, fmt.Errorf("read analysis cache %s: %w", p, err)
	}
	var e cacheEntry
	if err := json.Unmarshal(data, &e); err != nil || e.FindingID != findingID || e.Model != model || e.PromptVersion != PromptVersion {
		return cacheEntry{}, false, nil
	}
	return e, true, nil
}

func (c cache) put(e cacheEntry) error {
	if c.dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return fmt.Errorf("encode analysis cache entry for %s: %w", e.FindingID, err)
	}
	p := c.path(e.FindingID, e.Model)
	if err := atomicfile.WriteFile(p, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write analysis cache: %w", err)
	}
	return nil
}
