package remedy_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/remedy"
)

func TestGuidance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		f           *finding.Finding
		wantSteps   []string // each must be a step
		wantNot     string   // must appear in no step or change
		wantChanges int
	}{
		{
			name: "placeholder fix dropped",
			f: &finding.Finding{Kind: finding.KindCode, Title: "weak hash",
				Location: finding.Location{Path: "a.go", StartLine: 3},
				Fixes:    []finding.Fix{{Description: "Semgrep autofix", Replacement: "// TODO: Implement secure hashing\nmd5.Sum(x)"}}},
			wantSteps: []string{`The rule's check, "weak hash", fails here: change the flagged code or setting until it passes, then re-run the scanner.`},
			wantNot:   "TODO",
		},
		{
			name: "zap alert without solution: the rule's fix",
			f: &finding.Finding{Kind: finding.KindWeb, Title: "X-Content-Type-Options Header Missing",
				Tools:    []finding.Tool{{Name: "zap", RuleID: "10021"}},
				Location: finding.Location{URL: "http://localhost:8080", Method: "GET", Param: "x-content-type-options"}},
			wantSteps: []string{"Send X-Content-Type-Options: nosniff on every response, with a Content-Type that matches the body."},
			wantNot:   "localhost",
		},
		{
			name: "zap alert reference without solution",
			f: &finding.Finding{Kind: finding.KindWeb, Title: "CSP: Wildcard Directive",
				Tools:    []finding.Tool{{Name: "OWASP ZAP", RuleID: "10055-4"}},
				Location: finding.Location{URL: "https://example.org/", Method: "GET"}},
			wantSteps: []string{"Tighten the Content-Security-Policy: replace wildcard sources, 'unsafe-inline' and 'unsafe-eval' with the exact origins, nonces or hashes the page needs."},
			wantNot:   "example.org",
		},
		{
			name: "web alert of an unknown rule without solution",
			f: &finding.Finding{Kind: finding.KindWeb, Title: "Odd header",
				Tools:    []finding.Tool{{Name: "zap", RuleID: "99999"}},
				Location: finding.Location{URL: "http://localhost:8080/a", Method: "GET"}},
			wantSteps: []string{"Change the response the alert describes where it is produced (the application, or the server or proxy in front of it), then scan the endpoint again."},
			wantNot:   "localhost",
		},
		{
			name: "zap solution wins over the rule's fix",
			f: &finding.Finding{Kind: finding.KindWeb, Title: "X-Content-Type-Options Header Missing",
				Tools: []finding.Tool{{Name: "zap", RuleID: "10021"}}, Location: finding.Location{URL: "http://h/"},
				Fixes: []finding.Fix{{Description: "Ensure the server sets nosniff."}}},
			wantSteps: []string{"Ensure the server sets nosniff."},
			wantNot:   "on every response",
		},
		{
			name: "zap solution property",
			f: &finding.Finding{Kind: finding.KindWeb, Title: "CSP missing",
				Location:   finding.Location{URL: "http://h/", Method: "GET"},
				Properties: map[string]string{"solution": "Set the Content-Security-Policy header.\n\nUse a strict policy."}},
			wantSteps: []string{"Set the Content-Security-Policy header.", "Use a strict policy."},
		},
		{
			name: "remediation and guideline keys",
			f: &finding.Finding{Kind: finding.KindConfig, Title: "bucket public",
				Properties: map[string]string{"remediation": "Block public access.", "guideline": "Enable versioning."}},
			wantSteps: []string{"Block public access.", "Enable versioning."},
		},
		{
			name: "sarif fix with replacement",
			f: &finding.Finding{Kind: finding.KindCode, Title: "sqli", Location: finding.Location{Path: "db.py", StartLine: 12},
				Fixes: []finding.Fix{{Description: "use parameters", Path: "db.py", StartLine: 12, EndLine: 13, Replacement: "cur.execute(q, (uid,))"}}},
			wantSteps:   []string{"Apply the replacement the scanner proposes for db.py:12 (shown under changes), then review it in context."},
			wantChanges: 1,
		},
		{
			name: "help uri and cwe",
			f: &finding.Finding{Kind: finding.KindConfig, Title: "root user", HelpURI: "https://avd.aquasec.com/misconfig/ds002",
				CWE: []string{"cwe-250", "CWE-250", "CWE-999999"}},
			wantSteps: []string{
				"Follow the rule's documented fix: https://avd.aquasec.com/misconfig/ds002",
				"Address the underlying weakness, CWE-250 (Execution with Unnecessary Privileges): The product performs an operation at a privilege level that is higher than the minimum level required, which creates new weaknesses or amplifies the consequences of other weaknesses.",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := remedy.Guidance(tt.f)
			for _, w := range tt.wantSteps {
				if !slices.Contains(g.Steps, w) {
					t.Errorf("steps %q lack %q", g.Steps, w)
				}
			}
			if len(g.Changes) != tt.wantChanges {
				t.Errorf("got %d changes, want %d", len(g.Changes), tt.wantChanges)
			}
			if tt.wantNot != "" {
				all := strings.Join(g.Steps, "\n")
				for _, c := range g.Changes {
					all += c.Snippet + c.Note
				}
				if strings.Contains(all, tt.wantNot) {
					t.Errorf("guidance contains %q: %s", tt.wantNot, all)
				}
			}
		})
	}
}

func TestCWEWrapper(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"CWE-79", "79", "cwe-079"} {
		e, ok := remedy.CWE(id)
		if !ok || e.ID != "CWE-79" || !strings.Contains(e.Name, "Cross-site Scripting") {
			t.Errorf("CWE(%q) = %+v, %v", id, e, ok)
		}
	}
}

func TestSecretSteps(t *testing.T) {
	t.Parallel()
	const secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
	tests := []struct {
		rule, title string
		want        string
	}{
		{"aws-access-key-id", "AWS Access Key ID", "aws iam update-access-key"},
		{"github-pat", "GitHub Personal Access Token", "Revoke the token at GitHub"},
		{"private-key", "Private Key", "generate a new key pair"},
		{"generic-password", "Hard-coded password", "Change the password"},
		{"generic-api-key", "Generic API Key", "Revoke or rotate the credential at the service that issued it"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			f := &finding.Finding{Kind: finding.KindSecret, Title: tt.title,
				Tools:    []finding.Tool{{Name: "gitleaks", RuleID: tt.rule}},
				Location: finding.Location{Path: "config/app.ini", StartLine: 4, Snippet: "token = " + secret},
				Secrets:  []string{secret}}
			steps := remedy.SecretSteps(f)
			all := strings.Join(steps, "\n")
			if !strings.Contains(all, tt.want) {
				t.Errorf("steps lack %q:\n%s", tt.want, all)
			}
			for _, must := range []string{"git filter-repo", "BFG", "pre-commit", "config/app.ini:4"} {
				if !strings.Contains(all, must) {
					t.Errorf("steps lack %q", must)
				}
			}
			r, err := remedy.For(f)
			if err != nil {
				t.Fatal(err)
			}
			if text := r.Text(); strings.Contains(text, secret) || strings.Contains(text, "token = ") {
				t.Errorf("remediation repeats the secret or its snippet:\n%s", text)
			}
		})
	}
}

func TestForErrors(t *testing.T) {
	t.Parallel()
	if _, err := remedy.For(nil); err == nil {
		t.Error("For(nil) gave no error")
	}
	_, err := remedy.For(&finding.Finding{ID: "abc", Kind: finding.KindDependency})
	if err == nil || !strings.Contains(err.Error(), "abc") {
		t.Errorf("dependency without package: error %v, want one naming the finding", err)
	}
}

func TestForDependencyEdges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, eco, installed string
		fixed                []string
		desc                 string
		wantSummary, wantIn  string
	}{
		{"installed unknown", "npm", "", []string{"2.0.1", "1.9.3"}, "",
			"Make sure lodash is at 1.9.3 or later", ""},
		{"advisory mitigation quoted", "npm", "1.0.0", nil,
			"### Impact\nBad things.\n### Workarounds\nDisable the inline parser by setting strict mode.",
			"No fixed version of lodash is known", "The advisory's mitigation: Disable the inline parser by setting strict mode."},
		{"older lines only", "npm", "3.1.0", []string{"2.4.1"}, "",
			"listed fixed versions (2.4.1) are on older release lines", ""},
		{"not affected", "npm", "2.4.5", []string{"2.4.1"}, "",
			"lodash 2.4.5 already includes the fix", ""},
		{"unordered ecosystem", "hackage", "1.0", []string{"1.1"}, "",
			"CVE-2024-0001 in lodash 1.0.", "The advisory lists these fixed versions: 1.1."},
		{"unparsable fixed entry", "npm", "1.0.0", []string{"1.0.1", "next"}, "",
			"Upgrade lodash from 1.0.0 to 1.0.1", "The advisory also lists next, which is not a valid npm version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := depFinding(tt.eco, "lodash", "package-lock.json", tt.installed, tt.fixed, nil)
			f.Description = tt.desc
			r, err := remedy.For(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Summary, tt.wantSummary) {
				t.Errorf("summary %q lacks %q", r.Summary, tt.wantSummary)
			}
			if tt.wantIn != "" && !strings.Contains(r.Text(), tt.wantIn) {
				t.Errorf("text lacks %q:\n%s", tt.wantIn, r.Text())
			}
		})
	}
}

// TestFactStepsOpenTheSteps: each step that states a fact opens with one
// of the openings grounded decoding holds.
func TestFactStepsOpenTheSteps(t *testing.T) {
	for _, step := range []string{remedy.StepDocumentedFix, remedy.StepWeakness} {
		n := 0
		for _, o := range remedy.FactSteps {
			if strings.HasPrefix(step, o) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q opens with %d of FactSteps %q, want 1", step, n, remedy.FactSteps)
		}
	}
}
