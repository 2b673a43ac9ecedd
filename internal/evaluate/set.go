package evaluate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
)

// SelectionFile describes, beside an evaluation set's test.jsonl, how its
// examples were chosen; Run copies it into results.json.
const SelectionFile = "selection.json"

// DefaultFixedVersionMin is how many dependency findings with a fixed
// version a selection holds at least (all there are, if fewer): issue 16's
// fixed-version target is set over at least 20 of them, and a handful would
// make one answer swing the figure by ten points.
const DefaultFixedVersionMin = 20

// SelectionRule says in words what Select does; results.json records it.
const SelectionRule = "every kind/tool stratum at least once; at least the fixed-version minimum of dependency findings " +
	"with a fixed version, taken in turn from each tool; then filled to the size in turn from each stratum; " +
	"within a stratum in order of sha256(finding id)"

// SelectOptions bound a selection.
type SelectOptions struct {
	// Size is the number of examples wanted; coverage and the fixed-version
	// minimum come first, so a selection may hold more (0: just those).
	Size int
	// FixedVersionMin: dependency findings with a fixed version to hold at
	// least (0: DefaultFixedVersionMin; negative: none).
	FixedVersionMin int
}

// Selection records what Select chose.
type Selection struct {
	Rule string `json:"rule"`
	// From is the number of examples chosen from, Selected how many were.
	From     int `json:"from"`
	Selected int `json:"selected"`
	// FixedVersion counts the selected dependency findings with a fixed
	// version; FixedVersionMin is the minimum asked for.
	FixedVersion    int `json:"fixed_version"`
	FixedVersionMin int `json:"fixed_version_min"`
	Size            int `json:"size"`
	// ByStratum counts the selected examples per "kind/tool", Available
	// the examples there were of each.
	ByStratum map[string]int `json:"by_stratum"`
	Available map[string]int `json:"available"`
}

// stratum is the kind and tools of an example: "dependency/trivy".
func stratum(m dataset.Meta) string {
	tools := append([]string(nil), m.Tools...)
	sort.Strings(tools)
	return m.Kind + "/" + strings.Join(tools, "+")
}

// Select chooses a deterministic, stratified subset of all for an
// evaluation set that must be small enough to answer on a CPU: every
// kind/tool stratum at least once (a tool the model does badly on shows up),
// at least opts.FixedVersionMin dependency findings with a fixed version
// taken in turn from each tool (so one scanner's many findings do not crowd
// out the others), then more in turn from each stratum up to opts.Size.
// Within a stratum examples are taken in order of the SHA-256 of their
// finding id, not in file order: a report added to the corpus adds
// candidates without reshuffling the ones already chosen. The result is in
// that hash order.
func Select(all []dataset.Example, opts SelectOptions) ([]dataset.Example, Selection) {
	want := opts.FixedVersionMin
	if want == 0 {
		want = DefaultFixedVersionMin
	}
	sel := Selection{Rule: SelectionRule, From: len(all), Size: opts.Size, FixedVersionMin: max(want, 0),
		ByStratum: map[string]int{}, Available: map[string]int{}}
	keys := make([]string, len(all))
	order := make([]int, len(all))
	for i, e := range all {
		sum := sha256.Sum256([]byte(e.Meta.FindingID))
		keys[i] = hex.EncodeToString(sum[:])
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] < keys[order[b]] })

	strata := map[string][]int{} // stratum -> example indexes in hash order
	fixed := map[string][]int{}  // the same, dependency findings with a fixed version only
	for _, i := range order {
		s := stratum(all[i].Meta)
		strata[s] = append(strata[s], i)
		sel.Available[s]++
		if all[i].Meta.Kind == "dependency" && all[i].Meta.Facts.FixedVersion != "" {
			fixed[s] = append(fixed[s], i)
		}
	}
	picked := map[int]bool{}
	pick := func(i int) {
		if picked[i] {
			return
		}
		picked[i] = true
		m := all[i].Meta
		sel.ByStratum[stratum(m)]++
		if m.Kind == "dependency" && m.Facts.FixedVersion != "" {
			sel.FixedVersion++
		}
	}
	// roundRobin takes the next unpicked example of each stratum in turn
	// until done says stop or every stratum is used up.
	roundRobin := func(from map[string][]int, done func() bool) {
		names := make([]string, 0, len(from))
		for s := range from {
			names = append(names, s)
		}
		sort.Strings(names)
		next := map[string]int{}
		for !done() {
			took := false
			for _, s := range names {
				if done() {
					return
				}
				for next[s] < len(from[s]) && picked[from[s][next[s]]] {
					next[s]++
				}
				if next[s] < len(from[s]) {
					pick(from[s][next[s]])
					took = true
				}
			}
			if !took {
				return
			}
		}
	}
	roundRobin(fixed, func() bool { return sel.FixedVersion >= want })
	for _, is := range strata {
		if sel.ByStratum[stratum(all[is[0]].Meta)] == 0 {
			pick(is[0])
		}
	}
	roundRobin(strata, func() bool { return len(picked) >= opts.Size })

	out := make([]dataset.Example, 0, len(picked))
	for _, i := range order {
		if picked[i] {
			out = append(out, all[i])
		}
	}
	sel.Selected = len(out)
	return out, sel
}

// setName is what a set may be called: a directory name under eval/.
var setName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// CheckSetName refuses a set name that is not a plain lower-case
// directory name ("other", "corpus-2026"), so eval/<set> stays inside eval/.
func CheckSetName(set string) error {
	if set == "" || !setName.MatchString(set) || strings.Contains(set, "..") {
		return fmt.Errorf("evaluation set name %q: want lower-case letters, digits, '.', '-' or '_', like \"other\"", set)
	}
	return nil
}

// WriteSet writes the examples Select chooses from all into dir as an
// evaluation-only dataset: test.jsonl (the chat rows), examples.meta.jsonl
// (their metadata, split "test") and selection.json. It has no train.jsonl
// or valid.jsonl on purpose: training reads those two, so a set built from
// another project's reports cannot be trained on by mistake. dir is
// replaced.
func WriteSet(dir string, all []dataset.Example, opts SelectOptions) (*Selection, error) {
	exs, sel := Select(all, opts)
	if len(exs) == 0 {
		return nil, fmt.Errorf("evaluation set %s: no examples to choose from", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("replace evaluation set: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create evaluation set: %w", err)
	}
	var rows, metas []byte
	for i, e := range exs {
		row, err := json.Marshal(struct {
			Messages []chat.Message `json:"messages"`
		}{e.Messages})
		if err != nil {
			return nil, err
		}
		m := e.Meta
		m.Split = dataset.Test
		meta, err := json.Marshal(struct {
			dataset.Meta
			Line int `json:"line"`
		}{m, i + 1})
		if err != nil {
			return nil, err
		}
		rows = append(append(rows, row...), '\n')
		metas = append(append(metas, meta...), '\n')
	}
	b, err := json.MarshalIndent(sel, "", "  ")
	if err != nil {
		return nil, err
	}
	for name, data := range map[string][]byte{dataset.Test + ".jsonl": rows, "examples.meta.jsonl": metas, SelectionFile: append(b, '\n')} {
		if err := atomicfile.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, fmt.Errorf("write evaluation set: %w", err)
		}
	}
	return &sel, nil
}

// readSelection reads dir's selection.json; a dataset without one (a
// dataset's own held-out split) gives nil.
func readSelection(dir string) (*Selection, error) {
	path := filepath.Join(dir, SelectionFile)
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read evaluation set selection: %w", err)
	}
	var s Selection
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &s, nil
}
