package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/export"
)

func newExportCmd(a *app) *cobra.Command {
	var format, quant, outDir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "export MODEL",
		Short: "Export a model as a GGUF file for llama.cpp, with an Ollama Modelfile",
		Long: `export writes MODEL (a name in base_models_dir or fine_tuned_models_dir, or a
directory; llama-family such as SmolLM2, or OLMo-2) as a GGUF file that
llama.cpp loads, its tokenizer (byte-level BPE) and chat template in the
file's metadata, and an Ollama Modelfile beside it: FROM the file, a
TEMPLATE restating the chat template, the system prompt (the dataset's for a
model vulntune fine-tuned), its stop tokens and temperature 0 (greedy).

--quant f16 stores weights as half floats; q8_0 as 8-bit blocks (about half
the size, close to f16 in quality). Norms stay float32. q4_k_m is not
written yet: quantize the f16 file with llama.cpp's llama-quantize.`,
		Example: `  vulntune export SmolLM2-135M-Instruct
  vulntune export my-tuned-model --quant q8_0 -o ./gguf
  ollama create my-tuned-model -f ./gguf/Modelfile`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			dir, err := resolveModel(cfg, args[0])
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = filepath.Base(dir) + "-gguf"
			}
			a.log.Info("exporting", "model", dir, "format", format, "quant", quant, "to", outDir)
			res, err := export.Export(cmd.Context(), dir, export.Options{Format: format, Quant: quant, OutDir: outDir})
			if errors.Is(err, export.ErrOption) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if res.TemplateNote != "" {
				a.log.Warn(res.TemplateNote)
			}
			if asJSON {
				return a.printJSON(res)
			}
			_, err = fmt.Fprintf(a.stdout, "exported %s: %s (%s, %s, %d tensors) and %s\nload it with: ollama create NAME -f %s\n",
				args[0], res.GGUF, res.Arch, humanBytes(res.Bytes), res.Tensors, res.Modelfile, res.Modelfile)
			return err
		},
	}
	bindConfigFlags(cmd, "base_models_dir", "fine_tuned_models_dir")
	cmd.Flags().StringVar(&format, "format", export.FormatGGUF, "file format: gguf")
	cmd.Flags().StringVar(&quant, "quant", export.QuantF16, "weight encoding: f16 or q8_0")
	cmd.Flags().StringVarP(&outDir, "output", "o", "", "directory for the GGUF file and Modelfile (default ./<model>-gguf)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {gguf, modelfile, quant, architecture, tensors, bytes}")
	return cmd
}
