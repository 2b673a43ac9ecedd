package train

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vulntune/vulntune/internal/atomicfile"
	"github.com/vulntune/vulntune/internal/evaluate"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// CardInfo is what the model card says about a fine-tuned model. The
// numbers come from the run (Result) and, when present, eval/results.json.
type CardInfo struct {
	Name      string
	BaseModel string // base model name
	// BaseHubID is the base's Hub id, the card's base_model ("" when
	// unknown: the front matter then names none, the body the name).
	BaseHubID string
	// BaseQuantization is the GGUF quantization the base was dequantized
	// from, if any: the adapter then does not reproduce on the original
	// weights, and the card says so.
	BaseQuantization string
	License          string // "" = apache-2.0 (SmolLM2's and OLMo-2's license)
	// Datasets are the datasets' Hub ids; others (local folder names) are
	// left out of the front matter.
	Datasets []string
	// Training figures; zero values are left out of the card.
	Steps, Epochs  int
	BatchSize      int
	LearningRate   float64
	Rank           int
	Alpha, Dropout float64
	TargetModules  []string
	MaxSeqLength   int
	// Truncated counts the training and validation examples longer than
	// MaxSeqLength; Longest is the longest example's length in tokens
	// (train or valid). The row shows when Longest is known.
	TruncatedTrain, TruncatedValid int
	Longest                        int
	DType, Backend                 string
	InitialValLoss, ValLoss        *float64
	TrainExamples                  int
	ValidExamples                  int
	TokensPerSecond                float64
	TrainMinutes                   float64
}

// WriteCard renders README.md into the model dir: YAML front matter the
// Hub accepts (license, base_model and datasets by Hub id, language, tags
// with mlx, library_name transformers since the weights are plain
// transformers layout, pipeline_tag, model-index) and a body with how it was trained and how to use it. The
// model-index carries eval/results.json's figures when the dir has them
// (the pipeline calls WriteCard again after evaluation), else the
// validation loss measured during training.
func WriteCard(dir string, info CardInfo) error {
	res, err := evaluate.ReadResults(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("model card: %w", err)
	}
	b, err := renderCard(info, res)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(dir+"/README.md", b, 0o644)
}

func renderCard(info CardInfo, res *evaluate.Results) ([]byte, error) {
	license := info.License
	if license == "" {
		license = "apache-2.0"
	}
	front := map[string]any{
		"license":      license,
		"library_name": "transformers",
		"language":     []string{"en"},
		"pipeline_tag": "text-generation",
		"tags":         []string{"mlx", "lora", "security", "vulnerability-remediation", "vulntune"},
	}
	if modelstore.IsHubID(info.BaseHubID) {
		front["base_model"] = info.BaseHubID
	}
	var datasets []string
	for _, d := range info.Datasets {
		if modelstore.IsHubID(d) {
			datasets = append(datasets, d)
		}
	}
	if len(datasets) > 0 {
		front["datasets"] = datasets
	}
	if res != nil {
		front["model-index"] = evaluate.ModelIndex(res)
	} else if info.ValLoss != nil {
		front["model-index"] = []any{map[string]any{
			"name": info.Name,
			"results": []any{map[string]any{
				"task":    map[string]any{"type": "text-generation", "name": "security finding remediation"},
				"dataset": map[string]any{"type": "vulntune", "name": "vulntune validation split", "split": "valid"},
				"metrics": []any{
					map[string]any{"type": "loss", "name": "validation loss (assistant tokens)", "value": round4(*info.ValLoss)},
					map[string]any{"type": "perplexity", "name": "validation perplexity", "value": round4(math.Exp(*info.ValLoss))},
				},
			}},
		}}
	}
	var buf bytes.Buffer
	buf.WriteString("---\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(front); err != nil {
		return nil, fmt.Errorf("model card front matter: %w", err)
	}
	_ = enc.Close()
	buf.WriteString("---\n\n")
	body(&buf, info, res)
	return buf.Bytes(), nil
}

func body(b *bytes.Buffer, info CardInfo, res *evaluate.Results) {
	fmt.Fprintf(b, "# %s\n\n", info.Name)
	base := orUnknown(info.BaseModel)
	if info.BaseHubID != "" {
		base = info.BaseHubID
	}
	fmt.Fprintf(b, "A LoRA fine-tune of %s that explains security-scanner findings "+
		"(Trivy, Checkov, Semgrep, OSV-Scanner, ZAP, ...) and gives grounded fixes. "+
		"Trained with [vulntune](https://github.com/vulntune/vulntune) on MLX; the adapter is "+
		"fused into full-precision weights, and kept alone in `adapters/`.\n\n", base)
	if info.BaseQuantization != "" {
		fmt.Fprintf(b, "The base weights were dequantized from a GGUF %s quantization of %s, so the adapter "+
			"was trained on, and reproduces only on, those weights, not the original ones.\n\n", info.BaseQuantization, base)
	}
	b.WriteString("## Training\n\n| setting | value |\n|---|---|\n")
	row := func(k string, v any) { fmt.Fprintf(b, "| %s | %v |\n", k, v) }
	if info.TrainExamples > 0 {
		row("examples (train / valid)", fmt.Sprintf("%d / %d", info.TrainExamples, info.ValidExamples))
	}
	if info.Steps > 0 {
		row("optimizer steps", info.Steps)
	}
	if info.Epochs > 0 {
		row("epochs", info.Epochs)
	}
	if info.BatchSize > 0 {
		row("batch size", info.BatchSize)
	}
	if info.LearningRate > 0 {
		row("peak learning rate (warmup, cosine decay)", info.LearningRate)
	}
	if info.Rank > 0 {
		row("LoRA rank / alpha / dropout", fmt.Sprintf("%d / %g / %g", info.Rank, info.Alpha, info.Dropout))
	}
	if len(info.TargetModules) > 0 {
		row("LoRA targets", strings.Join(info.TargetModules, ", "))
	}
	if info.MaxSeqLength > 0 {
		row("max sequence length", info.MaxSeqLength)
	}
	if info.MaxSeqLength > 0 && info.Longest > 0 {
		// Said either way: a row cut at the length trains on an answer
		// without its end, so the model learns answers that stop short.
		row("examples longer than that, cut (train / valid)",
			fmt.Sprintf("%d / %d (longest %d tokens)", info.TruncatedTrain, info.TruncatedValid, info.Longest))
	}
	if info.DType != "" {
		row("weights dtype / backend", info.DType+" / "+info.Backend)
	}
	row("loss on", "every assistant turn (system and user tokens masked)")
	if info.InitialValLoss != nil && info.ValLoss != nil {
		row("validation loss (before → after)", fmt.Sprintf("%.4f → %.4f", *info.InitialValLoss, *info.ValLoss))
	}
	if info.TokensPerSecond > 0 {
		row("throughput (all tokens/s)", fmt.Sprintf("%.1f", info.TokensPerSecond))
	}
	if info.TrainMinutes > 0 {
		row("training time (min)", fmt.Sprintf("%.1f", info.TrainMinutes))
	}
	b.WriteString("\nThe loss curves are in `training/loss.png`, every step in `training/metrics.jsonl`.\n\n")
	if res != nil {
		b.WriteString(evaluate.CardSection(res) + "\n")
	}
	usage(b, info.Name)
	b.WriteString("## Intended use\n\nExplaining findings of security scanners (dependency, code, config, secret, " +
		"web and license findings) to the developer who has to fix them, from the facts the scanner reported: " +
		"what is affected, why it matters, and the fix (the fixed version, the change, the setting). " +
		"Not for deciding alone whether a system is secure, nor for findings without the scanner's facts.\n\n")
	b.WriteString("## Limits\n\nAnswers are only as good as the scanner facts in the prompt: verify every version " +
		"and path before applying a fix. A small model trained on one team's findings knows their scanners, " +
		"ecosystems and rules best; the evaluation above says how it did on held-out findings.\n")
}

func orUnknown(s string) string {
	if s == "" {
		return "a base model"
	}
	return s
}

func round4(f float64) float64 { return math.Round(f*1e4) / 1e4 }

// SetCardDatasets sets the datasets of dir's model card front matter to
// ids (Hub ids; others are left out, as WriteCard does), keeping every
// other key and the body: a run that published its dataset names it by
// its repo id once the id is known. It reports whether the card changed;
// a dir without a card is left alone.
func SetCardDatasets(dir string, ids []string) (bool, error) {
	path := dir + "/README.md"
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("model card: %w", err)
	}
	s := string(b)
	if !strings.HasPrefix(s, "---\n") {
		return false, fmt.Errorf("model card %s: no front matter", path)
	}
	end := strings.Index(s[4:], "\n---\n")
	if end < 0 {
		return false, fmt.Errorf("model card %s: front matter is not closed by ---", path)
	}
	front, body := s[4:4+end+1], s[4+end+5:]
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(front), &doc); err != nil || doc.Kind != yaml.DocumentNode || doc.Content[0].Kind != yaml.MappingNode {
		return false, fmt.Errorf("model card %s: front matter is not a YAML mapping", path)
	}
	var keep []string
	for _, id := range ids {
		if modelstore.IsHubID(id) {
			keep = append(keep, id)
		}
	}
	root := doc.Content[0]
	var val yaml.Node
	if err := val.Encode(keep); err != nil {
		return false, err
	}
	found := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "datasets" {
			found = true
			if len(keep) == 0 {
				root.Content = append(root.Content[:i], root.Content[i+2:]...)
			} else {
				root.Content[i+1] = &val
			}
			break
		}
	}
	if !found && len(keep) > 0 {
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "datasets"}, &val)
	}
	var out bytes.Buffer
	out.WriteString("---\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return false, fmt.Errorf("model card front matter: %w", err)
	}
	_ = enc.Close()
	out.WriteString("---\n")
	out.WriteString(body)
	if bytes.Equal(out.Bytes(), b) {
		return false, nil
	}
	return true, atomicfile.WriteFile(path, out.Bytes(), 0o644)
}
