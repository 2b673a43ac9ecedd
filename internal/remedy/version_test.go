package remedy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/remedy"
)

func TestCompare(t *testing.T) {
	t.Parallel()
	// Each case is a < b unless want says otherwise; the reverse order is
	// checked too, so every case pins both directions.
	tests := []struct {
		eco, a, b string
		want      int
	}{
		// Maven ComparableVersion.
		{"maven", "1.0-SNAPSHOT", "1.0", -1},
		{"maven", "1.0-alpha", "1.0-beta", -1},
		{"maven", "1.0-beta", "1.0-milestone", -1},
		{"maven", "1.0-M1", "1.0-RC1", -1},
		{"maven", "1.0-RC1", "1.0-SNAPSHOT", -1},
		{"maven", "1.0", "1.0-sp", -1},
		{"maven", "1.0", "1.0.0", 0},
		{"maven", "1.0.Final", "1.0", 0},
		{"maven", "2.9.10", "2.10.0", -1},
		{"maven", "2.12.7", "2.12.7.1", -1},
		{"jar", "1.3.5", "1.3.15", -1},
		// npm / Cargo semver.
		{"npm", "1.3.5", "1.3.15", -1},
		{"npm", "1.5.13", "1.3.15", 1},
		{"npm", "2.0.0-rc.1", "2.0.0", -1},
		{"npm", "2.0.0-alpha.2", "2.0.0-alpha.10", -1},
		{"npm", "v1.2.3", "1.2.3", 0},
		{"npm", "1.2.3+build.5", "1.2.3", 0},
		{"cargo", "0.9.0", "0.10.0", -1},
		{"crates.io", "1.0.0-beta", "1.0.0", -1},
		// NuGet four-part.
		{"nuget", "4.3.0.1", "4.3.1", -1},
		{"nuget", "1.0.0.0", "1.0.0", 0},
		{"nuget", "6.0.0-preview.1", "6.0.0", -1},
		// PEP 440.
		{"pypi", "1.0rc1", "1.0", -1},
		{"pypi", "1.0", "1.0.post1", -1},
		{"pypi", "1.0.dev1", "1.0a1", -1},
		{"pypi", "1!1.0", "2.0", 1},
		{"pypi", "1.0", "1.0+local.1", -1},
		{"pip", "2.31.0", "2.4.0", 1},
		// Go modules.
		{"go", "v1.2.3", "v1.2.10", -1},
		{"go", "1.2.3", "v1.2.3", 0},
		{"go", "v0.0.0-20210101000000-abcdefabcdef", "v0.1.0", -1},
		{"go", "v1.3.0-pre", "v1.3.0", -1},
		{"gomod", "v2.0.0+incompatible", "v2.0.1+incompatible", -1},
		// RubyGems.
		{"rubygems", "1.0.a", "1.0", -1},
		{"gem", "1.9", "1.10", -1},
		{"rubygems", "5.2.4.3", "5.2.5", -1},
		// dpkg.
		{"debian", "1.0~rc1", "1.0", -1},
		{"debian", "2.4-1", "1:2.3-4", -1},
		{"ubuntu", "1.2.3-1ubuntu1", "1.2.3-1ubuntu1.1", -1},
		{"debian", "7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1},
		// apk.
		{"alpine", "1.2.3-r0", "1.2.3-r1", -1},
		{"alpine", "1.2.3_rc1-r0", "1.2.3-r0", -1},
		{"alpine", "1.2.3-r0", "1.2.3_p1-r0", -1},
		{"apk", "3.1.4-r5", "3.1.10-r0", -1},
		// rpm.
		{"rpm", "1:1.0-1", "2.0-1", 1},
		{"redhat", "1.0~rc1-1", "1.0-1", -1},
		{"rpm", "1.0-1", "1.0^git1-1", -1},
		{"rpm", "2.28-225.el8", "2.28-225.el8_8.6", -1},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.a+"_vs_"+tt.b, func(t *testing.T) {
			t.Parallel()
			got, err := remedy.Compare(tt.eco, tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Compare(%s, %s, %s) = %d, want %d", tt.eco, tt.a, tt.b, got, tt.want)
			}
			rev, err := remedy.Compare(tt.eco, tt.b, tt.a)
			if err != nil {
				t.Fatal(err)
			}
			if rev != -tt.want {
				t.Errorf("Compare(%s, %s, %s) = %d, want %d", tt.eco, tt.b, tt.a, rev, -tt.want)
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		eco, a, b, wantErr string
	}{
		{"npm", "1.2.3", "not-a-version", `npm version "not-a-version" is not valid`},
		{"maven", "1.0", "", `maven version "" is not valid`},
		{"pypi", "1.0", "1.0 beta", `pypi version "1.0 beta" is not valid`},
		{"go", "vX", "v1.0.0", `go version "vX" is not valid`},
		{"rpm", "1.0-1", "1.0-1-1", `rpm version "1.0-1-1" is not valid`},
		{"debian", "1.0", "a:1.0", `debian version "a:1.0" is not valid`},
		{"alpine", "1.0-r0", "x1", `alpine version "x1" is not valid`},
		{"alpine", "1.0-r0", "1.0-r", `alpine version "1.0-r" is not valid`},
		{"cargo", "1.2", "1.2.0", `cargo version "1.2" is not valid`},
		{"gradle-unknown", "1", "2", `no version rules for ecosystem "gradle-unknown"`},
	}
	for _, tt := range tests {
		t.Run(tt.eco+"/"+tt.b, func(t *testing.T) {
			t.Parallel()
			_, err := remedy.Compare(tt.eco, tt.a, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Compare(%s, %q, %q) error = %v, want it to contain %q", tt.eco, tt.a, tt.b, err, tt.wantErr)
			}
			var ve *remedy.VersionError
			if strings.Contains(tt.wantErr, "not valid") && !errors.As(err, &ve) {
				t.Errorf("error %v is not a *VersionError", err)
			}
		})
	}
}
