package validate

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/redact"
)

// Required metadata.json keys. A base model records where it came from; a
// fine-tuned model records how it was made (DESIGN.md §3). The engine
// versions may sit under "engine" or "engine_versions".
var (
	baseKeys      = []string{"name", "kind", "architecture", "parameters", "created"}
	fineTunedKeys = []string{"name", "kind", "base_model", "dataset", "hyperparameters", "metrics", "created"}
	engineKeys    = []string{"engine", "engine_versions"}
)

// homeRE matches paths into a user's home directory, which must not be
// published: they name the user and the machine layout.
var homeRE = regexp.MustCompile(`(?:/home/[^/\s"']+/|/Users/[^/\s"']+/|/root/|(?:^|[\s"'=:])~/|[A-Za-z]:\\\\?Users\\\\?[^\\\s"']+)`)

// scanSkip are files whose content is vocabulary, not prose a person or
// tool wrote: token and path patterns match random vocabulary entries.
var scanSkip = map[string]bool{"tokenizer.json": true, "vocab.json": true, "merges.txt": true, "tokenizer.model": true}

// tokenScanSkip are tokenizer files whose special-token entries
// ("eos_token": "<|im_end|>") read as secret assignments; they are still
// scanned for home paths.
var tokenScanSkip = map[string]bool{"tokenizer_config.json": true, "special_tokens_map.json": true}

// scanMax bounds the size of a file scanned for tokens and home paths.
const scanMax = 8 << 20

func checkMetadata(r *Report, dir string, meta map[string]any, metaErr error, files []string) {
	switch {
	case metaErr != nil:
		r.add(GroupArtifact, "metadata.json complete", Fail, "metadata.json: %v", metaErr)
	default:
		want := baseKeys
		if meta["kind"] != modelstore.KindBase {
			want = fineTunedKeys
		}
		var missing []string
		for _, k := range want {
			if v, ok := meta[k]; !ok || v == nil || v == "" {
				missing = append(missing, k)
			}
		}
		if meta["kind"] != modelstore.KindBase && !hasAny(meta, engineKeys) {
			missing = append(missing, strings.Join(engineKeys, " or "))
		}
		if len(missing) > 0 {
			r.add(GroupArtifact, "metadata.json complete", Fail, "metadata.json (kind %v) lacks %s", meta["kind"], strings.Join(missing, ", "))
		} else {
			r.add(GroupArtifact, "metadata.json complete", Pass, "kind %v, %d keys", meta["kind"], len(meta))
		}
	}

	var leaks, homes []string
	for _, f := range files {
		ext := strings.ToLower(path.Ext(f))
		if scanSkip[path.Base(f)] || (ext != ".json" && ext != ".jsonl" && ext != ".md" && ext != ".txt" && ext != ".yaml" && ext != ".yml") {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		if fi, err := os.Stat(p); err != nil || fi.Size() > scanMax {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		if !tokenScanSkip[path.Base(f)] {
			for _, m := range redact.Scan(s) {
				leaks = append(leaks, fmt.Sprintf("%s: %s at byte %d", f, m.Detector, m.Start))
			}
		}
		if loc := homeRE.FindStringIndex(s); loc != nil {
			homes = append(homes, fmt.Sprintf("%s: %q", f, strings.TrimSpace(s[loc[0]:loc[1]])))
		}
	}
	sort.Strings(leaks)
	if len(leaks) > 0 {
		r.add(GroupArtifact, "no tokens", Fail, "secrets found: %s", strings.Join(leaks, ", "))
	} else {
		r.add(GroupArtifact, "no tokens", Pass, "metadata, card and configs scanned")
	}
	if len(homes) > 0 {
		r.add(GroupArtifact, "no home paths", Fail, "home-directory paths: %s", strings.Join(homes, ", "))
	} else {
		r.add(GroupArtifact, "no home paths", Pass, "none")
	}
}

func hasAny(m map[string]any, keys []string) bool {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil {
			return true
		}
	}
	return false
}
