package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// yamlKeys lists the dotted YAML keys of every leaf field of t.
func yamlKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() {
			continue
		}
		if tag == "-" { // tokens: environment only, checked separately
			continue
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, yamlKeys(f.Type, prefix+tag+".")...)
			continue
		}
		out = append(out, prefix+tag)
	}
	return out
}

// TestTableCoversConfig fails when a Config field has no setting (so the
// file key would be rejected) or a setting points at no field.
func TestTableCoversConfig(t *testing.T) {
	var keys []string
	for _, s := range specs {
		if !s.secret {
			keys = append(keys, s.key)
		}
	}
	fields := yamlKeys(reflect.TypeFor[Config](), "")
	slices.Sort(keys)
	slices.Sort(fields)
	if !slices.Equal(keys, fields) {
		t.Errorf("settings table and Config fields differ:\ntable:  %v\nfields: %v", keys, fields)
	}
}

func TestTableNamesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, s := range specs {
		names := append([]string{"key " + s.key}, "flag "+s.flag)
		for _, e := range s.envNames() {
			names = append(names, "env "+e)
		}
		for _, n := range names {
			if n == "flag " {
				continue
			}
			if prev, dup := seen[n]; dup {
				t.Errorf("%s declared by %s and %s", n, prev, s.key)
			}
			seen[n] = s.key
		}
		if s.help == "" {
			t.Errorf("%s has no help text", s.key)
		}
		if s.secret && s.flag != "" {
			t.Errorf("%s is a secret but has a flag", s.key)
		}
	}
}

// TestTemplateRoundTrip uncomments every setting of the init template and
// checks that the file loads and changes nothing.
func TestTemplateRoundTrip(t *testing.T) {
	tmpl := Template()
	plat := func(string) string { return "" }
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	commented, err := Load(LoadOptions{Path: path, Getenv: plat, HomeDir: "/h", GOOS: "linux"})
	if err != nil {
		t.Fatalf("template as written: %v", err)
	}
	uncommented := regexp.MustCompile(`(?m)^( *)#([a-z0-9_]+:)`).ReplaceAll(tmpl, []byte("$1$2"))
	if err := os.WriteFile(path, uncommented, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(LoadOptions{Path: path, Getenv: plat, HomeDir: "/h", GOOS: "linux"})
	if err != nil {
		t.Fatalf("template uncommented: %v\n%s", err, uncommented)
	}
	set := 0
	for i, s := range c.Settings() {
		d := commented.Settings()[i]
		if !reflect.DeepEqual(s.Value, d.Value) {
			t.Errorf("%s: uncommented %v, default %v", s.Key, s.Value, d.Value)
		}
		if strings.HasPrefix(s.Source, "file:") {
			set++
		}
	}
	if want := len(specs) - 2 - countCompat() - 2; set != want { // 2 tokens, 2 platform defaults left empty
		t.Errorf("template sets %d keys, want %d", set, want)
	}
}

func countCompat() int {
	n := 0
	for _, s := range specs {
		if s.compat {
			n++
		}
	}
	return n
}

func TestOSADistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"rank", "rank", 0}, {"rnak", "rank", 1}, {"rak", "rank", 1}, {"alpah", "alpha", 1},
		{"", "abc", 3}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := osaDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("osaDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzParse feeds arbitrary YAML through the file walker and resolution:
// no panic, and either errors or a config whose every setting has a source.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/config/valid", "testdata/config/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st := &state{plat: platform{home: "/h", goos: "linux", getenv: func(string) string { return "" }},
			file: "fuzz.yaml", nodes: map[string]*yaml.Node{}, lines: map[string]int{},
			env: map[string][2]string{}, flags: map[string]string{}}
		errs := st.parseFile("fuzz.yaml", data)
		c := &Config{st: st}
		errs = append(errs, c.resolve()...)
		if len(errs) > 0 {
			return
		}
		for _, s := range c.Settings() {
			if s.Source == "" {
				t.Fatalf("%s has no source", s.Key)
			}
		}
	})
}
