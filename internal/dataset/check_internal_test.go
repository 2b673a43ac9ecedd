package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/homepath"
)

func TestCheckFilesLocalIdentity(t *testing.T) {
	id := homepath.Identity{User: "zelda42", Home: "/srv/people/zelda42"}
	tests := []struct {
		name, text, want string
	}{
		{"local home", "ok\nbuilt in /srv/people/zelda42/shop\n", "examples.meta.jsonl:2: contains a local home directory"},
		{"local user", `{"author":"zelda42"}` + "\n", "examples.meta.jsonl:1: contains a local user name"},
		{"home path", `{"path":"/home/bob/shop/go.mod"}` + "\n", "examples.meta.jsonl:1: contains a home directory path"},
		{"clean", `{"path":"shop/go.mod","user":"root"}` + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "examples.meta.jsonl"), []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			problems, err := checkFiles(dir, nil, id)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(problems, "\n")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("problems = %q, want %q", got, tt.want)
			}
		})
	}
}
