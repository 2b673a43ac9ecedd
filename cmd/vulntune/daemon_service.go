package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vulntune/vulntune/internal/config"
	"github.com/vulntune/vulntune/internal/daemon"
	"github.com/vulntune/vulntune/internal/ghactions"
)

// serviceFile renders the service for this machine from the effective
// command line: this binary, `daemon run`, the config file in use and the
// daemon flags given, with the VULNTUNE_* environment and PATH of the
// shell that installs it (never a token).
func (a *app) serviceFile(cmd *cobra.Command, cfg *config.Config) (daemon.ServiceFile, error) {
	bin, err := os.Executable()
	if err != nil {
		return daemon.ServiceFile{}, err
	}
	if bin, err = filepath.EvalSymlinks(bin); err != nil {
		return daemon.ServiceFile{}, err
	}
	args := []string{"daemon", "run"}
	if cfg.File() != "" {
		abs, err := filepath.Abs(cfg.File())
		if err != nil {
			return daemon.ServiceFile{}, err
		}
		args = append(args, "--config", abs)
	}
	for _, key := range daemonKeys {
		in, _ := config.Lookup(key)
		if f := cmd.Flags().Lookup(in.Flag); f != nil && f.Changed {
			for _, v := range strings.Split(f.Value.String(), ",") {
				args = append(args, "--"+f.Name, v)
			}
		}
	}
	env := map[string]string{"PATH": os.Getenv("PATH")}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "VULNTUNE_") && v != "" {
			env[k] = v
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return daemon.ServiceFile{}, err
	}
	return daemon.Service(daemon.ServiceOptions{GOOS: runtime.GOOS, Binary: bin, Args: args, Env: env,
		Home: home, UID: os.Getuid(), ConfigHome: os.Getenv("XDG_CONFIG_HOME")})
}

func runTool(ctx context.Context, argv []string) ([]byte, error) {
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

func newDaemonInstallCmd(a *app) *cobra.Command {
	var printOnly bool
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Install and start the daemon as a launchd agent (macOS) or systemd user service (Linux)",
		Long: `install writes a LaunchAgent (~/Library/LaunchAgents/com.vulntune.daemon.plist)
on macOS or a systemd user unit (~/.config/systemd/user/vulntune-daemon.service)
on Linux that runs "vulntune daemon run" with the config file in use, the
daemon flags given here and the VULNTUNE_* variables of this shell, then
loads it with launchctl or systemctl --user. A service does not see this
shell's GH_TOKEN: put the token in a file only you can read and set
github.token_file. Running install again updates the service.`,
		Example: `  vulntune daemon install --repo acme/webapp --workflow security.yml
  vulntune --config ~/.config/vulntune/config.yaml daemon install --print`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			if len(cfg.GitHub.Repos) == 0 {
				return usageError{fmt.Errorf("no repository to watch: give --repo OWNER/NAME or set github.repos")}
			}
			sf, err := a.serviceFile(cmd, cfg)
			if err != nil {
				return err
			}
			if printOnly {
				_, err := a.stdout.Write(sf.Content)
				return err
			}
			if cfg.GitHubToken.Value() != "" && cfg.GitHub.TokenFile == "" {
				fmt.Fprintln(a.stderr, "warning: the service will not see GH_TOKEN/GITHUB_TOKEN from this shell; set github.token_file (a file only you can read)")
			}
			if cfg.GitHub.TokenFile != "" {
				if _, err := ghactions.TokenFromFile(cfg.GitHub.TokenFile); err != nil {
					return usageError{err}
				}
			}
			if err := daemon.Install(cmd.Context(), sf, runTool); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "installed and started: %s\n", sf.Path)
			if sf.Kind == "systemd" {
				fmt.Fprintln(a.stdout, "to keep it running when you log out: loginctl enable-linger $USER")
			}
			fmt.Fprintln(a.stdout, "status: vulntune daemon status; logs: vulntune daemon logs")
			return nil
		},
	}
	bindConfigFlags(cmd, daemonKeys...)
	cmd.Flags().BoolVar(&printOnly, "print", false, "print the service file instead of installing it")
	return cmd
}

func newDaemonUninstallCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall",
		Short: "Stop the daemon service and remove its file (its state is kept)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			sf, err := a.serviceFile(cmd, cfg)
			if err != nil {
				return err
			}
			if err := daemon.Uninstall(cmd.Context(), sf, runTool); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "stopped and removed: %s (state kept in %s)\n", sf.Path, filepath.Join(cfg.DataDir, "daemon"))
			return nil
		},
	}
}

func newDaemonLogsCmd(a *app) *cobra.Command {
	var lines int
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs",
		Short: "Show the daemon service's log (journal on Linux, ~/Library/Logs/vulntune on macOS)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.loadConfigFor(cmd)
			if err != nil {
				return err
			}
			sf, err := a.serviceFile(cmd, cfg)
			if err != nil {
				return err
			}
			if sf.Kind == "launchd" {
				return daemon.TailFile(cmd.Context(), sf.LogFile, lines, follow, a.stdout, ghactions.SystemClock{})
			}
			argv := daemon.LogsCommand(sf, lines, follow)
			c := exec.CommandContext(cmd.Context(), argv[0], argv[1:]...)
			c.Stdout, c.Stderr = a.stdout, a.stderr
			return c.Run()
		},
	}
	cmd.Flags().IntVarP(&lines, "lines", "n", 100, "how many of the last lines to show")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep showing new lines")
	return cmd
}
