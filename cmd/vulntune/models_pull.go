package main

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/engine"
)

func newModelsPullCmd(a *app) *cobra.Command {
	var name, revision, quantize string
	var force bool
	cmd := &cobra.Command{
		Use:   "pull HF_ID",
		Short: "Download a model from the Hugging Face Hub into the base models dir",
		Long: `pull downloads a model repository (safetensors, config and tokenizer files
only, never pickles) with huggingface_hub inside the engine, honouring
the Hub endpoint (fine_tuning.huggingface.endpoint, HF_ENDPOINT) and
HF_TOKEN, into <base_models_dir>/<name>; --quantize q4 or q8
converts it with mlx_lm.convert. A base tokenizer without a chat template
(e.g. OLMo-2 base) gets one set explicitly and recorded. This needs network
access to the Hub; where there is none the error names the host it tried.`,
		Example: `  vulntune models pull allenai/OLMo-2-0425-1B-Instruct
  vulntune models pull allenai/OLMo-2-0425-1B --name olmo2-1b-q4 --quantize q4`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo := args[0]
			if strings.Count(repo, "/") != 1 || strings.HasPrefix(repo, "/") || strings.HasSuffix(repo, "/") {
				return usageError{fmt.Errorf("%q: want a Hub id like allenai/OLMo-2-0425-1B-Instruct", repo)}
			}
			bits := 0
			switch quantize {
			case "":
			case "q4":
				bits = 4
			case "q8":
				bits = 8
			default:
				return usageError{fmt.Errorf("--quantize %q: want q4 or q8", quantize)}
			}
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				name = path.Base(repo)
				if bits > 0 {
					name += "-" + quantize
				}
			}
			dest := filepath.Join(cfg.BaseModelsDir, name)
			if _, err := os.Stat(dest); err == nil && !force {
				return usageError{fmt.Errorf("%s already exists (use --force to replace it)", dest)}
			}
			e, err := a.openEngine(cfg)
			if err != nil {
				return err
			}
			got, err := e.Pull(cmd.Context(), engine.PullRequest{Repo: repo, Revision: revision, Dest: dest,
				QuantizeBits: bits, HFToken: cfg.HFToken.Value(), Endpoint: cfg.FineTuning.HuggingFace.Endpoint}, nil)
			if err != nil {
				return err
			}
			src, err := engine.EnsureChatTemplate(got.Path)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "pulled %s from %s into %s (chat template: %s)\n", repo, got.Endpoint, got.Path, src)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "name in the base models dir (default: the repo name)")
	cmd.Flags().StringVar(&revision, "revision", "", "branch, tag or commit (default: main)")
	cmd.Flags().StringVar(&quantize, "quantize", "", "convert with mlx_lm.convert: q4 or q8 (not for training on CPU)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing model of that name")
	bindConfigFlags(cmd, "base_models_dir", "fine_tuning.huggingface.endpoint")
	return cmd
}
