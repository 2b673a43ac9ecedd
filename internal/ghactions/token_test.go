package ghactions_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/ghactions"
)

func TestTokenFromFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	tests := []struct {
		name, path, want, wantErr string
	}{
		{"private", write("a", "ghp_abc123\n# comment\n", 0o600), "ghp_abc123", ""},
		{"spaces", write("b", "  ghp_x  \r\n", 0o400), "ghp_x", ""},
		{"world-readable", write("c", "ghp_leak\n", 0o644), "", "chmod 600"},
		{"empty", write("d", "\n", 0o600), "", "empty"},
		{"missing", filepath.Join(dir, "nope"), "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ghactions.TokenFromFile(tt.path)
			if got != tt.want || (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("got %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "ghp_") {
				t.Fatalf("the token appears in the error: %v", err)
			}
		})
	}
}
