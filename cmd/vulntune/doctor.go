package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// check is one line of the doctor's report.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn or fail
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorReport is doctor's --json output.
type doctorReport struct {
	Version    string       `json:"version"`
	GoVersion  string       `json:"go_version"`
	Platform   string       `json:"platform"`
	Engine     *engine.Info `json:"engine,omitempty"`
	BaseModels []string     `json:"base_models"`
	Checks     []check      `json:"checks"`
}

// doctorFailed is returned when a needed piece is missing; exit status 1.
type doctorFailed struct{ n int }

func (e doctorFailed) Error() string { return fmt.Sprintf("doctor found %d problem(s)", e.n) }
func (e doctorFailed) Hint() string  { return "run the command in each failed check's fix column" }

func newDoctorCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the engine, models, disk space, tokens and configuration",
		Long: `doctor reports vulntune's build, the engine's Python, mlx and mlx-lm
versions and device, the base models present, free disk space and whether
tokens are set (never their values). It exits 1 when something needed is
missing, naming the command that fixes it.`,
		Example: "  vulntune doctor\n  vulntune doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := a.diagnose(cmd.Context())
			if asJSON {
				if err := a.printJSON(r); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(a.stdout, "vulntune %s (%s, %s)\n\n", r.Version, r.GoVersion, r.Platform)
				tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL\tFIX")
				for _, c := range r.Checks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Status, c.Detail, c.Fix)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			n := 0
			for _, c := range r.Checks {
				if c.Status == "fail" {
					n++
				}
			}
			if n > 0 {
				return doctorFailed{n}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON {version, go_version, engine, base_models, checks}")
	return cmd
}

func (a *app) diagnose(ctx context.Context) doctorReport {
	r := doctorReport{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, BaseModels: []string{}}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		r.Version = bi.Main.Version
	}
	add := func(name, status, detail, fix string) {
		r.Checks = append(r.Checks, check{Name: name, Status: status, Detail: detail, Fix: fix})
	}
	cfg, err := a.loadConfig()
	if err != nil {
		add("config", "fail", err.Error(), "fix the file, then `vulntune config validate FILE`")
		return r
	}
	file := cfg.File()
	if file == "" {
		file = "defaults (no config file)"
	}
	add("config", "ok", file, "")

	e, err := a.openEngine(cfg)
	if err != nil {
		add("engine", "fail", err.Error(), "vulntune setup")
	} else if info, err := e.Info(ctx); err != nil {
		add("engine", "fail", err.Error(), "vulntune setup --force")
	} else {
		r.Engine = info
		add("engine", "ok", fmt.Sprintf("Python %s at %s", info.Python, info.PythonExecutable), "")
		add("mlx", "ok", fmt.Sprintf("mlx %s, %s backend on %s", info.MLX, info.Backend, info.Device), "")
		add("mlx-lm", "ok", fmt.Sprintf("mlx-lm %s, huggingface_hub %s, transformers %s", info.MLXLM, info.HuggingfaceHub, info.Transformers), "")
		if info.Backend == "cpu" && runtime.GOOS == "linux" {
			switch {
			case !e.BLAS.Optimised():
				add("BLAS", "warn", "mlx[cpu] runs on its bundled reference BLAS (about 30x slower): "+e.BLAS.Reason, engine.BLASHint)
			case !engine.SameFile(info.BLASLibrary, e.BLAS.Library):
				add("BLAS", "fail", fmt.Sprintf("%s BLAS %s was preloaded, but the engine's matmuls resolve to %q", e.BLAS.Source, e.BLAS.Library, info.BLASLibrary), engine.BLASHint)
			default:
				add("BLAS", "ok", fmt.Sprintf("%s: %s (%s)", e.BLAS.Source, e.BLAS.Library, e.BLAS.Reason), "")
			}
			if len(e.Malloc) > 0 {
				add("allocator", "ok", "glibc keeps freed memory mapped ("+strings.Join(e.Malloc, " ")+")", "")
			} else {
				add("allocator", "warn", "glibc defaults: every large array is mapped and faulted in anew (training about 5% slower)",
					"unset "+engine.MallocEnv+" to let the engine tune glibc's malloc")
			}
		}
		if info.Backend == "cpu" && runtime.GOARCH == "amd64" {
			if len(e.Kernels) > 0 {
				add("cpu kernels", "ok", "vulntune's exp, softmax and attention kernels replace MLX's scalar ones", "")
			} else {
				add("cpu kernels", "warn", "MLX's scalar exp: training and evaluation about a third slower",
					"unset "+engine.CPUKernelsEnv+" to let the engine use its faster kernels")
			}
		}
	}

	a.checkModels(&r, cfg, add)
	for _, d := range []struct{ name, dir string }{
		{"disk: data dir", cfg.DataDir}, {"disk: base models", cfg.BaseModelsDir}, {"disk: fine-tuned models", cfg.FineTunedModelsDir},
	} {
		free, err := engine.DiskFree(d.dir)
		switch {
		case err != nil:
			add(d.name, "warn", err.Error(), "")
		case free < engine.MinFreeBytes:
			add(d.name, "warn", fmt.Sprintf("%s: only %d MiB free", d.dir, free>>20), "free some space")
		default:
			add(d.name, "ok", fmt.Sprintf("%s: %.1f GiB free", d.dir, float64(free)/(1<<30)), "")
		}
	}
	add("HF token", tokenStatus(cfg.HFToken), cfg.HFToken.String()+" (needed only to publish or pull gated models)", "")
	add("GitHub token", tokenStatus(cfg.GitHubToken), cfg.GitHubToken.String()+" (needed only by the daemon)", "")
	return r
}

func (a *app) checkModels(r *doctorReport, cfg *config.Config, add func(name, status, detail, fix string)) {
	models, err := modelstore.List(modelstore.Root{Dir: cfg.BaseModelsDir, Kind: "base"})
	if err != nil {
		add("base models", "fail", err.Error(), "")
		return
	}
	found := false
	for _, m := range models {
		r.BaseModels = append(r.BaseModels, m.Name)
		if filepath.Base(m.Dir) == cfg.DefaultBaseModel {
			found = true
		}
	}
	add("base models", "ok", fmt.Sprintf("%d in %s", len(models), cfg.BaseModelsDir), "")
	if found {
		add("default base model", "ok", cfg.DefaultBaseModel, "")
	} else {
		add("default base model", "fail", cfg.DefaultBaseModel+" not in "+cfg.BaseModelsDir, "vulntune setup")
	}
}

func tokenStatus(s config.Secret) string {
	if s == "" {
		return "unset"
	}
	return "ok"
}
