package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
	"github.com/vulntune/vulntune/internal/pipeline"
)

// openEngine opens the engine `vulntune setup` installed under data_dir,
// saying what the user must hear each time (engine.Warnings).
func (a *app) openEngine(cfg *config.Config) (*engine.Engine, error) {
	e, err := engine.Open(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	e.Log = a.log
	for _, w := range e.Warnings() {
		a.log.Warn(w)
	}
	return e, nil
}

// resolveModel finds a model by name or directory (modelstore.Resolve);
// "" is the default base model. Not finding it is a usage error.
func resolveModel(cfg *config.Config, name string) (string, error) {
	if name == "" {
		name = cfg.DefaultBaseModel
	}
	// A run directory stands for the model it fine-tuned.
	if m, ok, err := pipeline.RunModel(name); ok {
		if err != nil {
			return "", usageError{err}
		}
		name = m
	}
	dir, err := modelstore.Resolve(name, cfg.BaseModelsDir, cfg.FineTunedModelsDir)
	if err != nil {
		return "", usageError{err}
	}
	return dir, nil
}

func newGenerateCmd(a *app) *cobra.Command {
	var (
		model, adapter, system string
		maxTokens              int
		temp                   float64
		asJSON, grounded       bool
	)
	cmd := &cobra.Command{
		Use:   "generate PROMPT",
		Short: "Answer one prompt with a local model through its chat template",
		Long: `generate loads a model (a name in base_models_dir or fine_tuned_models_dir,
or a directory), applies the tokenizer's chat template and prints the answer.
Decoding is greedy unless --temp is set; --grounded keeps the answer to the
identifiers the prompt names. A model without a chat template is refused
rather than prompted with raw text.`,
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
				Grounded: grounded,
			})
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(generateOutput{
					Model: dir, Adapter: adapter, Text: g.Text, PromptTokens: g.PromptTokens,
					GenerationTokens: g.GenerationTokens, TokensPerSecond: g.TokensPerSecond,
					FinishReason: g.FinishReason, ChatTemplateSource: g.ChatTemplateSource, Grounding: g.Grounding,
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
	cmd.Flags().BoolVar(&grounded, "grounded", false,
		"grounded decoding: the answer may name ids, CWE ids, versions, paths and URLs only if the prompt or --system does")
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
	// Grounding is what --grounded decoding did.
	Grounding *engine.GroundingStats `json:"grounding,omitempty"`
}
