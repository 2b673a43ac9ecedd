package validate

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/dataset"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/evaluate"
)

// roundTripTexts exercise ASCII, punctuation, code, and multi-byte text
// (accents, CJK, an emoji) through the tokenizer.
var roundTripTexts = []string{
	"Upgrade log4j-core to 2.17.1 to fix CVE-2021-44228.",
	"SELECT * FROM users WHERE id = '1' OR '1'='1'; -- CWE-89",
	"Ünïcödé: naïve café, 日本語のテキスト, emoji 🔐.",
}

// functionalPrompt is a security question any instruction-tuned model can
// answer; expectWords are words a coherent answer uses at least one of.
var (
	functionalPrompt = []chat.Message{
		{Role: "system", Content: "You are a security analyst. Answer briefly."},
		{Role: "user", Content: "A dependency scanner reports CVE-2021-44228 in log4j-core 2.14.1, fixed in 2.17.1. What should we do?"},
	}
	expectWords = []string{"upgrade", "update", "version", "patch", "log4j", "vulnerab", "secur", "fix", "2.17"}
)

// functionalMaxTokens bounds the functional answer.
const functionalMaxTokens = 64

func checkEngine(ctx context.Context, r *Report, opts Options) error {
	if opts.Engine == nil {
		for _, n := range []string{"tokenizer round-trip", "chat template", "functional answer"} {
			r.add(GroupFunctional, n, Skip, "no engine")
		}
		return nil
	}
	res, err := opts.Engine.CheckModel(ctx, engine.CheckModelRequest{
		Model: opts.ModelDir, Texts: roundTripTexts, Messages: functionalPrompt,
		Generate: !opts.SkipFunctional, MaxTokens: functionalMaxTokens,
	})
	if err != nil {
		// The tokenizer and template are reported by the op itself; an error
		// here is the model failing to load or the engine failing to run.
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", errEngine, err)
		}
		r.add(GroupFunctional, "engine loads model", Fail, "%v", err)
		return nil
	}
	if res.TokenizerError != "" {
		r.add(GroupFunctional, "tokenizer round-trip", Fail, "tokenizer does not load: %s", res.TokenizerError)
		r.add(GroupFunctional, "chat template", Skip, "no tokenizer")
		r.add(GroupFunctional, "functional answer", Skip, "no tokenizer")
		return nil
	}
	var bad []string
	for _, rt := range res.RoundTrips {
		if !rt.OK {
			bad = append(bad, fmt.Sprintf("%q came back as %q", rt.Text, rt.Decoded))
		}
	}
	switch {
	case len(res.RoundTrips) != len(roundTripTexts):
		r.add(GroupFunctional, "tokenizer round-trip", Fail, "%d of %d texts checked", len(res.RoundTrips), len(roundTripTexts))
	case len(bad) > 0:
		r.add(GroupFunctional, "tokenizer round-trip", Fail, "%s", strings.Join(bad, "; "))
	default:
		r.add(GroupFunctional, "tokenizer round-trip", Pass, "%d texts incl. unicode", len(res.RoundTrips))
	}
	if res.Template.OK {
		r.add(GroupFunctional, "chat template", Pass, "renders (source %s)", res.Template.Source)
	} else {
		r.add(GroupFunctional, "chat template", Fail, "%s", res.Template.Error)
	}
	switch g := res.Generation; {
	case opts.SkipFunctional:
		r.add(GroupFunctional, "functional answer", Skip, "--skip-functional")
	case g == nil:
		r.add(GroupFunctional, "functional answer", Fail, "no answer (chat template failed)")
	default:
		st, why := judgeAnswer(g.Text)
		r.add(GroupFunctional, "functional answer", st, "%d tokens%s: %.120q", g.GenerationTokens, why, strings.TrimSpace(g.Text))
	}
	return nil
}

// judgeAnswer passes a non-empty answer that uses one of expectWords,
// and warns, saying why, where the answer names an identifier the
// question does not (evaluate.Ungrounded, links too) or moves to the
// installed version: the demo's model passed this check with "upgrade
// from 2.14.0 to 2.14.1", a version it invented and the one the question
// says is vulnerable. A warning, not a failure: the answer is free
// decoding's, 64 tokens of a question unlike the findings the model was
// tuned on, and evaluation's gate is what holds the answers' facts.
func judgeAnswer(text string) (Status, string) {
	low := strings.ToLower(text)
	if strings.TrimSpace(low) == "" {
		return Fail, " (empty)"
	}
	if !slices.ContainsFunc(expectWords, func(w string) bool { return strings.Contains(low, w) }) {
		return Fail, " (none of the words a coherent answer uses)"
	}
	var why []string
	prompt := chat.Prompt(functionalPrompt)
	if u := evaluate.Ungrounded(text, prompt, dataset.Facts{}); len(u) > 0 {
		why = append(why, "names "+strings.Join(u, ", ")+", not in the question")
	}
	if toInstalled.MatchString(text) {
		why = append(why, "moves to the installed version "+functionalInstalled)
	}
	if len(why) > 0 {
		return Warn, " (" + strings.Join(why, "; ") + ")"
	}
	return Pass, ""
}

// functionalInstalled is the vulnerable version functionalPrompt names.
const functionalInstalled = "2.14.1"

// toInstalled is an answer moving to functionalInstalled: "to 2.14.1",
// "to version 2.14.1", "-> 2.14.1".
var toInstalled = regexp.MustCompile(`(?i)(?:\bto|->|→)\s+(?:version\s+)?v?` + regexp.QuoteMeta(functionalInstalled) + `\b`)
