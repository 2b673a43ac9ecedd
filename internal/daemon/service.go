package daemon

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/vulntune/vulntune/internal/atomicfile"
)

// Service names.
const (
	LaunchdLabel = "com.vulntune.daemon"
	SystemdUnit  = "vulntune-daemon.service"
)

// ServiceOptions describes the service to install: the command it runs
// and the environment it needs. Tokens are never part of it: the daemon
// reads github.token_file (or GH_TOKEN from an environment the user
// provides), so no credential is written into a service file.
type ServiceOptions struct {
	GOOS string // "darwin" (launchd) or "linux" (systemd)
	// Binary is the absolute path of vulntune; Args follow it
	// ("daemon", "run", "--config", ...).
	Binary string
	Args   []string
	// Env is the environment to set (VULNTUNE_* overrides, PATH).
	Env  map[string]string
	Home string
	UID  int
	// ConfigHome is $XDG_CONFIG_HOME ("" = ~/.config), where systemd
	// looks for user units.
	ConfigHome string
}

// ServiceFile is a rendered service definition and how the system loads
// it, unloads it and shows its logs.
type ServiceFile struct {
	Kind    string     `json:"kind"` // launchd or systemd
	Path    string     `json:"path"`
	Content []byte     `json:"-"`
	Load    [][]string `json:"load"`
	Unload  [][]string `json:"unload"`
	// LogFile is where launchd writes the daemon's output; systemd keeps
	// it in the journal and Logs is the command that shows it.
	LogFile string   `json:"log_file,omitempty"`
	Logs    []string `json:"logs,omitempty"`
}

// ErrUnsupportedOS is returned for systems without launchd or systemd.
var ErrUnsupportedOS = errors.New("the daemon installs as a launchd agent (macOS) or a systemd user unit (Linux)")

// Service renders the service definition for o.GOOS.
func Service(o ServiceOptions) (ServiceFile, error) {
	if !filepath.IsAbs(o.Binary) {
		return ServiceFile{}, fmt.Errorf("service: binary path %q is not absolute", o.Binary)
	}
	switch o.GOOS {
	case "darwin":
		return launchd(o), nil
	case "linux":
		return systemd(o), nil
	}
	return ServiceFile{}, fmt.Errorf("%w, not %s", ErrUnsupportedOS, o.GOOS)
}

// launchd renders a LaunchAgent. The daemon polls on its own, so launchd
// only keeps it alive (KeepAlive, throttled): never StartInterval as well,
// which would start a second copy on a timer.
func launchd(o ServiceOptions) ServiceFile {
	logFile := filepath.Join(o.Home, "Library", "Logs", "vulntune", "daemon.log")
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	key := func(k string) { fmt.Fprintf(&b, "\t<key>%s</key>\n", esc(k)) }
	str := func(indent, v string) { fmt.Fprintf(&b, "%s<string>%s</string>\n", indent, esc(v)) }
	key("Label")
	str("\t", LaunchdLabel)
	key("ProgramArguments")
	b.WriteString("\t<array>\n")
	for _, a := range append([]string{o.Binary}, o.Args...) {
		str("\t\t", a)
	}
	b.WriteString("\t</array>\n")
	if len(o.Env) > 0 {
		key("EnvironmentVariables")
		b.WriteString("\t<dict>\n")
		for _, k := range sortedKeys(o.Env) {
			fmt.Fprintf(&b, "\t\t<key>%s</key>\n", esc(k))
			str("\t\t", o.Env[k])
		}
		b.WriteString("\t</dict>\n")
	}
	key("RunAtLoad")
	b.WriteString("\t<true/>\n")
	key("KeepAlive")
	b.WriteString("\t<true/>\n")
	key("ThrottleInterval")
	b.WriteString("\t<integer>60</integer>\n")
	key("ExitTimeOut")
	b.WriteString("\t<integer>15</integer>\n")
	key("ProcessType")
	str("\t", "Background")
	key("StandardOutPath")
	str("\t", logFile)
	key("StandardErrorPath")
	str("\t", logFile)
	b.WriteString("</dict>\n</plist>\n")
	domain := "gui/" + strconv.Itoa(o.UID)
	path := filepath.Join(o.Home, "Library", "LaunchAgents", LaunchdLabel+".plist")
	return ServiceFile{Kind: "launchd", Path: path, Content: b.Bytes(), LogFile: logFile,
		Load:   [][]string{{"launchctl", "bootstrap", domain, path}},
		Unload: [][]string{{"launchctl", "bootout", domain + "/" + LaunchdLabel}}}
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// systemd renders a user unit; its output goes to the journal.
func systemd(o ServiceOptions) ServiceFile {
	var b strings.Builder
	b.WriteString("[Unit]\n")
	b.WriteString("Description=vulntune daemon: GitHub Actions scanner artifacts to a dataset and a fine-tuned model\n")
	b.WriteString("Documentation=https://github.com/vulntune/vulntune\n")
	b.WriteString("After=network-online.target\nWants=network-online.target\n\n")
	b.WriteString("[Service]\nType=simple\n")
	args := []string{systemdQuote(o.Binary)}
	for _, a := range o.Args {
		args = append(args, systemdQuote(a))
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(args, " "))
	for _, k := range sortedKeys(o.Env) {
		fmt.Fprintf(&b, "Environment=%s\n", systemdQuote(k+"="+o.Env[k]))
	}
	// The daemon restarts itself after a crash; a stop (SIGTERM) gets 15 s,
	// of which it needs at most 10.
	b.WriteString("Restart=always\nRestartSec=60\nTimeoutStopSec=15\nNoNewPrivileges=yes\n\n")
	b.WriteString("[Install]\nWantedBy=default.target\n")
	dir := o.ConfigHome
	if dir == "" {
		dir = filepath.Join(o.Home, ".config")
	}
	return ServiceFile{Kind: "systemd", Path: filepath.Join(dir, "systemd", "user", SystemdUnit), Content: []byte(b.String()),
		Load:   [][]string{{"systemctl", "--user", "daemon-reload"}, {"systemctl", "--user", "enable", "--now", SystemdUnit}},
		Unload: [][]string{{"systemctl", "--user", "disable", "--now", SystemdUnit}},
		Logs:   []string{"journalctl", "--user", "--unit", SystemdUnit}}
}

// systemdQuote quotes one word of a unit's command line or Environment=
// as systemd parses them: double quotes, backslash escapes, and % and $
// doubled so systemd expands nothing.
func systemdQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$", "\n", `\n`)
	q := r.Replace(s)
	if q == s && s != "" && !strings.ContainsAny(s, " \t'") {
		return s
	}
	return `"` + q + `"`
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Runner runs one command of the service manager (launchctl, systemctl).
// Tests pass a fake; the service files are never loaded by tests.
type Runner func(ctx context.Context, argv []string) ([]byte, error)

// Install writes the service file (atomically, 0644; it holds no secret)
// and loads it. A service already loaded is unloaded first, so install
// also updates.
func Install(ctx context.Context, sf ServiceFile, run Runner) error {
	if sf.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(sf.LogFile), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(sf.Path); err == nil {
		for _, argv := range sf.Unload {
			_, _ = run(ctx, argv) // not loaded is fine
		}
	}
	if err := atomicfile.WriteFile(sf.Path, sf.Content, 0o644); err != nil {
		return err
	}
	for _, argv := range sf.Load {
		if out, err := run(ctx, argv); err != nil {
			return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// Uninstall unloads the service and removes its file. The state directory
// stays: a later install resumes where this one stopped.
func Uninstall(ctx context.Context, sf ServiceFile, run Runner) error {
	if _, err := os.Stat(sf.Path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no service installed at %s", sf.Path)
	}
	for _, argv := range sf.Unload {
		_, _ = run(ctx, argv) // a service that is not loaded needs no unloading
	}
	if err := os.Remove(sf.Path); err != nil {
		return err
	}
	if sf.Kind == "systemd" {
		_, _ = run(ctx, []string{"systemctl", "--user", "daemon-reload"})
	}
	return nil
}
