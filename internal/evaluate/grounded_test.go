package evaluate_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/engine/enginetest"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/ident"
	"github.com/vulntune/vulntune/internal/remedy"
)

// crossCheckScript runs grounded.py over the request on stdin: the
// verdicts of ungrounded() for each case, and for each walk whether every
// prefix of its chunks passes check() and the whole passes check(final).
const crossCheckScript = `
import json, sys
sys.path.insert(0, sys.argv[1])
from vulntune_engine import grounded
req = json.load(sys.stdin)
out = {"known_files": sorted(grounded.KNOWN_FILES), "source_exts": sorted(grounded.SOURCE_EXTS), "verdicts": [], "walks": []}
for c in req["cases"]:
    out["verdicts"].append([list(p) for p in grounded.ungrounded(c["text"], c["ground"])])
for w in req["walks"]:
    g = grounded.Ground(w["ground"])
    text, ok = "", True
    for ch in w["chunks"]:
        text += ch
        if not g.check(text):
            ok = False
            break
    out["walks"].append(ok and g.check(text, final=True))
json.dump(out, sys.stdout)
`

type crossCase struct {
	Text   string `json:"text"`
	Ground string `json:"ground"`
}

type crossWalk struct {
	Chunks []string `json:"chunks"`
	Ground string   `json:"ground"`
}

type crossOut struct {
	KnownFiles []string     `json:"known_files"`
	SourceExts []string     `json:"source_exts"`
	Verdicts   [][][]string `json:"verdicts"`
	Walks      []bool       `json:"walks"`
}

func runCrossCheck(t *testing.T, cases []crossCase, walks []crossWalk) crossOut {
	t.Helper()
	var out crossOut
	enginetest.RunScript(t, "the cross-check of grounded.py", crossCheckScript, map[string]any{"cases": cases, "walks": walks}, &out)
	if len(out.Verdicts) != len(cases) || len(out.Walks) != len(walks) {
		t.Fatalf("grounded.py answered %d cases and %d walks, want %d and %d", len(out.Verdicts), len(out.Walks), len(cases), len(walks))
	}
	return out
}

// The prompt and facts of a dependency finding, as the dataset writes them.
const crossPrompt = "You are a security assistant.\n" +
	"Finding: ch.qos.logback:logback-classic 1.3.5 in web/build.gradle.kts (Gradle), CVE-2023-6378, GHSA-vmq6-5m68-f53m.\n" +
	"CWE-502: Deserialization of Untrusted Data. Fixed in 1.3.12.\n" +
	"Scanner rule: src/main/java/com/acme/App.java:42. Advisory: https://logback.qos.ch/news.html#1.3.12"

var crossFacts = dataset.Facts{Package: "ch.qos.logback:logback-classic", FixedVersion: "1.3.14", InstalledVersion: "1.3.5",
	CWE: []string{"CWE-20"}, Location: "web/build.gradle.kts"}

// crossTexts are answers of the kinds issue 16 found, and the rules' edges.
var crossTexts = []string{
	"Upgrade logback-classic from 1.3.5 to 1.3.12 (or 1.3.14).",
	"implementation(\"ch.qos.logback:logback-classic:1.3.15\")",
	"This is CWE-2025, see also CWE-2020 and CWE-3.",
	"This is cwe 502 and CWE_20 and CWE:0502.",
	"CVE-2023-6378 and CVE-2023-63781 and GHSA-vmq6-5m68-f53m, GHSA-aaaa-bbbb-cccc.",
	"Edit web/build.gradle.kts, not app/build.gradle.kts or build.gradle.kts or ./web/build.gradle.kts.",
	"See src/main/java/com/acme/App.java:42 and src/main/java/com/acme/Main.java.",
	"Cut short: src/main/java/com/acme/App:42, web/build.gradle.k and web/build, not src/main/java, src/main/ or acme/App.java.",
	"Read https://logback.qos.ch/news.html and http://www.logback.qos.ch/news.html#x and https://evil.example/cve.",
	"Read https://cwe.mitre.org/data/definitions/502.html and https://cwe.mitre.org/data/definitions/79.html.",
	"Read https://nvd.nist.gov/vuln/detail/CVE-2023-6378 or https://osv.dev/vulnerability/GHSA-vmq6-5m68-f53m).",
	"Case: https://LOGBACK.qos.ch/news.html, https://logback.qos.ch/NEWS.html, https://www.osv.dEV/vuLNEraBilItY/cve-2023-6378, https://github.com/advisories/ghsa-vmq6-5m68-f53m.",
	"Versions: v1.3.12, 1.3.12.0, 1.3.12-r2, 1.3.12.Final, 2.0.0-alpha1, 9.8 and TLS 1.2, 1:1.3.12-1.el7.",
	"RUSTSEC-2021-0001 DSA-5000-1 DLA-123-1 USN-1234-1 RHSA-2021:1234 ALAS2-2021-1234 SNYK-JAVA-CHQOSLOGBACK-123.",
	"Files: /etc/passwd, /var/log/app.log, ~/x, pom.xml, Makefile, web/Makefile, utils.py, Node.js, @scope/pkg.",
	"éCVE-2021-44228 and x_CWE-79 and CWE-79x and 1.2.3a and a1.2.3 and .1.2.3 and (1.2.3) [v2] `3.4.5`.",
	"Vertical\vtab CWE\v79, form\ffeed CWE\f79, CWE\n79 and CWE  79.",
	"Unicode: ＣＷＥ-79, CWE‐79, 1.2.3‑beta, https://example.org/ü/1.2.3 and ſrc/x.py.",
	`Backslashes: https:\\logback.qos.ch\news.html, http:/\www.logback.qos.ch\news.html#x, https:\evil.example\1.3.99\App.java.`,
	`More: https://logback.qos.ch\news.html, HTTPS:\\osv.dev\vulnerability\CVE-2023-6378), ftp:\\\x, https:\\ alone, C:\web\1.3.99.`,
	"",
}

// TestGroundedMatchesEvaluate: the engine's grounded decoding judges
// identifiers exactly as evaluation's hallucination measure does (same
// verdicts, kinds and texts on every case), with the same file-name lists;
// and on random answers cut into random tokens, an answer whose every
// prefix the decoder accepts has no ungrounded identifier by
// evaluate.UngroundedIdents: the guarantee grounded decoding gives.
func TestGroundedMatchesEvaluate(t *testing.T) {
	ground := evaluate.Ground(crossPrompt, crossFacts)
	var cases []crossCase
	for _, s := range crossTexts {
		cases = append(cases, crossCase{Text: s, Ground: ground})
	}
	rng := rand.New(rand.NewPCG(16, 2026))
	frags := []string{"CWE-502", "CWE-5", "CWE-2025", "CWE", "-", " ", "\n", ".", ",", "1.3.", "12", "14", "5", "15", "0",
		"v", "web/", "build", ".gradle", ".kts", "app/", "src/main/java/com/acme/", "App.java", "Ap", "Main.java",
		"CVE-2023-", "6378", "63781", "GHSA-vmq6-5m68-f53m", "https://", "logback.qos.ch/", "news.html", "evil.example/",
		"cwe.mitre.org/data/definitions/", "502.html", "79.html", "www.", "w", "os", "v.dev/vulnerability/", "*", "_", "#1.3.", "(", ")", "`", "\"", ":", "-r2", "DSA-", "5000", "x", "the fix",
		"OSV.dev/", "Vulnerability/", "cve-2023-", "NEWS.html", "ghsa-vmq6-5m68-f53m", "github.com/advisories/", "nvd.nist.gov/vuln/detail/"}
	var walks []crossWalk
	for range 3000 {
		var chunks []string
		for range 1 + rng.IntN(12) {
			chunks = append(chunks, frags[rng.IntN(len(frags))])
		}
		text := strings.Join(chunks, "")
		cases = append(cases, crossCase{Text: text, Ground: ground})
		// Re-cut the text at random points: a tokenizer's pieces need not
		// follow the fragments.
		var cut []string
		for len(text) > 0 {
			n := 1 + rng.IntN(min(6, len(text)))
			cut, text = append(cut, text[:n]), text[n:]
		}
		walks = append(walks, crossWalk{Chunks: cut, Ground: ground})
	}
	out := runCrossCheck(t, cases, walks)

	if want := sortedKeys(ident.KnownFiles); !slices.Equal(out.KnownFiles, want) {
		t.Errorf("grounded.py KNOWN_FILES differ from ident.KnownFiles:\n got %v\nwant %v", out.KnownFiles, want)
	}
	if want := sortedKeys(ident.SourceExts); !slices.Equal(out.SourceExts, want) {
		t.Errorf("grounded.py SOURCE_EXTS differ from ident.SourceExts:\n got %v\nwant %v", out.SourceExts, want)
	}
	for i, c := range cases {
		var want [][]string
		for _, id := range evaluate.UngroundedIdents(c.Text, crossPrompt, crossFacts) {
			want = append(want, []string{id.Text, id.Kind})
		}
		got := out.Verdicts[i]
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
			t.Errorf("case %d %q:\ngrounded.py %q\nevaluate    %q", i, c.Text, got, want)
		}
	}
	accepted := 0
	for i, w := range walks {
		if !out.Walks[i] {
			continue
		}
		accepted++
		if ids := evaluate.UngroundedIdents(strings.Join(w.Chunks, ""), crossPrompt, crossFacts); len(ids) > 0 {
			t.Errorf("grounded decoding accepts %q token by token (%q), evaluate finds %v", strings.Join(w.Chunks, ""), w.Chunks, ids)
		}
	}
	t.Logf("grounded decoding accepted %d of %d random answers token by token", accepted, len(walks))
	// Neither side of the guarantee may be vacuous.
	if accepted < len(walks)/10 || accepted > len(walks)*9/10 {
		t.Errorf("grounded decoding accepted %d of %d random answers; the mix should exercise both verdicts", accepted, len(walks))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestGroundedWalks: answers written token by token that grounded decoding
// must accept or refuse, and every accepted one has no ungrounded
// identifier by evaluate.UngroundedIdents. The refusals are the traps of
// issue 16: a text the decoder accepts but from which nothing grounded can
// follow, so that a greedy walk appends trimmed punctuation forever
// ("https://www.w.*.*.*", "https://os.*..:_"): "www." counts once, an
// open identifier is judged with the punctuation evaluation trims from it,
// and a scheme is written only where the ground has an URL.
func TestGroundedWalks(t *testing.T) {
	prompt := crossPrompt + "\nAlso CVE-2021-44228."
	bare := "Finding: org.example:lib 1.3.5 in web/build.gradle, fixed in 1.3.14."
	tests := []struct {
		name   string
		prompt string
		facts  dataset.Facts
		chunks []string
		want   bool
	}{
		{"www then a host no ground URL starts", prompt, crossFacts, []string{"Fix: ", "https", "://", "www", ".", "w"}, false},
		{"www then a grounded host", prompt, crossFacts, []string{"See ", "https://", "www.", "logback", ".qos.ch/", "news.html", ".", "\n"}, true},
		{"www alone is no host", prompt, crossFacts, []string{"See ", "https://", "www.", "\n"}, false},
		{"trimmed dot after a half-written host", prompt, crossFacts, []string{"- ", "https://", "os", ".", "*"}, false},
		{"the canonical page of a ground's CVE", prompt, crossFacts, []string{"- ", "https://", "os", "v.dev/vulnerability/", "CVE-2023-6378", "\n"}, true},
		{"the canonical page of a ground's CVE, its id in lower case", prompt, crossFacts, []string{"- ", "https://", "osv.dev/vulnerability/", "cve-2023-6378", "\n"}, false},
		{"the canonical page at a host in capitals", prompt, crossFacts, []string{"- ", "https://", "OSV.dev/vulnerability/", "CVE-2023-6378", "\n"}, true},
		{"a grounded page's path in another case", prompt, crossFacts, []string{"See ", "https://logback.qos.ch/", "NEWS.html", " now"}, false},
		{"a grounded page ends a sentence", prompt, crossFacts, []string{"See ", "https://logback.qos.ch/news", ".html", ".", " Then"}, true},
		{"a grounded page in bold", prompt, crossFacts, []string{"See **", "https://logback.qos.ch/news", ".html", "**", "\n"}, true},
		{"a grounded page then a run of punctuation", prompt, crossFacts, []string{"See ", "https://logback.qos.ch/news.html", ".", "*", "."}, false},
		{"a grounded fragment spelled out", prompt, crossFacts, []string{"See ", "https://logback.qos.ch/news.html", "#1.3.", "12", ").", "\n"}, true},
		{"an invented fragment", prompt, crossFacts, []string{"See ", "https://logback.qos.ch/news.html", "#x"}, false},
		{"an invented host", prompt, crossFacts, []string{"See ", "https://", "evil", ".example"}, false},
		{"version prefix then dots", prompt, crossFacts, []string{"Upgrade to 1.3.1", ".", "."}, false},
		{"version prefix then a dash", prompt, crossFacts, []string{"Upgrade to 1.3.1", "-", "-"}, false},
		{"version completed", prompt, crossFacts, []string{"Upgrade to 1.3.1", "2", ".", " Then"}, true},
		{"CVE prefix then a dash", prompt, crossFacts, []string{"See CVE-2021-4422", "-", "-"}, false},
		{"CVE prefix then a colon", prompt, crossFacts, []string{"See CVE-2021-4422", ":"}, false},
		{"CVE completed", prompt, crossFacts, []string{"See CVE-2021-4422", "8", ":", " it"}, true},
		{"path prefix then trimmed punctuation", prompt, crossFacts, []string{"Edit web/build.gr", ".", "!"}, false},
		{"path completed", prompt, crossFacts, []string{"Edit web/build.gr", "adle.kts", ".", "\n"}, true},
		{"a scheme with no URL in the ground", bare, dataset.Facts{}, []string{"Fix: ", "https", "://"}, false},
		{"a scheme's first slash with no URL in the ground", bare, dataset.Facts{}, []string{"Fix: ", "https", ":/"}, false},
		{"no scheme with no URL in the ground", bare, dataset.Facts{}, []string{"Fix: ", "https", "\n", "done"}, true},
		// A scheme written with backslashes is an URL to evaluation, read
		// with slashes, and the decoder holds it to the URL rules, its
		// separator to at most two.
		{"a backslash scheme with no URL in the ground", bare, dataset.Facts{}, []string{"Fix: ", "https", `:\`}, false},
		{"a scheme's backslashes with no URL in the ground", bare, dataset.Facts{}, []string{"Fix: ", "http", `:\\`}, false},
		{"a backslash URL to an invented host", prompt, crossFacts, []string{"See ", "https", `:\\`, "evil", ".example", `\x`}, false},
		{"a backslash URL closed on an invented page", prompt, crossFacts, []string{"See ", `https:\\evil.example\x`, " now"}, false},
		{"backslashes past the scheme's two", prompt, crossFacts, []string{"See ", "https", `:\\`, `\`}, false},
		{"www with backslashes", prompt, crossFacts, []string{"Fix: ", "https", `:\\`, "www", ".", "w"}, false},
		{"the canonical page of a ground's CVE with backslashes", prompt, crossFacts,
			[]string{"- ", "https", `:\\`, "osv", ".dev", `\vulnerability\`, "CVE-2023-6378", "\n"}, true},
		{"a backslash scheme naming no page", prompt, crossFacts, []string{"See ", "https", `:\\`, " or not"}, true},
		{"a grounded page in backslashes", prompt, crossFacts, []string{"See ", "https", `:\\`, "logback", ".qos.ch", `\news.html`, " now"}, true},
	}
	var walks []crossWalk
	for _, tt := range tests {
		walks = append(walks, crossWalk{Chunks: tt.chunks, Ground: evaluate.Ground(tt.prompt, tt.facts)})
	}
	out := runCrossCheck(t, []crossCase{}, walks)
	for i, tt := range tests {
		text := strings.Join(tt.chunks, "")
		if out.Walks[i] != tt.want {
			t.Errorf("%s: grounded decoding accepts %q token by token (%q): %v, want %v", tt.name, text, tt.chunks, out.Walks[i], tt.want)
		}
		if ids := evaluate.UngroundedIdents(text, tt.prompt, tt.facts); out.Walks[i] && len(ids) > 0 {
			t.Errorf("%s: grounded decoding accepts %q, evaluate finds %v", tt.name, text, ids)
		}
	}
}

// TestAnswerPin: what grounded decoding holds an answer to beyond its
// ground comes from the facts and vulntune's own answer to them: the
// versions of a dependency's fix, its fenced blocks and its Fix section's
// lead, every answer's Why it matters lead (its severity and kind's
// impact), its headings, its fix steps that state facts, and the sections
// of facts: In short, What it is, Where and How to verify.
func TestAnswerPin(t *testing.T) {
	t.Parallel()
	reference := "**In short**\nx\n\n**What it is**\nA title. Weakness: CWE-400 (Uncontrolled Resource Consumption).\n\n**Where**\n- Package lodash, installed version 4.17.20 (npm)\n- File package.json\n\n" +
		"**Fix**\nUpgrade.\nnpm: Run it.\n```\nnpm install  lodash@4.17.21\n```\n1. Rebuild.\n2.  Address the underlying weakness, CWE-400 (Uncontrolled Resource Consumption): It grows. \n\n" +
		"**Why it matters**\nSeverity: high. The description. Anyone can exploit it.\n\n**How to verify**\n- Re-run it."
	where := map[string][]string{"**In short**": {"x"}, "**What it is**": {"A title. Weakness: CWE-400 (Uncontrolled Resource Consumption)."}, "**Where**": {"- Package lodash, installed version 4.17.20 (npm)", "- File package.json"},
		"**How to verify**": {"- Re-run it."}}
	// The Fix section's lead runs through its first block, whose lines
	// are written as Blocks holds them.
	why := []string{"Severity: high. The description. Anyone can exploit it."}
	lead := map[string][]string{"**Fix**": {"Upgrade.", "npm: Run it.", "```", "npm install lodash@4.17.21", "```"}, "**Why it matters**": why}
	// Only the reference's sections: it has no References.
	heads := []string{"**In short**", "**What it is**", "**Where**", "**Fix**", "**Why it matters**", "**How to verify**"}
	// Its fact steps without their list marker; no rule page, so no
	// documented fix at all.
	steps := map[string][]string{"Address the underlying": {"Address the underlying weakness, CWE-400 (Uncontrolled Resource Consumption): It grows."},
		"Follow the rule's documented": {}}
	noFix := remedy.NoFixClaims
	same := append(remedy.LineContradictions(remedy.StatusSameLine), noFix...)
	later := append(remedy.LineContradictions(remedy.StatusOtherLine), noFix...)
	for _, tt := range []struct {
		name  string
		facts dataset.Facts
		want  *engine.Pin
	}{
		{"a dependency with a fix", dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20", FixedVersion: "4.17.21"},
			&engine.Pin{Installed: "4.17.20", Fixed: "4.17.21", Blocks: [][]string{{"npm install lodash@4.17.21"}}, Sections: where, Leads: lead, Headings: heads, Steps: steps, Forbidden: noFix}},
		{"a fix on the installed line", dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20", FixedVersion: "4.17.21", FixLine: "same-line"},
			&engine.Pin{Installed: "4.17.20", Fixed: "4.17.21", Blocks: [][]string{{"npm install lodash@4.17.21"}}, Sections: where, Leads: lead, Headings: heads, Steps: steps, Forbidden: same}},
		{"a fix on a later line", dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20", FixedVersion: "4.17.21", FixLine: "other-line"},
			&engine.Pin{Installed: "4.17.20", Fixed: "4.17.21", Blocks: [][]string{{"npm install lodash@4.17.21"}}, Sections: where, Leads: lead, Headings: heads, Steps: steps, Forbidden: later}},
		{"no installed version", dataset.Facts{Package: "lodash", FixedVersion: "4.17.21"},
			&engine.Pin{Fixed: "4.17.21", Blocks: [][]string{{"npm install lodash@4.17.21"}}, Sections: where, Leads: lead, Headings: heads, Steps: steps, Forbidden: noFix}},
		{"no fix: the sections of facts alone", dataset.Facts{Package: "lodash", InstalledVersion: "4.17.20"},
			&engine.Pin{Installed: "4.17.20", Sections: where, Leads: map[string][]string{"**Why it matters**": why}, Headings: heads, Steps: steps}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := evaluate.AnswerPin(tt.facts, "dependency", reference); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("AnswerPin = %+v, want %+v", got, tt.want)
			}
		})
	}
	// Without a block the lead is the upgrade sentence alone.
	bare := "**Fix**\nUpgrade.\nnpm: Run it.\n1. Rebuild."
	if got := evaluate.AnswerPin(dataset.Facts{Package: "lodash", FixedVersion: "4.17.21"}, "dependency", bare); got == nil || !reflect.DeepEqual(got.Leads, map[string][]string{"**Fix**": {"Upgrade."}}) {
		t.Errorf("AnswerPin of a Fix section without a block = %+v, want the lead Upgrade. alone", got)
	}
	if got := evaluate.AnswerPin(dataset.Facts{Package: "x"}, "dependency", "**Why it matters**\nno section held"); got == nil || got.Headings[0] != "**Why it matters**" || len(got.Sections)+len(got.Leads) != 0 {
		t.Errorf("AnswerPin of an answer with a section of neither facts nor a lead = %+v, want its heading alone", got)
	}
	if got := evaluate.AnswerPin(dataset.Facts{Package: "x"}, "dependency", "no section"); got != nil {
		t.Errorf("AnswerPin of an answer without sections or fix lines = %+v, want nil", got)
	}
	// A secret's Fix section is held whole, in order; another kind's
	// steps stay the model's.
	secret := "**Fix**\nA secret is committed at a.env:3: revoke and rotate it.\n1. Assume it is compromised.\n\n2. Purge it from history.\n\n**Why it matters**\nSeverity: high. It leaked."
	wantFix := []string{"A secret is committed at a.env:3: revoke and rotate it.", "1. Assume it is compromised.", "2. Purge it from history."}
	if got := evaluate.AnswerPin(dataset.Facts{Location: "a.env"}, "secret", secret); got == nil || !reflect.DeepEqual(got.Leads["**Fix**"], wantFix) {
		t.Errorf("AnswerPin of a secret = %+v, want its Fix lead %q", got, wantFix)
	}
	if got := evaluate.AnswerPin(dataset.Facts{Location: "a.tf"}, "config", secret); got == nil || got.Leads["**Fix**"] != nil {
		t.Errorf("AnswerPin of a config finding = %+v, want no Fix lead", got)
	}
}
