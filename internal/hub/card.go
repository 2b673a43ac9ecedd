package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vulntune/vulntune/internal/modelstore"
)

// baseRef is the part of a fine-tuned model's metadata.json that names its
// base.
type baseRef struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	HubID  string `json:"hub_id"`
}

// baseHubID returns the Hub id of a model's base: recorded at import
// (hub_id), or the repo a pulled base came from (source "hf:ID"); "" when
// the base never came from the Hub under a known id.
func baseHubID(b baseRef) string {
	switch {
	case b.HubID != "":
		return b.HubID
	case strings.HasPrefix(b.Source, "hf:"):
		return strings.TrimPrefix(b.Source, "hf:")
	}
	return ""
}

func readBase(dir string) (baseRef, error) {
	var meta struct {
		BaseModel baseRef `json:"base_model"`
	}
	b, err := os.ReadFile(filepath.Join(dir, modelstore.MetadataFile))
	if err != nil {
		return baseRef{}, err
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return baseRef{}, fmt.Errorf("%s: %w", modelstore.MetadataFile, err)
	}
	return meta.BaseModel, nil
}

// adapterCard is the README.md of an --adapter-only repo: front matter the
// Hub accepts (base_model, library_name peft when the PEFT form is there,
// else mlx, tags) and a body that names the base and says how to load the
// adapter onto it with PEFT and with mlx-lm.
func adapterCard(dir string) ([]byte, error) {
	base, err := readBase(dir)
	if err != nil {
		return nil, fmt.Errorf("adapter card: %w", err)
	}
	peft := hasPEFT(dir)
	library := "mlx"
	if peft {
		library = "peft"
	}
	front := map[string]any{
		"license":      "apache-2.0",
		"library_name": library,
		"pipeline_tag": "text-generation",
		"tags":         []string{"mlx", "lora", "security", "vulnerability-remediation", "vulntune"},
	}
	id := baseHubID(base)
	if id != "" {
		front["base_model"] = id
	}
	var buf bytes.Buffer
	buf.WriteString("---\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(front); err != nil {
		return nil, err
	}
	_ = enc.Close()
	name := filepath.Base(dir)
	load := id
	if load == "" {
		load = base.Name
	}
	fmt.Fprintf(&buf, "---\n\n# %s (LoRA adapter)\n\n", name)
	fmt.Fprintf(&buf, "The LoRA adapter of %s, trained by [vulntune](https://github.com/vulntune/vulntune) on MLX "+
		"to explain security-scanner findings and give grounded fixes. It applies to the base model **%s**; "+
		"the fused model is published separately.\n\n", name, load)
	buf.WriteString("## Use\n\nIn a clone of this repo:\n\n")
	mlxDir := "."
	if peft {
		mlxDir = "mlx"
		fmt.Fprintf(&buf, "```python\nfrom peft import PeftModel\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"+
			"base = AutoModelForCausalLM.from_pretrained(%q)\ntokenizer = AutoTokenizer.from_pretrained(%q)\n"+
			"model = PeftModel.from_pretrained(base, \".\")  # adapter_config.json + adapter_model.safetensors\n```\n\n"+
			"The same adapter in mlx-lm's format is in `mlx/`:\n\n", load, load)
	}
	fmt.Fprintf(&buf, "```sh\nmlx_lm.generate --model %s --adapter-path %s --prompt \"...\"\n```\n\n", load, mlxDir)
	buf.WriteString("`metadata.json` records the training settings and the base's weights hash; `eval/results.json` " +
		"the held-out comparison with the base, when the model was evaluated.\n")
	return buf.Bytes(), nil
}

// cardProblems checks a card's front matter as the Hub's metadata
// validation would for the keys vulntune writes, so a card the Hub would
// refuse is refused before anything is sent: valid YAML, and models and
// datasets named by Hub id (namespace/name), not by a local folder name.
func cardProblems(card string) []string {
	if card == "" {
		return []string{"README.md: no card"}
	}
	s := strings.ReplaceAll(card, "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return []string{"README.md: no YAML front matter"}
	}
	end := strings.Index(s[4:], "\n---")
	if end < 0 {
		return []string{"README.md: front matter is not closed by ---"}
	}
	var meta map[string]any
	if err := yaml.Unmarshal([]byte(s[4:4+end]), &meta); err != nil {
		return []string{"README.md: front matter is not valid YAML: " + err.Error()}
	}
	var out []string
	for _, key := range []string{"base_model", "datasets"} {
		v, ok := meta[key]
		if !ok {
			continue
		}
		ids, isList := v.([]any)
		if !isList {
			ids = []any{v}
		}
		for _, id := range ids {
			if s, _ := id.(string); !modelstore.IsHubID(s) {
				out = append(out, fmt.Sprintf("README.md: %s %v is not a Hub id (namespace/name): the Hub refuses the card and no one could find it", key, id))
			}
		}
	}
	if _, ok := meta["license"]; !ok {
		out = append(out, "README.md: no license in the front matter")
	}
	return out
}
