package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
)

// openEngine opens the engine `vulntune setup` installed under data_dir.
func (a *app) openEngine(cfg *config.Config) (*engine.Engine, error) {
	e, err := engine.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	e.Log = a.log
	// Said every time, not only by doctor: without it training takes
	// hours where it should take minutes, and nothing else would say why.
	if st, err := engine.ReadStamp(engine.PathsFor(cfg.DataDir).Venv); err == nil && st.Backend == "cpu" &&
		runtime.GOOS == "linux" && !e.BLAS.Optimised() {
		a.log.Warn("the engine runs on the reference BLAS, about 30x slower", "why", e.BLAS.Reason, "fix", engine.BLASHint)
	}
	return e, nil
}

// resolveModel finds NAME in the base then fine-tuned model dirs, or takes
// an existing directory path as is.
func resolveModel(cfg *config.Config, name string) (string, error) {
	if name == "" {
		name = cfg.DefaultBaseModel
	}
	var tried []string
	if strings.ContainsRune(name, filepath.Separator) || strings.HasPrefix(name, ".") {
		tried = append(tried, name)
		if isModelDir(name) {
			return filepath.Abs(name)
		}
	} else {
		for _, root := range []string{cfg.BaseModelsDir, cfg.FineTunedModelsDir} {
			dir := filepath.Join(root, name)
			tried = append(tried, dir)
			if isModelDir(dir) {
				return dir, nil
			}
		}
	}
	return "", usageError{modelNotFound{name: name, tried: tried}}
}

type modelNotFound struct {
	name  string
	tried []string
}

func (e modelNotFound) Error() string {
	return fmt.Sprintf("model %q not found (looked in %s)", e.name, strings.Join(e.tried, ", "))
}

func (e modelNotFound) Hint() string {
	return "run `vulntune setup` for the default base model, or pass a model directory"
}

func isModelDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "config.json"))
	return err == nil
}

func newGenerateCmd(a *app) *cobra.Command {
	var (
		model, adapter, system string
		maxTokens              int
		temp                   float64
		asJSON                 bool
	)
	cmd := &cobra.Command{
		Use:   "generate PROMPT",
		Short: "Answer one prompt with a local model through its chat template",
		Long: `generate loads a model (a name in base_models_dir or fine_tuned_models_dir,
or a directory), applies the tokenizer's chat template and prints the answer.
Decoding is greedy unless --temp is set. A model without a chat template is
refused rather than prompted with raw text.`,
		Example: `  vulntune generate "What is SQL injection?"
  vulntune generate --model ./my-model --adapter ./my-model/adapters --json "Explain CWE-79"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			dir, err := resolveModel(cfg, model)
			if err != nil {
				return err
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			g, err := e.Generate(cmd.Context(), engine.GenerateRequest{
				Model: dir, Adapter: adapter, Prompt: args[0], System: system, MaxTokens: maxTokens, Temp: temp,
			})
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(generateOutput{
					Model: dir, Adapter: adapter, Text: g.Text, PromptTokens: g.PromptTokens,
					GenerationTokens: g.GenerationTokens, TokensPerSecond: g.TokensPerSecond,
					FinishReason: g.FinishReason, ChatTemplateSource: g.ChatTemplateSource,
				})
			}
			fmt.Fprintln(a.stdout, strings.TrimSpace(g.Text))
			a.log.Debug("generated", "model", dir, "prompt_tokens", g.PromptTokens,
				"generation_tokens", g.GenerationTokens, "tokens_per_second", g.TokensPerSecond)
			return nil
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model name or directory (default: default_base_model)")
	cmd.Flags().StringVar(&adapter, "adapter", "", "LoRA adapter directory to apply")
	cmd.Flags().StringVar(&system, "system", "", "system message")
	cmd.Flags().IntVar(&maxTokens, "max-tokens", 256, "most tokens to generate")
	cmd.Flags().Float64Var(&temp, "temp", 0, "sampling temperature; 0 is greedy")
	cmd.Flags().BoolVar(&asJSON, "json", false,
		"print {model, text, prompt_tokens, generation_tokens, tokens_per_second, finish_reason}")
	return cmd
}

// generateOutput is the --json shape of generate.
type generateOutput struct {
	Model              string  `json:"model"`
	Adapter            string  `json:"adapter,omitempty"`
	Text               string  `json:"text"`
	PromptTokens       int     `json:"prompt_tokens"`
	GenerationTokens   int     `json:"generation_tokens"`
	TokensPerSecond    float64 `json:"tokens_per_second"`
	FinishReason       string  `json:"finish_reason"`
	ChatTemplateSource string  `json:"chat_template_source"`
}
