package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
	"github.com/vulntune/vulntune/internal/modelstore"
)

// doctorReport is doctor's --json output.
type doctorReport struct {
	Version    string         `json:"version"`
	GoVersion  string         `json:"go_version"`
	Platform   string         `json:"platform"`
	Engine     *engine.Info   `json:"engine,omitempty"`
	BaseModels []string       `json:"base_models"`
	Checks     []engine.Check `json:"checks"`
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
				if c.Status == engine.CheckFail {
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
		r.Checks = append(r.Checks, engine.Check{Name: name, Status: status, Detail: detail, Fix: fix})
	}
	cfg, err := a.loadConfig()
	if err != nil {
		add("config", engine.CheckFail, err.Error(), "fix the file, then `vulntune config validate FILE`")
		return r
	}
	file := cfg.File()
	if file == "" {
		file = "defaults (no config file)"
	}
	add("config", engine.CheckOK, file, "")

	if e, err := a.openEngine(cfg); err != nil {
		add("engine", engine.CheckFail, err.Error(), "vulntune setup")
	} else {
		var checks []engine.Check
		r.Engine, checks = e.Diagnose(ctx)
		r.Checks = append(r.Checks, checks...)
	}

	names, hasDefault, err := modelstore.BaseModels(cfg.BaseModelsDir, cfg.DefaultBaseModel)
	switch {
	case err != nil:
		add("base models", engine.CheckFail, err.Error(), "")
	case hasDefault:
		r.BaseModels = names
		add("base models", engine.CheckOK, fmt.Sprintf("%d in %s", len(names), cfg.BaseModelsDir), "")
		add("default base model", engine.CheckOK, cfg.DefaultBaseModel, "")
	default:
		r.BaseModels = names
		add("base models", engine.CheckOK, fmt.Sprintf("%d in %s", len(names), cfg.BaseModelsDir), "")
		add("default base model", engine.CheckFail, cfg.DefaultBaseModel+" not in "+cfg.BaseModelsDir, "vulntune setup")
	}
	r.Checks = append(r.Checks, engine.DiskCheck("disk: data dir", cfg.DataDir),
		engine.DiskCheck("disk: base models", cfg.BaseModelsDir), engine.DiskCheck("disk: fine-tuned models", cfg.FineTunedModelsDir))
	add("HF token", tokenStatus(cfg.HFToken), cfg.HFToken.String()+" (needed only to publish or pull gated models)", "")
	add("GitHub token", tokenStatus(cfg.GitHubToken), cfg.GitHubToken.String()+" (needed only by the daemon)", "")
	return r
}

func tokenStatus(s config.Secret) string {
	if s == "" {
		return "unset"
	}
	return "ok"
}
