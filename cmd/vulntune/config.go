package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/engine"
)

// loadConfig reads the effective configuration for any command: --config
// (or $VULNTUNE_CONFIG, or the user config file), the real environment and
// home directory. Config errors are usage errors (exit 2).
func (a *app) loadConfig() (*config.Config, error) {
	c, err := config.Load(config.LoadOptions{Path: a.configPath, Getenv: os.Getenv,
		OtherEnv: []string{engine.BLASEnv, engine.MallocEnv, engine.CPUKernelsEnv, engine.WorkersEnv}})
	if err != nil {
		return nil, usageError{err}
	}
	for _, w := range c.Warnings {
		a.log.Warn(w)
	}
	return c, nil
}

// bindConfigFlags registers one flag per dotted key, named, described and
// defaulted by the settings table; loadConfigFor applies the ones given.
func bindConfigFlags(cmd *cobra.Command, keys ...string) {
	for _, key := range keys {
		in, ok := config.Lookup(key)
		if !ok || in.Flag == "" {
			panic("bindConfigFlags: no flag for config key " + key) // programming error, caught by any test of the command
		}
		help := fmt.Sprintf("%s (config %s, env %s; default %s)", in.Help, in.Key, in.Env, showDefault(in.Default))
		f := cmd.Flags().VarPF(&flagText{list: in.List}, in.Flag, "", help)
		if in.Bool {
			f.NoOptDefVal = "true"
		}
	}
}

// loadConfigFor is loadConfig plus the flags bindConfigFlags registered on
// cmd that the user set, which take precedence over everything else.
func (a *app) loadConfigFor(cmd *cobra.Command) (*config.Config, error) {
	c, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	for _, in := range config.Keys() {
		f := cmd.Flags().Lookup(in.Flag)
		if in.Flag == "" || f == nil || !f.Changed {
			continue
		}
		// Only flags bindConfigFlags made are settings: a command's own
		// flag may share a setting's name (publish's --repo is a Hub
		// repo, not the daemon's github.repos).
		if _, ok := f.Value.(*flagText); !ok {
			continue
		}
		if err := c.SetFromFlag(in.Key, f.Value.String()); err != nil {
			return nil, usageError{err}
		}
	}
	return c, nil
}

// flagText is a pflag.Value that keeps the text for config.SetFromFlag to
// parse, so flag values are checked exactly like file and env values. A
// list flag given more than once collects every value.
type flagText struct {
	s    string
	list bool
	set  bool
}

func (f *flagText) String() string { return f.s }
func (f *flagText) Set(s string) error {
	if f.list && f.set {
		s = f.s + "," + s
	}
	f.s, f.set = s, true
	return nil
}
func (f *flagText) Type() string { return "value" }

func showDefault(d string) string {
	if d == "" {
		return `""`
	}
	return d
}

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show, check and create the configuration",
		Long: `vulntune reads one YAML file (docs/configuration.md). Precedence:
flag > environment (VULNTUNE_*, HF_TOKEN, GH_TOKEN/GITHUB_TOKEN) > file > defaults.
Without --config, vulntune reads $VULNTUNE_CONFIG, else
<user config dir>/vulntune/config.yaml when it exists.`,
	}
	cmd.AddCommand(newConfigShowCmd(a), newConfigValidateCmd(a), newConfigInitCmd(a))
	return cmd
}

func newConfigShowCmd(a *app) *cobra.Command {
	var asJSON, all bool
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Print every effective setting with its value and where it came from",
		Example: "  vulntune config show\n  vulntune --config my.yaml config show --json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			var rows []config.Setting
			for _, s := range c.Settings() {
				// Unused compatibility keys only add noise unless set.
				if all || !s.Compat || s.Source != "default" {
					rows = append(rows, s)
				}
			}
			if asJSON {
				return writeConfigJSON(a, c.File(), rows)
			}
			file := c.File()
			if file == "" {
				file = "(none)"
			}
			fmt.Fprintf(a.stdout, "config file: %s\n\n", file)
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
			for _, s := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", s.Key, tableValue(s), s.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON object {config_file, settings: [{key, value, source, env, flag, help}]}")
	cmd.Flags().BoolVar(&all, "all", false, "include the original plan's compatibility keys that vulntune does not use")
	return cmd
}

func writeConfigJSON(a *app, file string, rows []config.Setting) error {
	if rows == nil {
		rows = []config.Setting{}
	}
	return a.printJSON(struct {
		ConfigFile string           `json:"config_file"`
		Settings   []config.Setting `json:"settings"`
	}{file, rows})
}

func newConfigValidateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a config file: every key known, every value well typed and in range",
		Long: `validate reads FILE alone, ignoring the environment, and reports every
problem with its line. Exit status 2 when the file is invalid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			_, err := config.Load(config.LoadOptions{Path: args[0], Getenv: func(string) string { return "" }})
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", args[0])
			return nil
		},
	}
}

func newConfigInitCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented config file listing every setting and its default",
		Long: `init writes FILE, or the file --config names, or $VULNTUNE_CONFIG, or
<user config dir>/vulntune/config.yaml. It never replaces an existing file
unless --force is given, and writes through a temporary file and a rename.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := a.initPath(args)
			if err != nil {
				return err
			}
			if _, err := os.Stat(path); err == nil && !force {
				return usageError{fmt.Errorf("%s already exists; pass --force to replace it", path)}
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check %s: %w", path, err)
			}
			if err := config.WriteTemplate(path); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s\n", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing file")
	return cmd
}

func (a *app) initPath(args []string) (string, error) {
	switch {
	case len(args) == 1:
		return args[0], nil
	case a.configPath != "":
		return a.configPath, nil
	case os.Getenv(config.ConfigEnv) != "":
		return os.Getenv(config.ConfigEnv), nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", usageError{fmt.Errorf("find the user config directory: %w; name the file: vulntune config init FILE", err)}
	}
	return filepath.Join(dir, "vulntune", "config.yaml"), nil
}

// tableValueWidth is the widest value the table shows whole.
const tableValueWidth = 60

// tableValue keeps the table readable: a long list (a replacement pool of
// dataset.augment) shows the items that fit and how many there are in
// all; --json shows it whole.
func tableValue(s config.Setting) string {
	t := s.Text()
	l, ok := s.Value.([]string)
	if !ok || len(t) <= tableValueWidth {
		return t
	}
	shown := ""
	for i, it := range l {
		next := shown + it
		if i > 0 {
			next = shown + "," + it
		}
		if len(next) > tableValueWidth-16 {
			break
		}
		shown = next
	}
	return fmt.Sprintf("%s,… (%d in all)", shown, len(l))
}
