package ident_test

import (
	"slices"
	"testing"

	"github.com/vulntune/vulntune/internal/ident"
)

// TestUngroundedCutPaths holds a path cut short to being a path the
// ground does not name, though it is a substring of one it does.
func TestUngroundedCutPaths(t *testing.T) {
	t.Parallel()
	ground := "Location: testdata/fixtures/images/alpine-39.tar.gz\nsetgid file: grwxr-xr-x usr/bin/gpasswd, " +
		"module golang.org/x/net@v0.1.0 in vendor/golang.org/x/net/http2"
	tests := []struct {
		name, text string
		want       []string
	}{
		{"whole", "at testdata/fixtures/images/alpine-39.tar.gz and usr/bin/gpasswd.", nil},
		{"cut before the name ends", "at testdata/fixtures/images/alpine: upgrade", []string{"testdata/fixtures/images/alpine"}},
		{"cut in a word", "usr/bin/gpassw, setgid", []string{"usr/bin/gpassw"}},
		{"a directory of a path", "the files under testdata/fixtures/images and vendor/golang.org/x/net", nil},
		{"a directory with its slash", "files in usr/bin/, setgid", nil},
		{"a module before its version", "go get golang.org/x/net", nil},
		{"a path's tail", "bin/gpasswd and images/alpine-39.tar.gz", nil},
		{"no slash is no path", "alpine and gpassw", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ident.Ungrounded(tt.text, ground); !slices.Equal(got, tt.want) && (len(got) != 0 || len(tt.want) != 0) {
				t.Errorf("Ungrounded(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}
