package dataset

import (
	"fmt"
	"sort"
	"strings"
)

// Stats is stats.json: counts a script can read.
type Stats struct {
	Name       string                    `json:"name"`
	Examples   int                       `json:"examples"`
	Splits     map[string]int            `json:"splits"`
	ByKind     map[string]map[string]int `json:"by_kind"`     // kind -> split -> n
	BySeverity map[string]map[string]int `json:"by_severity"` // severity -> split -> n
	ByTool     map[string]map[string]int `json:"by_tool"`     // tool -> split -> n
	LLM        int                       `json:"llm_examples"`
	Answer     LengthStats               `json:"answer_chars"`
	Split      SplitStats                `json:"split"`
	Redactions map[string]int            `json:"redactions"`
	Provenance map[string][]string       `json:"provenance"`
	// MaxPerRule is the per-rule cap (0: none); Capped counts the examples
	// it dropped, by "tool:rule".
	MaxPerRule int            `json:"max_per_rule"`
	Capped     map[string]int `json:"capped_per_rule"`
	// Dropped counts the examples the build checks left out, by reason;
	// DroppedExamples lists each (finding id, reason, what failed).
	Dropped         map[string]int `json:"dropped"`
	DroppedExamples []Drop         `json:"dropped_examples"`
	// Augmentation says what identifier-replaced copies were added to the
	// training split and its mix of kinds and tools before and after
	// (absent when augmentation is off).
	Augmentation *Augmentation `json:"augmentation,omitempty"`
}

// LengthStats summarises answer lengths in characters.
type LengthStats struct {
	Min    int `json:"min"`
	Median int `json:"median"`
	Max    int `json:"max"`
}

// ComputeStats counts ex for stats.json and the card.
func ComputeStats(ex []Example, opts WriteOptions) *Stats {
	st := &Stats{
		Name: opts.Name, Examples: len(ex), Splits: map[string]int{},
		ByKind: map[string]map[string]int{}, BySeverity: map[string]map[string]int{}, ByTool: map[string]map[string]int{},
		Split: opts.Split, Redactions: opts.Redactions, Provenance: opts.Provenance,
		MaxPerRule: opts.MaxPerRule, Capped: opts.Capped,
		Dropped: DropCounts(opts.Drops), DroppedExamples: append([]Drop{}, opts.Drops...),
		Augmentation: opts.Augmentation,
	}
	if st.Capped == nil {
		st.Capped = map[string]int{}
	}
	if st.Redactions == nil {
		st.Redactions = map[string]int{}
	}
	if st.Provenance == nil {
		st.Provenance = map[string][]string{}
	}
	add := func(m map[string]map[string]int, k, split string) {
		if m[k] == nil {
			m[k] = map[string]int{}
		}
		m[k][split]++
	}
	var lens []int
	for _, e := range ex {
		s := e.Meta.Split
		st.Splits[s]++
		add(st.ByKind, e.Meta.Kind, s)
		add(st.BySeverity, e.Meta.Severity, s)
		for _, t := range e.Meta.Tools {
			add(st.ByTool, t, s)
		}
		if e.Meta.LLM {
			st.LLM++
		}
		lens = append(lens, len(e.Assistant()))
	}
	sort.Ints(lens)
	if len(lens) > 0 {
		st.Answer = LengthStats{Min: lens[0], Median: lens[len(lens)/2], Max: lens[len(lens)-1]}
	}
	return st
}

// sizeCategory is the Hub's size_categories bucket for n examples.
func sizeCategory(n int) string {
	switch {
	case n < 1000:
		return "n<1K"
	case n < 10000:
		return "1K<n<10K"
	case n < 100000:
		return "10K<n<100K"
	case n < 1000000:
		return "100K<n<1M"
	}
	return "1M<n<10M"
}

// Card renders the dataset card (README.md): YAML front matter the Hub
// validates, then tables of counts and the provenance and redaction record.
func Card(st *Stats, opts WriteOptions) string {
	license := opts.License
	if license == "" {
		license = "apache-2.0"
	}
	splits := []string{Train, Valid}
	if st.Splits[Test] > 0 {
		splits = append(splits, Test)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "---\nlicense: %s\nlanguage:\n- en\ntask_categories:\n- text-generation\n", license)
	fmt.Fprintf(&b, "tags:\n- security\n- vulnerability-remediation\n- sarif\n- vulntune\nsize_categories:\n- %s\n", sizeCategory(st.Examples))
	b.WriteString("configs:\n- config_name: default\n  data_files:\n")
	for _, s := range splits {
		split := s
		if s == Valid {
			split = "validation"
		}
		fmt.Fprintf(&b, "  - split: %s\n    path: %s.jsonl\n", split, s)
	}
	b.WriteString("---\n\n")
	name := st.Name
	if name == "" {
		name = "vulntune security remediation dataset"
	}
	fmt.Fprintf(&b, "# %s\n\n", name)
	fmt.Fprintf(&b, "%d chat examples, each turning one security-scanner finding into a grounded analysis and a concrete fix. "+
		"Built by [vulntune](https://github.com/vulntune/vulntune) from CI scanner output. "+
		"Every fact in an answer (identifiers, versions, paths, CWE names) comes from the finding itself or from a reference table shipped with vulntune; nothing is invented, "+
		"and every vulnerability id, CWE id, version and file path an answer names is in its prompt, so a model learns to read them, not to recall them.\n\n", st.Examples)
	b.WriteString("Each line of a split file is `{\"messages\": [system, user, assistant]}`, the format mlx-lm and TRL read. " +
		"`examples.meta.jsonl` holds per-example metadata (finding id, kind, tools, severity, split group) with a `split` and `line` pointing into the split files.\n\n")
	// Tokens depend on the model's tokenizer and chat template, which the
	// dataset does not know; training counts them (issue 16).
	if st.Answer.Max > 0 {
		fmt.Fprintf(&b, "Answers run to %d–%d characters (median %d). Their length in tokens depends on the model's tokenizer: "+
			"fine-tuning counts the examples longer than its sequence length (they would train cut) and the longest, in its summary and the model card.\n\n",
			st.Answer.Min, st.Answer.Max, st.Answer.Median)
	}

	b.WriteString("## Splits\n\n| split | examples |\n|---|---|\n")
	for _, s := range splits {
		fmt.Fprintf(&b, "| %s | %d |\n", s, st.Splits[s])
	}
	fmt.Fprintf(&b, "\nThe split is leak-free: findings merged into one, findings sharing a package and vulnerability id or a rule and path, and near-duplicate examples (word-shingle Jaccard ≥ %.2f) form %d groups, and a group never straddles splits. Groups are assigned per kind (stratified) in an order fixed by seed %d.\n\n",
		st.Split.NearDupMinimum, st.Split.Groups, st.Split.Seed)

	if n := len(st.Capped); n > 0 {
		rules := make([]string, 0, n)
		total := 0
		for r, d := range st.Capped {
			rules = append(rules, fmt.Sprintf("`%s` (%d)", r, d))
			total += d
		}
		sort.Strings(rules)
		fmt.Fprintf(&b, "At most %d examples per scanner rule are kept, so no single noisy rule dominates: %d example(s) of %d rule(s) were left out: %s.\n\n",
			st.MaxPerRule, total, n, strings.Join(rules, ", "))
	}

	if a := st.Augmentation; a != nil {
		augmentationSection(&b, a)
	}

	if len(st.DroppedExamples) > 0 {
		fmt.Fprintf(&b, "## Dropped examples\n\n%d example(s) failed a build check and were left out; nothing of them is in any file here.\n\n| reason | examples |\n|---|---|\n", len(st.DroppedExamples))
		for _, r := range sortedKeys(st.Dropped) {
			fmt.Fprintf(&b, "| %s | %d |\n", r, st.Dropped[r])
		}
		b.WriteString("\n")
		for i, d := range st.DroppedExamples {
			if i == ShownDrops {
				fmt.Fprintf(&b, "- ... and %d more (stats.json lists them all)\n", len(st.DroppedExamples)-ShownDrops)
				break
			}
			fmt.Fprintf(&b, "- finding `%s`: %s (%s)\n", d.FindingID, d.Reason, d.Detail)
		}
		b.WriteString("\n")
	}

	table := func(title string, m map[string]map[string]int) {
		fmt.Fprintf(&b, "## By %s\n\n| %s | %s |\n|%s\n", title, title, strings.Join(splits, " | "), strings.Repeat("---|", len(splits)+1))
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			cells := make([]string, len(splits))
			for i, s := range splits {
				cells[i] = fmt.Sprint(m[k][s])
			}
			fmt.Fprintf(&b, "| %s | %s |\n", k, strings.Join(cells, " | "))
		}
		b.WriteString("\n")
	}
	table("tool", st.ByTool)
	table("kind", st.ByKind)
	table("severity", st.BySeverity)

	b.WriteString("## Provenance\n\n| tool | versions |\n|---|---|\n")
	tools := make([]string, 0, len(st.Provenance))
	for t := range st.Provenance {
		tools = append(tools, t)
	}
	sort.Strings(tools)
	for _, t := range tools {
		v := strings.Join(st.Provenance[t], ", ")
		if v == "" {
			v = "(not reported)"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", t, v)
	}
	b.WriteString("\n## Analysis text\n\n")
	if opts.LLM == "" {
		b.WriteString("No language model was used: every answer is built deterministically from the finding, the remediation rules and the reference tables.\n\n")
	} else {
		fmt.Fprintf(&b, "%d answers include short prose from `%s`, accepted only after a grounding check rejected any identifier, version, path or URL not present in the finding or the reference tables.", st.LLM, opts.LLM)
		if len(opts.LLMStats) > 0 {
			keys := make([]string, 0, len(opts.LLMStats))
			for k := range opts.LLMStats {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s %d", k, opts.LLMStats[k])
			}
			fmt.Fprintf(&b, " Analysis calls: %s.", strings.Join(parts, ", "))
		}
		b.WriteString("\n\n")
	}
	b.WriteString("## Redaction\n\n")
	total := 0
	for _, n := range st.Redactions {
		total += n
	}
	fmt.Fprintf(&b, "Secrets reported by secret scanners were masked everywhere they occurred, and every free-text field was scanned with credential detectors; %d values were replaced with `[REDACTED:<detector>]`. Commit author names and e-mail addresses were dropped. Only a hash of a secret is kept, for deduplication, and it is not part of this dataset. Every output file was scanned again with the same detectors before publishing.\n\n", total)
	if total > 0 {
		b.WriteString("| detector | masked |\n|---|---|\n")
		keys := make([]string, 0, len(st.Redactions))
		for k := range st.Redactions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "| %s | %d |\n", k, st.Redactions[k])
		}
		b.WriteString("\n")
	}
	b.WriteString("## Limitations\n\nThe examples reflect the scanners' own findings, including their false positives, and the projects they were run on. Suppressed findings are excluded. Answers recommend fixed versions known to the scanners' databases at scan time.\n")
	return b.String()
}

// ShownDrops is how many dropped examples the card and a summary list;
// stats.json has them all.
const ShownDrops = 10

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// augmentationSection tells what the training split holds besides the
// findings themselves, and its mix of kinds and tools before and after.
func augmentationSection(b *strings.Builder, a *Augmentation) {
	b.WriteString("## Identifier augmentation and training mix\n\n")
	fmt.Fprintf(b, "The training split also holds %d identifier-replaced copies of its examples: the same finding with another package, "+
		"other versions (in the same order and on the same release lines), other vulnerability ids (numbered where no advisory is: "+
		"CVE-YYYY-99..., so no copy ties a real advisory to a made-up package) and CWE ids (with the catalogue's names), "+
		"other paths, lines and rule ids, replaced in prompt and answer together, so that no identifier can be learnt as a constant; "+
		"a model gets them right only by reading them from the prompt. Every training example has %s, "+
		"those of kinds and tools with fewer examples up to %d, so the mix is more even. "+
		"Copies stay in their original's split group; validation and test are untouched.\n\n", a.Added, copiesText(a.Copies), max(a.MaxCopies, a.Copies))
	if len(a.Skipped) > 0 {
		parts := make([]string, 0, len(a.Skipped))
		for _, r := range sortedKeys(a.Skipped) {
			parts = append(parts, fmt.Sprintf("%s (%d)", r, a.Skipped[r]))
		}
		fmt.Fprintf(b, "Copies not made or left out: %s.\n\n", strings.Join(parts, ", "))
	}
	total := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	tb, ta := total(a.Before), total(a.After)
	b.WriteString("| kind/tool | train before | share | train after | share |\n|---|---|---|---|---|\n")
	keys := map[string]int{}
	for k := range a.Before {
		keys[k]++
	}
	for k := range a.After {
		keys[k]++
	}
	share := func(n, of int) string {
		if of == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(of))
	}
	for _, k := range sortedKeys(keys) {
		fmt.Fprintf(b, "| %s | %d | %s | %d | %s |\n", k, a.Before[k], share(a.Before[k], tb), a.After[k], share(a.After[k], ta))
	}
	fmt.Fprintf(b, "| all | %d | 100%% | %d | 100%% |\n\n", tb, ta)
	if len(a.Moved) > 0 {
		parts := make([]string, 0, len(a.Moved))
		for _, e := range sortedKeys(a.Moved) {
			parts = append(parts, fmt.Sprintf("%s (%d)", e, a.Moved[e]))
		}
		fmt.Fprintf(b, "Copies of dependency findings that moved to another ecosystem (its package names, version shape, "+
			"lock file and fix), so the answers do not all name the original's build system: %s.\n\n", strings.Join(parts, ", "))
	}
	if a.EcosystemCopies > 0 {
		fmt.Fprintf(b, "Every dependency finding in a manifest or lock file also has %d more copies, each moved to the ecosystem "+
			"with the fewest training examples so far, so no one build system dominates the fix snippets.\n\n", a.EcosystemCopies)
	}
	if len(a.Ecosystems) > 0 {
		parts := make([]string, 0, len(a.Ecosystems))
		for _, e := range sortedKeys(a.Ecosystems) {
			parts = append(parts, fmt.Sprintf("%s %d (%s)", e, a.Ecosystems[e], share(a.Ecosystems[e], total(a.Ecosystems))))
		}
		fmt.Fprintf(b, "Training dependency examples by ecosystem, originals and copies: %s.\n\n", strings.Join(parts, ", "))
	}
	if a.MovedLine > 0 {
		fmt.Fprintf(b, "Copies of dependency findings whose fix is on the installed release line with the fix moved to a later line, "+
			"so the answers also show the other-line upgrade: %d.\n\n", a.MovedLine)
	}
	if a.GainedFix > 0 {
		fmt.Fprintf(b, "Copies of operating-system package findings without a fixed version that gained one, the installed "+
			"version's next build, so the answers also show the image-build fix: %d.\n\n", a.GainedFix)
	}
	if a.InDirectory > 0 {
		fmt.Fprintf(b, "Moved copies located at their lock file's directory rather than the file, as a package found in a directory "+
			"or a built binary is reported: %d.\n\n", a.InDirectory)
	}
	if a.DroppedCWE > 0 || a.DroppedLine > 0 {
		fmt.Fprintf(b, "Copies of findings that lost their CWE (%d) or their line (%d), in finding and answer together, so that "+
			"a tool's findings come both with and without them and an answer names a CWE or a line only when its finding does.\n\n",
			a.DroppedCWE, a.DroppedLine)
	}
	if a.DroppedLink > 0 {
		fmt.Fprintf(b, "Copies of findings that lost their rule's page, in finding and answer together, so that an answer "+
			"links the rule's documented fix only when its finding shows the page: %d.\n\n", a.DroppedLink)
	}
}

func copiesText(n int) string {
	switch n {
	case 0:
		return "no copy of its own"
	case 1:
		return "at least one copy"
	}
	return fmt.Sprintf("at least %d copies", n)
}
