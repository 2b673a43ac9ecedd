package remedy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/vulntune/vulntune/internal/remedy"
)

func TestNormalizeFixed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"comma list", []string{"1.2.3, 1.3.5"}, []string{"1.2.3", "1.3.5"}},
		{"range operator", []string{">= 2.0.1"}, []string{"2.0.1"}},
		{"upper bound dropped", []string{">=2.0.1, <3.0.0"}, []string{"2.0.1"}},
		{"or list and duplicates", []string{"1.2.3 || 2.0.0", "2.0.0", "==1.2.3"}, []string{"1.2.3", "2.0.0"}},
		{"caret", []string{"^4.17.21"}, []string{"4.17.21"}},
		{"dpkg tilde kept", []string{"1.0~rc1-1"}, []string{"1.0~rc1-1"}},
		{"empty", []string{"", " , "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := remedy.NormalizeFixed(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NormalizeFixed(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestChooseFix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		eco       string
		installed string
		fixed     []string
		status    remedy.ChoiceStatus
		want      string
		alts      []string
	}{
		{
			// The original system sorted as strings and sent 1.3.5 to 1.5.13.
			name: "same line beats string order", eco: "npm", installed: "1.3.5",
			fixed:  []string{"1.5.13", "1.3.15", "1.4.2"},
			status: remedy.StatusSameLine, want: "1.3.15", alts: []string{"1.4.2", "1.5.13"},
		},
		{
			// As strings "1.10.0" < "1.9.0"; as versions it is the other way.
			name: "numeric not string order across lines", eco: "npm", installed: "1.3.5",
			fixed:  []string{"1.10.0", "1.9.0"},
			status: remedy.StatusOtherLine, want: "1.9.0", alts: []string{"1.10.0"},
		},
		{
			name: "same line maven", eco: "maven", installed: "2.12.6",
			fixed:  []string{"2.13.4.2, 2.12.7.1"},
			status: remedy.StatusSameLine, want: "2.12.7.1", alts: []string{"2.13.4.2"},
		},
		{
			name: "next line when own line has none", eco: "pypi", installed: "2.30.0",
			fixed:  []string{">= 2.32.0"},
			status: remedy.StatusOtherLine, want: "2.32.0", alts: []string{},
		},
		{
			name: "older line fix says nothing", eco: "npm", installed: "1.3.0",
			fixed:  []string{"1.2.5", "2.0.3"},
			status: remedy.StatusOtherLine, want: "2.0.3", alts: []string{},
		},
		{
			name: "only older line fixes", eco: "npm", installed: "1.3.0",
			fixed:  []string{"1.2.5"},
			status: remedy.StatusNoFixOnLine, want: "", alts: []string{},
		},
		{
			name: "already fixed on its line", eco: "npm", installed: "1.3.20",
			fixed:  []string{"1.3.15", "1.4.2"},
			status: remedy.StatusNotAffected, want: "1.3.15", alts: []string{"1.4.2"},
		},
		{
			name: "installed equals fix", eco: "go", installed: "v0.17.0",
			fixed:  []string{"0.17.0"},
			status: remedy.StatusNotAffected, want: "0.17.0", alts: []string{},
		},
		{
			name: "no fix", eco: "cargo", installed: "0.4.1", fixed: nil,
			status: remedy.StatusNoFix, alts: []string{},
		},
		{
			name: "pre-release fix below release", eco: "pypi", installed: "1.0rc1",
			fixed:  []string{"1.0", "1.0.post1"},
			status: remedy.StatusSameLine, want: "1.0", alts: []string{"1.0.post1"},
		},
		{
			name: "maven snapshot", eco: "maven", installed: "1.0-SNAPSHOT",
			fixed:  []string{"1.0"},
			status: remedy.StatusSameLine, want: "1.0", alts: []string{},
		},
		{
			name: "pep440 epoch", eco: "pypi", installed: "2.0",
			fixed:  []string{"1!1.0"},
			status: remedy.StatusOtherLine, want: "1!1.0", alts: []string{},
		},
		{
			name: "dpkg revision is the same line", eco: "debian", installed: "7.88.1-10+deb12u5",
			fixed:  []string{"8.5.0-1", "7.88.1-10+deb12u12"},
			status: remedy.StatusSameLine, want: "7.88.1-10+deb12u12", alts: []string{"8.5.0-1"},
		},
		{
			name: "dpkg epoch outranks version", eco: "debian", installed: "2.4-1",
			fixed:  []string{"1:2.3-4"},
			status: remedy.StatusOtherLine, want: "1:2.3-4", alts: []string{},
		},
		{
			name: "dpkg tilde pre-release", eco: "ubuntu", installed: "1.0~rc1-1",
			fixed:  []string{"1.0-1"},
			status: remedy.StatusOtherLine, want: "1.0-1", alts: []string{},
		},
		{
			name: "apk release bump", eco: "alpine", installed: "1.2.3-r0",
			fixed:  []string{"1.2.3-r1", "1.2.4-r0"},
			status: remedy.StatusSameLine, want: "1.2.3-r1", alts: []string{"1.2.4-r0"},
		},
		{
			// Without an epoch 3.0.1 has epoch 0, older than anything in epoch 1.
			name: "rpm epoch", eco: "rpm", installed: "1:1.1.1k-7.el8",
			fixed:  []string{"1:1.1.1k-9.el8_7", "3.0.1-1.el9", "1:3.0.7-1.el9"},
			status: remedy.StatusSameLine, want: "1:1.1.1k-9.el8_7", alts: []string{"1:3.0.7-1.el9"},
		},
		{
			name: "nuget four part", eco: "nuget", installed: "4.3.0",
			fixed:  []string{"4.3.0.1", "4.3.1"},
			status: remedy.StatusSameLine, want: "4.3.0.1", alts: []string{"4.3.1"},
		},
		{
			name: "rubygems prerelease letters", eco: "rubygems", installed: "6.1.0",
			fixed:  []string{"6.1.7.1", "7.0.0.rc1"},
			status: remedy.StatusSameLine, want: "6.1.7.1", alts: []string{"7.0.0.rc1"},
		},
		{
			name: "unparsable fixed entry set aside", eco: "npm", installed: "1.0.0",
			fixed:  []string{"1.0.1", "soon"},
			status: remedy.StatusSameLine, want: "1.0.1", alts: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := remedy.ChooseFix(tt.eco, tt.installed, tt.fixed)
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != tt.status || c.Fixed != tt.want || !reflect.DeepEqual(c.Alternatives, tt.alts) {
				t.Errorf("ChooseFix(%s, %s, %q) = %s %q alts %q, want %s %q alts %q",
					tt.eco, tt.installed, tt.fixed, c.Status, c.Fixed, c.Alternatives, tt.status, tt.want, tt.alts)
			}
		})
	}
}

func TestChooseFixBadInstalled(t *testing.T) {
	t.Parallel()
	_, err := remedy.ChooseFix("npm", "latest", []string{"1.0.0"})
	if err == nil || !strings.Contains(err.Error(), `npm version "latest"`) {
		t.Fatalf("error = %v, want one naming the npm version", err)
	}
}

func FuzzChooseFix(f *testing.F) {
	f.Add("npm", "1.3.5", "1.5.13, 1.3.15, 1.4.2")
	f.Add("debian", "1:2.3-4", "2.4-1")
	f.Add("pypi", "1.0rc1", ">= 1.0")
	f.Add("alpine", "1.2.3-r0", "1.2.3-r1")
	f.Fuzz(func(t *testing.T, eco, installed, fixed string) {
		c, err := remedy.ChooseFix(eco, installed, []string{fixed})
		if err != nil {
			return
		}
		if c.Fixed != "" && !strings.Contains(fixed, c.Fixed) {
			t.Fatalf("chose %q, which is not in %q", c.Fixed, fixed)
		}
		for _, a := range c.Alternatives {
			if n, err := remedy.Compare(eco, a, installed); err != nil || n <= 0 {
				t.Fatalf("alternative %q is not above installed %q", a, installed)
			}
		}
	})
}

func TestKeepFlavour(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, eco, pkg, installed string
		fixed, want               []string
		listed                    map[string]string
	}{
		{"jre keeps jre", "maven", "com.google.guava:guava", "31.1-jre",
			[]string{"32.0.0-android"}, []string{"32.0.0-jre"}, map[string]string{"32.0.0-jre": "32.0.0-android"}},
		{"android keeps android", "Maven", "com.google.guava:guava", "30.1-android",
			[]string{"32.0.0-jre"}, []string{"32.0.0-android"}, map[string]string{"32.0.0-android": "32.0.0-jre"}},
		{"both flavours listed", "maven", "com.google.guava:guava", "31.1-jre",
			[]string{"32.0.0-android", "32.0.0-jre"}, []string{"32.0.0-jre"}, nil},
		{"slash coordinates", "maven", "com.google.guava/guava", "31.1-jre",
			[]string{"32.0.0-android"}, []string{"32.0.0-jre"}, map[string]string{"32.0.0-jre": "32.0.0-android"}},
		{"unflavoured installed", "maven", "com.google.guava:guava", "19.0",
			[]string{"24.1.1-android"}, []string{"24.1.1-android"}, nil},
		{"other artifact", "maven", "org.example:lib", "1.0-jre",
			[]string{"2.0-android"}, []string{"2.0-android"}, nil},
		{"other ecosystem", "npm", "com.google.guava:guava", "31.1-jre",
			[]string{"32.0.0-android"}, []string{"32.0.0-android"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, listed := remedy.KeepFlavour(tt.eco, tt.pkg, tt.installed, tt.fixed)
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(listed, tt.listed) {
				t.Errorf("KeepFlavour(%q, %q) = %q, %v; want %q, %v", tt.installed, tt.fixed, got, listed, tt.want, tt.listed)
			}
		})
	}
}

// A jre build is told to move to the jre flavour of the fixed release, and
// why it is not the version the advisory lists; an android build on the
// fixed release is not affected.
func TestForKeepsGuavaFlavour(t *testing.T) {
	t.Parallel()
	f := depFinding("maven", "com.google.guava:guava", "gradle.lockfile", "31.1-jre", []string{"32.0.0-android"}, nil)
	r, err := remedy.For(f)
	if err != nil {
		t.Fatal(err)
	}
	if r.Choice == nil || r.Choice.Fixed != "32.0.0-jre" || r.Choice.Listed != "32.0.0-android" {
		t.Fatalf("choice %+v, want 32.0.0-jre listed as 32.0.0-android", r.Choice)
	}
	for _, want := range []string{"from 31.1-jre to 32.0.0-jre", "The advisory lists the fix as 32.0.0-android, the android flavour", `guava:32.0.0-jre"`} {
		if !strings.Contains(r.Text(), want) {
			t.Errorf("text lacks %q:\n%s", want, r.Text())
		}
	}
	if len(r.Changes) == 0 {
		t.Fatal("no changes for a Gradle lockfile finding")
	}
	if strings.Contains(r.Changes[0].Snippet, "android") {
		t.Errorf("snippet names the android flavour: %q", r.Changes[0].Snippet)
	}
	f = depFinding("maven", "com.google.guava:guava", "gradle.lockfile", "32.0.0-android", []string{"32.0.0-jre"}, nil)
	if r, err = remedy.For(f); err != nil {
		t.Fatal(err)
	}
	if r.Choice.Status != remedy.StatusNotAffected {
		t.Errorf("android build on the fixed release: status %s, want %s", r.Choice.Status, remedy.StatusNotAffected)
	}
}
