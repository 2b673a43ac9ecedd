package hub_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/hub"
)

func TestResolveToken(t *testing.T) {
	home := t.TempDir()
	write := func(p, v string) string {
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(filepath.Join(home, ".cache", "huggingface", "token"), "default-file\n")
	hfHome := filepath.Join(home, "hf")
	write(filepath.Join(hfHome, "token"), "hf-home-file")
	custom := write(filepath.Join(home, "elsewhere", "tok"), "  token-path-file  ")
	xdg := filepath.Join(home, "xdg")
	write(filepath.Join(xdg, "huggingface", "token"), "xdg-file")
	tests := []struct {
		name       string
		configured string
		env        map[string]string
		home       string
		want       string
		wantSource string
	}{
		{"configured wins", "from-env", map[string]string{"HF_HOME": hfHome}, home, "from-env", "HF_TOKEN"},
		{"HF_TOKEN_PATH", "", map[string]string{"HF_TOKEN_PATH": custom, "HF_HOME": hfHome}, home, "token-path-file", "login token file"},
		{"HF_HOME", "", map[string]string{"HF_HOME": hfHome}, home, "hf-home-file", "login token file"},
		{"XDG_CACHE_HOME", "", map[string]string{"XDG_CACHE_HOME": xdg}, home, "xdg-file", "login token file"},
		{"default", "", nil, home, "default-file", "login token file"},
		{"none", "", nil, t.TempDir(), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := hub.ResolveToken(tt.configured, func(k string) string { return tt.env[k] }, tt.home)
			if tt.want == "" {
				if !errors.Is(err, hub.ErrNoToken) {
					t.Fatalf("got %v, want ErrNoToken", err)
				}
				return
			}
			if err != nil || tok.Value() != tt.want || tok.Source != tt.wantSource {
				t.Fatalf("got %q from %q (%v), want %q from %q", tok.Value(), tok.Source, err, tt.want, tt.wantSource)
			}
			if s := fmt.Sprint(tok) + fmt.Sprintf("%v %+v", tok, tok); strings.Contains(s, tt.want) {
				t.Errorf("formatting the token shows its value: %s", s)
			}
		})
	}
}
