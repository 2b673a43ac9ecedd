package daemon_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vulntune/vulntune/internal/golden"

	"github.com/vulntune/vulntune/internal/daemon"
)

func serviceOptions(goos, bin, home string) daemon.ServiceOptions {
	return daemon.ServiceOptions{GOOS: goos, Binary: bin, Home: home, UID: 501,
		Args: []string{"daemon", "run", "--config", home + "/my configs/vulntune.yaml"},
		Env:  map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin", "VULNTUNE_DATA_DIR": home + "/data 100%<&>$HOME"}}
}

func TestServiceFiles(t *testing.T) {
	t.Run("launchd", func(t *testing.T) {
		sf, err := daemon.Service(serviceOptions("darwin", "/opt/vulntune/bin/vulntune", "/Users/alice"))
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "launchd.plist.golden"), sf.Content)
		if sf.Path != "/Users/alice/Library/LaunchAgents/com.vulntune.daemon.plist" || sf.LogFile != "/Users/alice/Library/Logs/vulntune/daemon.log" {
			t.Fatalf("paths %s %s", sf.Path, sf.LogFile)
		}
		keys := plistKeys(t, sf.Content)
		if slices.Contains(keys, "KeepAlive") && slices.Contains(keys, "StartInterval") {
			t.Fatal("KeepAlive and StartInterval together")
		}
		if strings.Contains(string(sf.Content), "TOKEN") {
			t.Fatal("a token variable in the plist")
		}
		if plutil, err := exec.LookPath("plutil"); err == nil {
			p := filepath.Join(t.TempDir(), "x.plist")
			os.WriteFile(p, sf.Content, 0o644)
			if out, err := exec.Command(plutil, "-lint", p).CombinedOutput(); err != nil {
				t.Fatalf("plutil -lint: %v\n%s", err, out)
			}
		} else {
			t.Log("plutil not here (not macOS): checked as XML and against the golden file")
		}
	})
	t.Run("systemd", func(t *testing.T) {
		sf, err := daemon.Service(serviceOptions("linux", "/opt/vulntune/bin/vulntune", "/home/alice"))
		if err != nil {
			t.Fatal(err)
		}
		golden.Assert(t, filepath.Join("testdata", "vulntune-daemon.service.golden"), sf.Content)
		if sf.Path != "/home/alice/.config/systemd/user/vulntune-daemon.service" {
			t.Fatalf("path %s", sf.Path)
		}
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze not here: checked against the golden file only")
		}
		// verify checks that ExecStart exists: render with a real binary.
		self, _ := os.Executable()
		home := t.TempDir()
		sf, _ = daemon.Service(serviceOptions("linux", self, home))
		unit := filepath.Join(t.TempDir(), daemon.SystemdUnit)
		os.WriteFile(unit, sf.Content, 0o644)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, analyze, "verify", "--user", unit)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil || bytes.Contains(out, []byte(filepath.Base(unit))) {
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
	if _, err := daemon.Service(daemon.ServiceOptions{GOOS: "windows", Binary: "/x"}); !errors.Is(err, daemon.ErrUnsupportedOS) {
		t.Fatalf("windows: %v", err)
	}
	if _, err := daemon.Service(daemon.ServiceOptions{GOOS: "linux", Binary: "vulntune"}); err == nil {
		t.Fatal("relative binary accepted")
	}
}

// plistKeys checks the plist is well-formed XML and returns the keys of
// its top-level dict.
func plistKeys(t *testing.T, data []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var keys []string
	depth := 0
	inKey := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed XML: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			depth++
			inKey = v.Name.Local == "key" && depth == 3
		case xml.EndElement:
			depth--
			inKey = false
		case xml.CharData:
			if inKey {
				keys = append(keys, string(v))
			}
		}
	}
	return keys
}

func TestInstallUninstallWithoutLoading(t *testing.T) {
	home := t.TempDir()
	sf, err := daemon.Service(serviceOptions("linux", "/opt/vulntune/bin/vulntune", home))
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	run := func(_ context.Context, argv []string) ([]byte, error) {
		ran = append(ran, strings.Join(argv, " "))
		return nil, nil
	}
	if err := daemon.Install(context.Background(), sf, run); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(sf.Path); !bytes.Equal(got, sf.Content) {
		t.Fatal("unit not written")
	}
	want := []string{"systemctl --user daemon-reload", "systemctl --user enable --now vulntune-daemon.service"}
	if !slices.Equal(ran, want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	ran = nil
	if err := daemon.Install(context.Background(), sf, run); err != nil || ran[0] != "systemctl --user disable --now vulntune-daemon.service" {
		t.Fatalf("reinstall: %v, %v", ran, err)
	}
	ran = nil
	if err := daemon.Uninstall(context.Background(), sf, run); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sf.Path); !errors.Is(err, os.ErrNotExist) || ran[0] != "systemctl --user disable --now vulntune-daemon.service" {
		t.Fatalf("uninstall left %s or ran %v", sf.Path, ran)
	}
	if err := daemon.Uninstall(context.Background(), sf, run); err == nil {
		t.Fatal("uninstalling nothing succeeded")
	}
	failing := func(_ context.Context, argv []string) ([]byte, error) {
		return []byte("Failed to connect to bus"), errors.New("exit status 1")
	}
	if err := daemon.Install(context.Background(), sf, failing); err == nil || !strings.Contains(err.Error(), "Failed to connect to bus") {
		t.Fatalf("a load failure must be reported with the tool's words: %v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(golden.Main(m)) }
