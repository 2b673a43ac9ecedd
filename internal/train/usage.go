package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vulntune/vulntune/internal/chat"
	"github.com/vulntune/vulntune/internal/finding"
	"github.com/vulntune/vulntune/internal/narrate"
	"github.com/vulntune/vulntune/internal/remedy"
)

// usageFinding is the finding the card's usage snippets ask about: a
// dependency finding as Trivy reports it, with facts the answer can be
// checked against.
func usageFinding() *finding.Finding {
	return &finding.Finding{
		ID:    "card-usage-example",
		Tools: []finding.Tool{{Name: "Trivy", RuleID: "CVE-2023-32681"}},
		Kind:  finding.KindDependency, Severity: finding.SeverityMedium, Score: 6.1,
		Title:   "requests: Unintended leak of Proxy-Authorization header",
		Message: "Requests forwards proxy credentials in the Proxy-Authorization header to destination servers when following HTTPS redirects.",
		CWE:     []string{"CWE-200"}, VulnIDs: []string{"CVE-2023-32681", "GHSA-j8r2-6x86-q33q"},
		Location: finding.Location{Path: "requirements.txt"},
		Package:  &finding.Package{Name: "requests", Ecosystem: "pypi", InstalledVersion: "2.25.1", FixedVersions: []string{"2.31.0"}},
	}
}

// UsageMessages are the chat turns of the card's usage snippets: the
// training's system prompt and a user turn made by narrate from a real
// finding, so the prompt is in the format the model was trained on.
func UsageMessages() []chat.Message {
	f := usageFinding()
	rem, err := remedy.For(f)
	if err != nil {
		// remedy.For refuses only findings it cannot read; this one is fixed.
		panic(fmt.Sprintf("card usage finding: %v", err))
	}
	ex := narrate.Example(f, rem, nil)
	return ex.Messages[:2]
}

// pyString is s as a Python string literal: triple-quoted and readable
// when it can be, else JSON's quoting, which Python reads the same.
func pyString(s string) string {
	if !strings.Contains(s, `"""`) && !strings.Contains(s, `\`) && !strings.HasSuffix(s, `"`) {
		return `"""` + s + `"""`
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// usage writes the card's Use section: the prompt in the training format,
// then mlx-lm, transformers' pipeline and AutoModelForCausalLM with the
// chat template, each a complete program run from the model's directory
// (a clone of its repo). Tested by running the mlx-lm one.
func usage(b *bytes.Buffer, name string) {
	msgs := UsageMessages()
	var m strings.Builder
	m.WriteString("SYSTEM = " + pyString(msgs[0].Content) + "\n")
	m.WriteString("FINDING = " + pyString(msgs[1].Content) + "\n")
	m.WriteString("messages = [{\"role\": \"system\", \"content\": SYSTEM}, {\"role\": \"user\", \"content\": FINDING}]\n")
	prompt := m.String()
	b.WriteString("## Use\n\n" +
		"Ask about one finding at a time, as a scanner reports it, with the system prompt the model was trained " +
		"with; prompts go through the chat template in `tokenizer_config.json`. Each program below runs in the " +
		"model's directory (a clone of this repo); put the repo id in place of `\".\"` to load it from the Hub.\n\n")
	b.WriteString("With [mlx-lm](https://github.com/ml-explore/mlx-lm) (Apple silicon, or Linux with `mlx[cpu]`/`mlx[cuda12]`):\n\n")
	b.WriteString("```python\nfrom mlx_lm import generate, load\n\n" + prompt +
		"model, tokenizer = load(\".\")\n" +
		"prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)\n" +
		"print(generate(model, tokenizer, prompt=prompt, max_tokens=512))\n```\n\n")
	b.WriteString("With [transformers](https://github.com/huggingface/transformers) (the weights are plain safetensors in its layout):\n\n")
	b.WriteString("```python\nfrom transformers import AutoModelForCausalLM, AutoTokenizer, pipeline\n\n" + prompt +
		"generator = pipeline(\"text-generation\", model=\".\")\n" +
		"print(generator(messages, max_new_tokens=512)[0][\"generated_text\"][-1][\"content\"])\n\n" +
		"# Or step by step, with the chat template:\n" +
		"tokenizer = AutoTokenizer.from_pretrained(\".\")\n" +
		"model = AutoModelForCausalLM.from_pretrained(\".\")\n" +
		"inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\", return_dict=True)\n" +
		"output = model.generate(**inputs, max_new_tokens=512)\n" +
		"print(tokenizer.decode(output[0][inputs[\"input_ids\"].shape[-1]:], skip_special_tokens=True))\n```\n\n")
	fmt.Fprintf(b, "The LoRA adapter alone is in `adapters/` (mlx-lm's format) and `adapters/peft/` "+
		"(PEFT's: `PeftModel.from_pretrained(base, \"adapters/peft\")`). Locally, vulntune answers with it too: "+
		"`vulntune generate --model %s \"...\"`.\n\n", name)
}
