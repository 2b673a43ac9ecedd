package dataset

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/homepath"
	"github.com/vulntune/vulntune/internal/redact"
)

// CheckError lists every problem the build-time checks found. The dataset
// is not written when there is one.
type CheckError struct{ Problems []string }

func (e *CheckError) Error() string {
	const show = 10
	msg := fmt.Sprintf("dataset failed %d build check(s):\n  %s", len(e.Problems), strings.Join(e.Problems[:min(show, len(e.Problems))], "\n  "))
	if len(e.Problems) > show {
		msg += fmt.Sprintf("\n  ... and %d more", len(e.Problems)-show)
	}
	return msg
}

// placeholder matches the template debris the original system trained on
// (103 of 107 "fixes" were "// TODO: Implement ..."): TODO/FIXME markers,
// "implement ... here", lorem ipsum, and angle-bracket or version
// placeholders.
var placeholder = regexp.MustCompile(`(?i)\b(TODO|FIXME|TBD|XXX)\b|implement (the )?(fix|this|validation|logic)? ?here|lorem ipsum|<(your[-_ ][a-z_-]+|placeholder|insert[^>]*)>|<version>([^<\w$]|$)|\bx\.y\.z\b|your[-_]version[-_]here`)

// minAnswer is the shortest assistant turn accepted: every narrative has at
// least a what, a where and a fix, which never fits in fewer characters.
const minAnswer = 120

// CheckExamples runs every content check on a dataset about to be
// written: the checks of single examples (Screen drops what fails them
// before; here a failure is fatal) and those of the dataset as a whole:
// every example in a split, no exact or near-duplicate examples across
// splits. Split must have run.
func CheckExamples(ex []Example, nearDup float64) []string {
	if nearDup == 0 {
		nearDup = DefaultNearDup
	}
	var problems []string
	for i, e := range ex {
		where := fmt.Sprintf("example %d (finding %s)", i, e.Meta.FindingID)
		for _, d := range exampleProblems(e) {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", where, d.Reason, d.Detail))
		}
		if e.Meta.Split == "" {
			problems = append(problems, where+": not assigned to a split")
		}
	}
	// Exact duplicates across splits.
	seen := map[[32]byte]int{}
	for i, e := range ex {
		h := sha256.Sum256([]byte(normalizeSpace(exampleText(e))))
		if j, ok := seen[h]; ok && ex[j].Meta.Split != e.Meta.Split {
			problems = append(problems, fmt.Sprintf("examples %d and %d are identical but in %s and %s", j, i, ex[j].Meta.Split, e.Meta.Split))
		} else if !ok {
			seen[h] = i
		}
	}
	// Near duplicates across splits: a fresh union-find over all examples
	// finds every linked pair; pairs in different splits are leaks.
	uf := newUnionFind(len(ex))
	linkNearDuplicates(ex, nearDup, uf)
	splitOf := map[int]string{}
	for i, e := range ex {
		r := uf.find(i)
		if s, ok := splitOf[r]; ok && s != e.Meta.Split {
			problems = append(problems, fmt.Sprintf("example %d (finding %s) in %s is a near-duplicate of an example in %s", i, e.Meta.FindingID, e.Meta.Split, s))
		} else if !ok {
			splitOf[r] = e.Meta.Split
		}
	}
	return problems
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func truncated(a string) bool {
	if strings.Count(a, "```")%2 == 1 {
		return true
	}
	t := strings.TrimSpace(a)
	lastLine := t[strings.LastIndexByte(t, '\n')+1:]
	// List items (references, steps) and links end without punctuation by
	// nature; only a prose line must end a sentence.
	for _, p := range []string{"- ", "* ", "http://", "https://"} {
		if strings.HasPrefix(lastLine, p) {
			return false
		}
	}
	last := t[len(t)-1]
	return !strings.ContainsRune(".!?)]`|>*:\"'", rune(last)) && !(last >= '0' && last <= '9')
}

// CheckFiles scans every line of every file in dir with the redaction
// detectors, for each canary (planted test secrets) and for home-directory
// paths and the local user's name and home, so a secret or a personal path
// that slipped past ingest fails the build instead of being published.
func CheckFiles(dir string, canaries []string) ([]string, error) {
	return checkFiles(dir, canaries, homepath.Local())
}

func checkFiles(dir string, canaries []string, id homepath.Identity) ([]string, error) {
	var problems []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			text := sc.Text()
			for _, m := range redact.Scan(text) {
				problems = append(problems, fmt.Sprintf("%s:%d: looks like a secret (%s detector)", name, line, m.Detector))
			}
			for _, det := range id.Hits(text) {
				problems = append(problems, fmt.Sprintf("%s:%d: contains a %s", name, line, det))
			}
			for _, c := range canaries {
				if c != "" && strings.Contains(text, c) {
					problems = append(problems, fmt.Sprintf("%s:%d: contains a planted canary secret", name, line))
				}
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("scan %s: %w", name, err)
		}
	}
	return problems, nil
}
