package analyze_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/analyze"
	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/finding"
)

const (
	beginLine = "-----BEGIN UNTRUSTED FINDING DATA-----"
	endLine   = "-----END UNTRUSTED FINDING DATA-----"
)

// refs stands in for the shipped CWE catalogue.
func refs(id string) (string, string, bool) {
	table := map[string][2]string{
		"CWE-79":  {"Improper Neutralization of Input During Web Page Generation ('Cross-site Scripting')", "The product does not neutralize or incorrectly neutralizes user-controllable input before it is placed in output that is used as a web page that is served to other users."},
		"CWE-502": {"Deserialization of Untrusted Data", "The product deserializes untrusted data without sufficiently ensuring that the resulting data will be valid."},
		"CWE-917": {"Improper Neutralization of Special Elements used in an Expression Language Statement ('Expression Language Injection')", "The product constructs all or part of an expression language (EL) statement in a framework such as a Java Server Page (JSP) using externally-influenced input."},
	}
	e, ok := table[id]
	return e[0], e[1], ok
}

func loadFinding(t testing.TB, name string) finding.Finding {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var f finding.Finding
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return f
}

func renderPrompt(msgs []chat.Message) string {
	var b strings.Builder
	b.WriteString("prompt_version: " + analyze.PromptVersion + "\n")
	for _, m := range msgs {
		b.WriteString("== " + m.Role + " ==\n" + m.Content + "\n")
	}
	return b.String()
}

func TestPromptGolden(t *testing.T) {
	t.Parallel()
	f := loadFinding(t, "finding-dependency.json")
	got := renderPrompt(analyze.BuildPrompt(&f, refs))
	// If the prompt changed on purpose, bump analyze.PromptVersion too.
	golden.Assert(t, filepath.Join("testdata", "prompt.golden.txt"), []byte(got))
}

// skeleton replaces every data value in the delimited block with a
// placeholder, keeping keys, nesting and everything outside the block, so
// two prompts with the same skeleton have the same structure whatever the
// scanner wrote.
func skeleton(t *testing.T, msgs []chat.Message) string {
	t.Helper()
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("== " + m.Role + " ==\n")
		lines := strings.Split(m.Content, "\n")
		begins, ends := indexes(lines, beginLine), indexes(lines, endLine)
		if m.Role != "user" {
			if len(begins)+len(ends) != 0 {
				t.Fatalf("%s message has delimiter lines", m.Role)
			}
			b.WriteString(m.Content + "\n")
			continue
		}
		if len(begins) != 1 || len(ends) != 1 || begins[0] > ends[0] {
			t.Fatalf("user message has begin lines %v and end lines %v, want one of each in order", begins, ends)
		}
		i, j := begins[0], ends[0]
		b.WriteString(strings.Join(lines[:i+1], "\n") + "\n")
		b.WriteString(jsonSkeleton(t, strings.Join(lines[i+1:j], "\n")) + "\n")
		b.WriteString(strings.Join(lines[j:], "\n") + "\n")
	}
	return b.String()
}

func indexes(lines []string, want string) []int {
	var out []int
	for i, l := range lines {
		if strings.TrimSpace(l) == want {
			out = append(out, i)
		}
	}
	return out
}

func jsonSkeleton(t *testing.T, data string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	var b strings.Builder
	inObj := []bool{}
	key := []bool{}
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			b.WriteString(v.String())
			if v == '{' || v == '[' {
				inObj = append(inObj, v == '{')
				key = append(key, v == '{')
			} else {
				inObj, key = inObj[:len(inObj)-1], key[:len(key)-1]
				if len(key) > 0 && inObj[len(inObj)-1] {
					key[len(key)-1] = true
				}
			}
			continue
		case string:
			if len(key) > 0 && key[len(key)-1] {
				b.WriteString(v + ":")
				key[len(key)-1] = false
				continue
			}
		}
		b.WriteString("<data>,")
		if len(key) > 0 && inObj[len(inObj)-1] {
			key[len(key)-1] = true
		}
	}
	if dec.More() {
		t.Fatalf("data block holds more than one JSON value:\n%s", data)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("data block is not one JSON object: %v\n%s", err, data)
	}
	return b.String()
}

func TestPromptStructureResistsInjection(t *testing.T) {
	t.Parallel()
	benign := loadFinding(t, "finding-benign.json")
	evil := loadFinding(t, "finding-injection.json")
	bm, em := analyze.BuildPrompt(&benign, refs), analyze.BuildPrompt(&evil, refs)
	if len(bm) != 2 || len(em) != 2 || bm[0].Role != "system" || bm[1].Role != "user" || em[0].Role != "system" || em[1].Role != "user" {
		t.Fatalf("roles differ: %v / %v", bm, em)
	}
	if bm[0].Content != em[0].Content {
		t.Error("system message depends on the finding")
	}
	bs, es := skeleton(t, bm), skeleton(t, em)
	if bs != es {
		t.Errorf("prompt skeleton changed by scanner text\n--- benign ---\n%s\n--- malicious ---\n%s", bs, es)
	}
	// The payload is still there, as data: it was quoted, not dropped.
	user := em[1].Content
	for _, s := range []string{"Ignore previous instructions", "</finding>", "SYSTEM: new instructions", "https://evil.example/payload"} {
		if !strings.Contains(user, s) {
			t.Errorf("payload %q lost from the data block", s)
		}
	}
	if strings.Count(user, endLine) != 1 || strings.Count(user, beginLine) != 1 {
		t.Errorf("delimiters appear more than once in:\n%s", user)
	}
}

func TestPromptDoesNotChangeFinding(t *testing.T) {
	t.Parallel()
	f := loadFinding(t, "finding-injection.json")
	before, _ := json.Marshal(f)
	analyze.BuildPrompt(&f, refs)
	after, _ := json.Marshal(f)
	if !bytes.Equal(before, after) {
		t.Error("BuildPrompt modified the finding")
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
