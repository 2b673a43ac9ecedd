package jsonfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/jsonfile"
)

func TestRead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.json"), filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"name":"stats","examples":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"name":`), 0o644); err != nil {
		t.Fatal(err)
	}
	type stats struct {
		Name     string `json:"name"`
		Examples int    `json:"examples"`
	}
	tests := []struct {
		name    string
		path    string
		want    stats
		wantErr func(error) bool
	}{
		{"decodes", good, stats{"stats", 3}, func(err error) bool { return err == nil }},
		{"missing is fs.ErrNotExist", filepath.Join(dir, "none.json"), stats{}, func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
		{"bad JSON names the file", bad, stats{}, func(err error) bool { return err != nil && strings.HasPrefix(err.Error(), bad+": ") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got stats
			err := jsonfile.Read(tt.path, &got)
			if !tt.wantErr(err) || got != tt.want {
				t.Errorf("Read(%s) = %+v, %v; want %+v", tt.path, got, err, tt.want)
			}
		})
	}
}
