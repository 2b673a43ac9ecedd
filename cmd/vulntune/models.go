package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/modelstore"
)

func newModelsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List and import the models in the base and fine-tuned models dirs",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newModelsListCmd(a), newModelsImportCmd(a), newModelsPullCmd(a))
	return cmd
}

func newModelsListCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List base and fine-tuned models with their size, parameters and source",
		Long: `list describes every model dir under base_models_dir and
fine_tuned_models_dir, from its metadata.json when vulntune wrote one and from
config.json and the safetensors headers otherwise (a model copied there by
hand or downloaded from the Hub).`,
		Example: "  vulntune models list\n  vulntune models list --json | jq '.[].name'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			models, err := modelstore.List(
				modelstore.Root{Dir: cfg.BaseModelsDir, Kind: modelstore.KindBase},
				modelstore.Root{Dir: cfg.FineTunedModelsDir, Kind: modelstore.KindFineTuned},
			)
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(models)
			}
			if len(models) == 0 {
				_, err := fmt.Fprintf(a.stdout, "no models in %s or %s (run vulntune setup to install the default base model)\n",
					cfg.BaseModelsDir, cfg.FineTunedModelsDir)
				return err
			}
			return writeModelTable(a.stdout, models)
		},
	}
	bindConfigFlags(cmd, "base_models_dir", "fine_tuned_models_dir")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the models as a JSON array")
	return cmd
}

func writeModelTable(w io.Writer, models []modelstore.Model) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tARCH\tPARAMS\tDTYPE\tQUANT\tSIZE\tSOURCE\tCREATED")
	for _, m := range models {
		if m.Problem != "" {
			fmt.Fprintf(tw, "%s\t%s\t(unreadable: %s)\t\t\t\t\t\t\n", m.Name, m.Kind, m.Problem)
			continue
		}
		created := "-"
		if !m.Created.IsZero() {
			created = m.Created.UTC().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, m.Kind, orDash(m.Architecture),
			humanCount(m.Parameters), orDash(m.DType), orDash(m.Quantization), humanBytes(m.SizeBytes), orDash(m.Source), created)
	}
	return tw.Flush()
}

func newModelsImportCmd(a *app) *cobra.Command {
	var name, dtype, source, hubID string
	var force bool
	cmd := &cobra.Command{
		Use:   "import FILE.gguf",
		Short: "Import a GGUF model into the base models dir in Hugging Face layout",
		Long: `import converts a llama.cpp GGUF file (llama or olmo2 architecture,
byte-level BPE vocabulary) into <base_models_dir>/<name>: tensors are
dequantized to --dtype (float32 by default, which MLX trains fastest with on
CPU; float16 or bfloat16 halve the size for GPU use), llama.cpp's Q/K row
permutation is undone, and config.json, tokenizer.json (with the chat
template) and metadata.json are written. The model dir appears only once
complete.`,
		Example: "  vulntune models import SmolLM2-135M-Instruct.Q4_1.gguf --name SmolLM2-135M-Instruct\n" +
			"  vulntune models import model.gguf --name my-model --dtype bfloat16 --force",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
			}
			if name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
				return usageError{fmt.Errorf("--name %q must be a plain folder name", name)}
			}
			if hubID != "" && (strings.Count(hubID, "/") != 1 || strings.HasPrefix(hubID, "/") || strings.HasSuffix(hubID, "/")) {
				return usageError{fmt.Errorf("--hub-id %q: want NAMESPACE/NAME", hubID)}
			}
			m, err := modelstore.ImportGGUF(cmd.Context(), args[0], filepath.Join(cfg.BaseModelsDir, name),
				modelstore.ImportOptions{Name: name, Source: source, HubID: hubID, DType: dtype, Force: force})
			if errors.Is(err, modelstore.ErrExists) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "imported %s: %s, %s parameters, %s (from %s), %s in %s\n",
				m.Name, m.Architecture, humanCount(m.Parameters), m.DType, m.Quantization, humanBytes(m.SizeBytes), m.Dir)
			return err
		},
	}
	bindConfigFlags(cmd, "base_models_dir")
	cmd.Flags().StringVar(&name, "name", "", "folder name under base_models_dir (default: the file name without .gguf)")
	cmd.Flags().StringVar(&dtype, "dtype", modelstore.DTypeFloat32, "weights dtype: float32, float16 or bfloat16")
	cmd.Flags().StringVar(&source, "source", "", `where the file came from, recorded in metadata.json (default "gguf:<file name>")`)
	cmd.Flags().StringVar(&hubID, "hub-id", "", "Hub repo the GGUF was made from (e.g. HuggingFaceTB/SmolLM2-135M-Instruct), named as base_model in the cards of models tuned from it")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing model of the same name")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanCount prints a parameter count as 134.5M or 1.2B.
func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// humanBytes prints a size in decimal units, as disk tools do.
func humanBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
