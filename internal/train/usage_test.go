package train_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/engine/enginetest"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/modelstore/modeltest"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/train"
)

var pythonBlock = regexp.MustCompile("(?s)```python\n(.*?)```")

// cardSnippets renders a card into a tiny random model's directory and
// returns the dir and the card's Python blocks: mlx-lm's, transformers'.
func cardSnippets(t *testing.T) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	var gguf bytes.Buffer
	if err := modeltest.WriteTinyLlamaGGUF(&gguf, modeltest.TinyLlamaOptions{Seed: 5}); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := os.WriteFile(src, gguf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modelstore.ImportGGUF(context.Background(), src, dir, modelstore.ImportOptions{Name: "tiny"}); err != nil {
		t.Fatal(err)
	}
	if err := train.WriteCard(dir, train.CardInfo{Name: "tiny", BaseHubID: "HuggingFaceTB/SmolLM2-135M-Instruct"}); err != nil {
		t.Fatal(err)
	}
	card, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range pythonBlock.FindAllStringSubmatch(string(card), -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) != 2 || !strings.Contains(blocks[0], "mlx_lm") || !strings.Contains(blocks[1], "transformers") {
		t.Fatalf("want an mlx-lm and a transformers block, got %d:\n%s", len(blocks), card)
	}
	return dir, blocks
}

// TestUsageMessagesAreTrainingFormat: the snippets ask with the training's
// system prompt and a user turn narrate made from a finding.
func TestUsageMessagesAreTrainingFormat(t *testing.T) {
	t.Parallel()
	msgs := train.UsageMessages()
	if len(msgs) != 2 || msgs[0].Role != "system" || msgs[0].Content != narrate.SystemPrompt || msgs[1].Role != "user" {
		t.Fatalf("messages %+v", msgs)
	}
	for _, fact := range []string{"CVE-2023-32681", "requests", "2.25.1", "2.31.0", "requirements.txt", "CWE-200"} {
		if !strings.Contains(msgs[1].Content, fact) {
			t.Errorf("the user turn lacks %q:\n%s", fact, msgs[1].Content)
		}
	}
}

// TestCardMLXSnippetRuns runs the card's mlx-lm program, as a user would,
// in a model directory (the tiny random model: the program's correctness,
// not the answer's, is under test): it must load the model, apply the chat
// template to the finding and generate, and ask with exactly
// UsageMessages.
func TestCardMLXSnippetRuns(t *testing.T) {
	py := enginetest.Python(t, "the card's snippets")
	dir, blocks := cardSnippets(t)
	// The program's own messages, checked after it ran: the card's
	// quoting must give Python the training-format text unchanged.
	// A random model may answer with nothing at all; what is checked is
	// that the program ran to its end, through the chat template.
	check := "\nimport json, sys\nassert SYSTEM in tokenizer.decode(prompt) and FINDING in tokenizer.decode(prompt)\n" +
		"print(\"\\nSNIPPET-DONE\")\njson.dump(messages, sys.stderr)\n"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", blocks[0]+check)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the card's mlx-lm snippet failed: %v\n%s", err, stderr.String())
	}
	if !strings.HasSuffix(stdout.String(), "SNIPPET-DONE\n") {
		t.Errorf("the snippet did not run to its end:\n%s", stdout.String())
	}
	msgs := train.UsageMessages()
	i := strings.LastIndex(stderr.String(), "[{")
	if i < 0 {
		t.Fatalf("no messages from the program:\n%s", stderr.String())
	}
	got := stderr.String()[i:]
	for _, m := range msgs {
		if !strings.Contains(got, jsonString(t, m.Content)) {
			t.Errorf("the program's %s turn differs from UsageMessages:\n%s", m.Role, got)
		}
	}
}

// TestCardTransformersSnippet parses the card's transformers program
// (transformers needs torch, which the engine venv does not hold): valid
// Python that loads the model's directory through pipeline("text-generation")
// and AutoModelForCausalLM, prompting through apply_chat_template.
func TestCardTransformersSnippet(t *testing.T) {
	py := enginetest.Python(t, "the card's snippets")
	_, blocks := cardSnippets(t)
	const checker = `
import ast, sys
tree = ast.parse(sys.stdin.read())
calls = {}
for n in ast.walk(tree):
    if isinstance(n, ast.Call):
        f = n.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        args = [a.value for a in n.args if isinstance(a, ast.Constant)]
        kw = {k.arg: k.value.value for k in n.keywords if isinstance(k.value, ast.Constant)}
        calls.setdefault(name, []).append((owner, args, kw))
def need(ok, what):
    if not ok:
        sys.exit("missing: " + what)
need(any(a[:1] == ["text-generation"] and k.get("model") == "." for _, a, k in calls.get("pipeline", [])), 'pipeline("text-generation", model=".")')
need(any(o == "AutoModelForCausalLM" and a == ["."] for o, a, _ in calls.get("from_pretrained", [])), 'AutoModelForCausalLM.from_pretrained(".")')
need(any(o == "AutoTokenizer" and a == ["."] for o, a, _ in calls.get("from_pretrained", [])), 'AutoTokenizer.from_pretrained(".")')
need(any(k.get("add_generation_prompt") is True for _, _, k in calls.get("apply_chat_template", [])), "apply_chat_template(..., add_generation_prompt=True)")
need("generate" in calls, "model.generate")
imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module == "transformers" for a in n.names}
need({"AutoModelForCausalLM", "AutoTokenizer", "pipeline"} <= imported, "the transformers imports")
`
	cmd := exec.Command(py, "-c", checker)
	cmd.Stdin = strings.NewReader(blocks[1])
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the card's transformers snippet: %v\n%s\n%s", err, out, blocks[1])
	}
}

func jsonString(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
